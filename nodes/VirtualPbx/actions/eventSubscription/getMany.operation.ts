import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { ItemResult } from '../../../shared/items';
import { pathSegment } from '../../../shared/operation';
import type { PbxClient } from '../../transport';
import { extensionIdField, rowsOf } from '../common';

export const description: INodeProperties[] = [
	extensionIdField({ resource: ['eventSubscription'], operation: ['getMany'] }, 'The extension whose subscriptions are listed'),
];

/** The event subscriptions of an extension. */
export async function execute(this: IExecuteFunctions, client: PbxClient, itemIndex: number): Promise<ItemResult> {
	const extension = pathSegment(this.getNode(), this.getNodeParameter('extensionId', itemIndex, ''), 'Extension ID', itemIndex);
	return rowsOf(await client.json({ path: `/extension/${extension}/event/` }, { itemIndex, what: `listing event subscriptions of extension ${decodeURIComponent(extension)}` }));
}

export const parallel = true;

/** A typed read: identical lookups of one run share one request (shared/reuse.ts). */
export const reusable = true;
