import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { ItemResult } from '../../../shared/items';
import { DEFAULT_MAX_ATTEMPTS, MAX_ATTEMPTS_LIMIT, listIsKept, recordFailures, type FailureOutcome } from '../../sync/aside';
import { callUuidOf, n8nEnv, refuseOutageItems, removeClaims } from '../../sync/run';
import type { PbxClient } from '../../transport';

const show = { resource: ['callHistory'], operation: ['markFailed'] };

export const description: INodeProperties[] = [
	{
		displayName: 'Call UUID',
		name: 'callUuid',
		type: 'string',
		default: '={{ $json.call_uuid }}',
		required: true,
		placeholder: "{{ $('Get New Calls').item.json.call_uuid }}",
		description: 'The call_uuid of the call whose write failed, taken from the step that returned the call (the error output of a write step carries the contact, not the call)',
		displayOptions: { show },
	},
	{
		displayName: 'Error Message',
		name: 'errorMessage',
		type: 'string',
		default: '={{ $json.error }}',
		description: 'What went wrong, kept with the call when it is set aside (the error output of a write step carries it in "error")',
		displayOptions: { show },
	},
	{
		displayName: 'Max Attempts',
		name: 'maxAttempts',
		type: 'number',
		default: DEFAULT_MAX_ATTEMPTS,
		typeOptions: { minValue: 1, maxValue: MAX_ATTEMPTS_LIMIT },
		description:
			'After this many failed runs the call is set aside: it stops coming again and is listed by "Call History → Get Set-Aside Calls". Until then the next run delivers it again.',
		displayOptions: { show },
	},
];

/** One store pass for all items of a run: a per-run memo on the run's client. */
const batches = new WeakMap<object, Promise<Map<string, FailureOutcome>>>();

/**
 * Counts a failed attempt for each item's call (Call History → Mark as Failed, wired to a write
 * step's error output). The call stays unsynced and its claim is dropped, so the next run
 * delivers it again; at "Max Attempts" it is set aside (see sync/aside.ts).
 */
export async function execute(this: IExecuteFunctions, client: PbxClient, itemIndex: number): Promise<ItemResult> {
	refuseOutageItems(this);
	const uuid = callUuidOf(this, itemIndex);
	const maxAttempts = Math.floor(Number(this.getNodeParameter('maxAttempts', 0, DEFAULT_MAX_ATTEMPTS)));
	if (!(maxAttempts >= 1 && maxAttempts <= MAX_ATTEMPTS_LIMIT)) {
		throw new NodeOperationError(this.getNode(), `The "Max Attempts" parameter must be a whole number from 1 to ${MAX_ATTEMPTS_LIMIT}`, { itemIndex });
	}
	const error = messageOf(this, itemIndex);
	let batch = batches.get(client);
	if (!batch) {
		const failures = new Map<string, string>();
		for (let i = 0; i < this.getInputData().length; i++) {
			try {
				const u = callUuidOf(this, i);
				if (!failures.has(u)) failures.set(u, messageOf(this, i));
			} catch {
				// that item fails on its own
			}
		}
		const env = n8nEnv(this);
		batch = recordFailures(this, env, failures, maxAttempts).then(async (outcome) => {
			await removeClaims(this, env, [...failures.keys()]);
			return outcome;
		});
		batches.set(client, batch);
	}
	const outcome = (await batch).get(uuid) ?? { attempt: 1, setAside: false };
	const out: IDataObject = { call_uuid: uuid, attempt: Math.min(outcome.attempt, maxAttempts), max_attempts: maxAttempts, set_aside: outcome.setAside, error };
	if (!outcome.setAside && outcome.attempt >= maxAttempts && !listIsKept(this)) {
		out.note = 'Not set aside in a run started from the editor (n8n keeps no list for it): the call comes again. Active runs set it aside.';
	}
	return out;
}

function messageOf(ctx: IExecuteFunctions, itemIndex: number): string {
	const value = ctx.getNodeParameter('errorMessage', itemIndex, '') as unknown;
	if (typeof value === 'string') return value.trim();
	return value === undefined || value === null ? '' : JSON.stringify(value);
}

export const parallel = true;
