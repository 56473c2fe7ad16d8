import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { ItemResult } from '../../../shared/items';
import { pathSegment } from '../../../shared/operation';
import type { PbxClient } from '../../transport';
import { extensionIdField } from '../common';

const show = { resource: ['eventSubscription'], operation: ['delete'] };

export const description: INodeProperties[] = [
	extensionIdField(show, 'The extension the subscription belongs to'),
	{
		displayName: 'Subscription ID',
		name: 'subscriptionId',
		type: 'string',
		default: '',
		required: true,
		displayOptions: { show },
	},
];

/** Removes one event subscription. */
export async function execute(this: IExecuteFunctions, client: PbxClient, itemIndex: number): Promise<ItemResult> {
	const extension = pathSegment(this.getNode(), this.getNodeParameter('extensionId', itemIndex, ''), 'Extension ID', itemIndex);
	const id = pathSegment(this.getNode(), this.getNodeParameter('subscriptionId', itemIndex, ''), 'Subscription ID', itemIndex);
	await client.api({ method: 'DELETE', path: `/extension/${extension}/event/${id}` }, { itemIndex, what: `deleting event subscription ${decodeURIComponent(id)}` });
	return { deleted: true, id: decodeURIComponent(id), extensionId: decodeURIComponent(extension) };
}

export const parallel = true;
