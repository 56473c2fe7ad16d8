import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { ItemResult } from '../../../shared/items';
import { markAllSynced, refuseOutageItems } from '../../sync/run';
import type { PbxClient } from '../../transport';

const show = { resource: ['callHistory'], operation: ['markSynced'] };

export const description: INodeProperties[] = [
	{
		displayName: 'Call UUID',
		name: 'callUuid',
		type: 'string',
		default: '={{ $json.call_uuid }}',
		required: true,
		description:
			'The call_uuid of the call each item is about. Place this step at the end of the workflow: a call counts as synced (and never comes again from "Only Calls Not Yet Synced") only once it got here.',
		displayOptions: { show },
	},
];

/** Records every item's call as synced in n8n's database (one write for all items). */
export async function execute(this: IExecuteFunctions, client: PbxClient, itemIndex: number): Promise<ItemResult> {
	refuseOutageItems(this);
	return await markAllSynced(this, client, itemIndex);
}

export const parallel = true;
