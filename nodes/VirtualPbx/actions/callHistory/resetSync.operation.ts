import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { ItemResult } from '../../../shared/items';
import { resetSyncState } from '../../sync/run';
import type { PbxClient } from '../../transport';

export const description: INodeProperties[] = [
	{
		displayName:
			'Forgets which calls this workflow has synced: the next run of "Only Calls Not Yet Synced" starts again from its "Start" and returns those calls again',
		name: 'resetNotice',
		type: 'notice',
		default: '',
		displayOptions: { show: { resource: ['callHistory'], operation: ['resetSync'] } },
	},
];

/** Deletes this workflow's sync state (n8n's processed-items row of the workflow scope). */
export async function execute(this: IExecuteFunctions, client: PbxClient): Promise<ItemResult> {
	return await resetSyncState(this, client);
}

export const parallel = true;
