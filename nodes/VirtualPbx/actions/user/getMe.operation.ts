import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { ItemResult } from '../../../shared/items';
import type { PbxClient } from '../../transport';

export const description: INodeProperties[] = [];

/** Who am I: the PBX user the credential acts for. */
export async function execute(this: IExecuteFunctions, client: PbxClient, itemIndex: number): Promise<ItemResult> {
	return await client.json<IDataObject>({ path: '/user/' }, { itemIndex, what: 'reading the current user' });
}

export const parallel = true;

/** A typed read: identical lookups of one run share one request (shared/reuse.ts). */
export const reusable = true;
