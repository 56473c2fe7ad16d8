import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { ItemResult } from '../../../shared/items';
import { pathSegment } from '../../../shared/operation';
import type { PbxClient } from '../../transport';
import { callRow } from '../rows';

const show = { resource: ['call'], operation: ['get'] };

export const description: INodeProperties[] = [
	{
		displayName: 'Call UUID',
		name: 'callUuid',
		type: 'string',
		default: '',
		required: true,
		description: 'The call_uuid of the call, e.g. from Call History → Get Many',
		displayOptions: { show },
	},
];

/** One call of the call history by its uuid, with ISO times beside the GMT ones, external_number and in_progress. */
export async function execute(this: IExecuteFunctions, client: PbxClient, itemIndex: number): Promise<ItemResult> {
	const uuid = pathSegment(this.getNode(), this.getNodeParameter('callUuid', itemIndex, ''), 'Call UUID', itemIndex);
	const clientId = await client.clientId(itemIndex);
	const call = await client.json<IDataObject>(
		{ path: `/client/${clientId}/call_history/${uuid}`, statistics: true },
		{ itemIndex, what: `reading call ${decodeURIComponent(uuid)}` },
	);
	return typeof call === 'object' && call !== null && !Array.isArray(call) ? callRow(call) : call;
}

export const parallel = true;

/** A typed read: identical lookups of one run share one request (shared/reuse.ts). */
export const reusable = true;
