import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { ItemResult } from '../../../shared/items';
import { sendAgain, setAsideCalls } from '../../sync/aside';
import { n8nEnv } from '../../sync/run';
import type { PbxClient } from '../../transport';

const show = { resource: ['callHistory'], operation: ['retrySetAside'] };

export const description: INodeProperties[] = [
	{
		displayName: 'Call UUID',
		name: 'callUuid',
		type: 'string',
		default: '',
		placeholder: 'Empty: every set-aside call',
		description: 'The call_uuid of one set-aside call to send again; leave empty to send all of them again',
		displayOptions: { show },
	},
];

const runs = new WeakMap<object, Promise<string[]>>();

/**
 * Sends set-aside calls again: the next run of "Only Calls Not Yet Synced" delivers them (with
 * Max Attempts counted from zero), wherever they are in the call history.
 */
export async function execute(this: IExecuteFunctions, client: PbxClient, itemIndex: number): Promise<ItemResult> {
	const wanted = String(this.getNodeParameter('callUuid', itemIndex, '') ?? '').trim();
	let run = runs.get(client);
	if (!run) {
		const env = n8nEnv(this);
		run = (async () => {
			const listed = (await setAsideCalls(this, env)).map((entry) => entry.call_uuid);
			const named = new Set<string>();
			for (let i = 0; i < this.getInputData().length; i++) named.add(String(this.getNodeParameter('callUuid', i, '') ?? '').trim());
			const uuids = named.has('') ? listed : listed.filter((uuid) => named.has(uuid));
			await sendAgain(env, uuids);
			return uuids;
		})();
		runs.set(client, run);
	}
	const sent = await run;
	if (wanted === '') return itemIndex === 0 ? sent.map((uuid) => ({ call_uuid: uuid, sent_again: true })) : [];
	return { call_uuid: wanted, sent_again: sent.includes(wanted), ...(sent.includes(wanted) ? {} : { note: 'This call is not set aside' }) };
}

export const parallel = false;
