import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { ItemResult } from '../../../shared/items';
import { setAsideCalls, type SetAsideEntry } from '../../sync/aside';
import { n8nEnv } from '../../sync/run';
import type { PbxClient } from '../../transport';

export const description: INodeProperties[] = [
	{
		displayName:
			'Lists the calls of this workflow\'s call sync that "Call History → Mark as Failed" set aside after their last attempt, with the error of that attempt. Use "Retry Set-Aside Calls" to send them again.',
		name: 'setAsideNotice',
		type: 'notice',
		default: '',
		displayOptions: { show: { resource: ['callHistory'], operation: ['getSetAside'] } },
	},
];

const lists = new WeakMap<object, Promise<SetAsideEntry[]>>();

/** One item per set-aside call (output once, for the first input item). */
export async function execute(this: IExecuteFunctions, client: PbxClient, itemIndex: number): Promise<ItemResult> {
	if (itemIndex > 0) return [];
	let list = lists.get(client);
	if (!list) {
		list = setAsideCalls(this, n8nEnv(this));
		lists.set(client, list);
	}
	return (await list).map((entry) => ({ ...entry }));
}

export const parallel = false;
