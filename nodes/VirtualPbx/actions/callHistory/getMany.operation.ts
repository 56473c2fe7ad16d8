import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import type { ItemResult } from '../../../shared/items';
import { collectByPageNumber } from '../../../shared/paging';
import { fetchCallPage } from '../../callHistory';
import type { PbxClient } from '../../transport';
import { syncCalls, type SyncSettings } from '../../sync/run';
import { PER_PAGE, STATISTICS_PAGES, gmtParameter, orderField, returnAllFields, windowFields, windowQuery } from '../common';
import { callRows, simplifyField } from '../rows';

const show = { resource: ['callHistory'], operation: ['getMany'] };
const plain = { ...show, syncMode: [false] };
const sync = { ...show, syncMode: [true] };

/** Calls of up to 2 h or more are listed by some PBXs only at hang-up: 4 h covers them twice over. */
export const DEFAULT_LOOKBACK_MINUTES = 240;
export const DEFAULT_MAX_CALLS = 1000;
export const DEFAULT_LEASE_MINUTES = 10;

export const description: INodeProperties[] = [
	{
		displayName: 'Only Calls Not Yet Synced',
		name: 'syncMode',
		type: 'boolean',
		default: false,
		description:
			'Whether to return only ended calls that no earlier run has synced, oldest first. A call counts as synced once a "Call History → Mark as Synced" step at the end of this workflow handled it; calls of a run that failed before that step come again after "Retry Unsynced Calls After". Calls still in progress come once they ended. "Start" is where the first run (and the first after "Reset Sync State") begins.',
		displayOptions: { show },
	},
	...windowFields(show, 'call (by its start time)').map((p) =>
		p.name === 'end' ? { ...p, displayOptions: { show: plain } } : p,
	),
	{
		displayName: 'Lookback (Minutes)',
		name: 'lookbackMinutes',
		type: 'number',
		default: DEFAULT_LOOKBACK_MINUTES,
		typeOptions: { minValue: 0, maxValue: 10080 },
		description:
			'How far before the last synced point each run reads again, for calls the PBX lists late (some list a call only when it ends, and calls can last hours). Calls already synced are skipped by their call_uuid. Set it longer than your longest calls.',
		displayOptions: { show: sync },
	},
	{
		displayName: 'Max Calls per Run',
		name: 'maxCalls',
		type: 'number',
		default: DEFAULT_MAX_CALLS,
		typeOptions: { minValue: 1, maxValue: 100000 },
		description: 'Most calls one run returns (oldest first); a backlog drains over several runs',
		displayOptions: { show: sync },
	},
	{
		displayName: 'Retry Unsynced Calls After (Minutes)',
		name: 'leaseMinutes',
		type: 'number',
		default: DEFAULT_LEASE_MINUTES,
		typeOptions: { minValue: 0.1, maxValue: 1440, numberPrecision: 1 },
		description:
			'Calls a run returned but never marked as synced (the run failed) are returned again by a run started this long (up to twice this long) later. Set it longer than one run of the workflow takes.',
		displayOptions: { show: sync },
	},
	{
		displayName: 'Skip Internal Calls',
		name: 'skipInternal',
		type: 'boolean',
		default: true,
		description: 'Whether to leave out calls between two extensions (direction "internal"): they have no outside party to sync',
		displayOptions: { show: sync },
	},
	...returnAllFields({ ...show }).map((p) => ({ ...p, displayOptions: { show: { ...p.displayOptions?.show, syncMode: [false] } } })),
	simplifyField(show, 'call'),
	{
		displayName: 'Filters',
		name: 'filters',
		type: 'collection',
		placeholder: 'Add filter',
		default: {},
		displayOptions: { show },
		options: [
			{
				displayName: 'Direction',
				name: 'flow',
				type: 'options',
				default: 'in',
				options: [
					{ name: 'Inbound', value: 'in' },
					{ name: 'Internal', value: 'internal' },
					{ name: 'Outbound', value: 'out' },
				],
			},
			{ displayName: 'Extension ID', name: 'extensionId', type: 'string', default: '', description: 'Only calls of this extension' },
			{ displayName: 'Called Number', name: 'toUsername', type: 'string', default: '', description: 'Only calls to this number or extension' },
			{ displayName: 'Caller Number', name: 'fromUsername', type: 'string', default: '', description: 'Only calls from this number or extension' },
		],
	},
	{ ...orderField(show), displayOptions: { show: plain } },
];

export function filterQuery(ctx: IExecuteFunctions, itemIndex: number): IDataObject {
	const filters = ctx.getNodeParameter('filters', itemIndex, {}) as IDataObject;
	const query: IDataObject = {};
	if (filters.flow) query.flow = filters.flow;
	if (filters.extensionId) query.extension_id = String(filters.extensionId).trim();
	if (filters.toUsername) query.to_username = String(filters.toUsername).trim();
	if (filters.fromUsername) query.from_username = String(filters.fromUsername).trim();
	return query;
}

/** The sync's settings from this operation's parameters, checked. */
export function syncSettings(ctx: IExecuteFunctions, itemIndex: number): SyncSettings {
	return {
		start: gmtParameter(ctx, 'start', 'Start', itemIndex, true) as string,
		lookbackMs: Math.max(0, Number(ctx.getNodeParameter('lookbackMinutes', itemIndex, DEFAULT_LOOKBACK_MINUTES)) || 0) * 60_000,
		maxCalls: Math.max(1, Math.floor(Number(ctx.getNodeParameter('maxCalls', itemIndex, DEFAULT_MAX_CALLS)) || DEFAULT_MAX_CALLS)),
		leaseMs: Math.max(0.1, Number(ctx.getNodeParameter('leaseMinutes', itemIndex, DEFAULT_LEASE_MINUTES)) || DEFAULT_LEASE_MINUTES) * 60_000,
		skipInternal: ctx.getNodeParameter('skipInternal', itemIndex, true) as boolean,
		filters: filterQuery(ctx, itemIndex),
	};
}

export function callHistoryQuery(ctx: IExecuteFunctions, itemIndex: number): IDataObject {
	return { ...windowQuery(ctx, itemIndex), order: ctx.getNodeParameter('order', itemIndex, 'asc') as string, ...filterQuery(ctx, itemIndex) };
}

/** Call history in a GMT window, all pages or up to a limit; one item per call (ISO times added, simplified on request). */
export async function execute(this: IExecuteFunctions, client: PbxClient, itemIndex: number): Promise<ItemResult> {
	if (this.getNode().parameters.incremental === true) {
		throw new NodeOperationError(this.getNode(), 'The option "Only Calls Since the Last Run" was replaced by "Only Calls Not Yet Synced"', {
			itemIndex,
			description:
				'Turn on "Only Calls Not Yet Synced" in this node and add a "Virtual PBX → Call History → Mark as Synced" step at the end of the workflow (see the example workflow pbx-call-sync-schedule.json). The old option lost calls the PBX lists late and repeated calls in manual runs.',
		});
	}
	const simplify = this.getNodeParameter('simplify', itemIndex, false) as boolean;
	if (this.getNodeParameter('syncMode', itemIndex, false) as boolean) {
		return callRows(await syncCalls(this, client, itemIndex, syncSettings(this, itemIndex)), simplify);
	}
	const query = callHistoryQuery(this, itemIndex);
	const returnAll = this.getNodeParameter('returnAll', itemIndex, false) as boolean;
	const limit = this.getNodeParameter('limit', itemIndex, 50) as number;
	let rows: IDataObject[];
	try {
		rows = await collectByPageNumber(
			async (page, perPage) => await fetchCallPage(client, itemIndex, query, page, perPage),
			{ returnAll, limit, pageSize: PER_PAGE },
			STATISTICS_PAGES,
		);
	} catch (error) {
		// Every page size was refused with a 400: the request itself is what the PBX refuses.
		if (error instanceof NodeApiError && String(error.httpCode) === '400' && !error.description) {
			error.description = 'Check "Start", "End" and the "Filters" (Direction, Extension ID, To Username, From Username): the PBX refused the request as asked.';
		}
		throw error as NodeApiError;
	}
	return callRows(rows, simplify);
}

/** Statistics requests run one at a time anyway; in sync mode items take turns. */
export const parallel = false;
