import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { ItemResult } from '../../../shared/items';
import { pathSegment } from '../../../shared/operation';
import type { PbxClient } from '../../transport';
import { recordUuidField } from './common';

export const description: INodeProperties[] = [recordUuidField('getUrl')];

/** A temporary download URL of a recording (storage_url). */
export async function execute(this: IExecuteFunctions, client: PbxClient, itemIndex: number): Promise<ItemResult> {
	const uuid = pathSegment(this.getNode(), this.getNodeParameter('recordUuid', itemIndex, ''), 'Record UUID', itemIndex);
	const clientId = await client.clientId(itemIndex);
	const body = await client.json<IDataObject>(
		{ path: `/client/${clientId}/record/${uuid}/storage_url/` },
		{ itemIndex, what: `the URL of recording ${decodeURIComponent(uuid)}` },
	);
	return { record_uuid: decodeURIComponent(uuid), ...body };
}

export const parallel = true;

/** A typed read: identical lookups of one run share one request (shared/reuse.ts). */
export const reusable = true;
