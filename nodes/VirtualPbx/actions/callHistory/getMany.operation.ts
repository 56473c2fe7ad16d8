import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { ItemResult } from '../../../shared/items';
import { collectByPageNumber } from '../../../shared/paging';
import { formatGmt } from '../../datetime';
import type { PbxClient } from '../../transport';
import { advance, windowStart, type SyncState } from '../../watermark';
import { PER_PAGE, orderField, returnAllFields, rowsOf, windowFields, windowQuery } from '../common';

const show = { resource: ['callHistory'], operation: ['getMany'] };

export const description: INodeProperties[] = [
	...windowFields(show, 'call (by its start time)'),
	{
		displayName: 'Only Calls Since the Last Run',
		name: 'incremental',
		type: 'boolean',
		default: false,
		description:
			'Whether to remember the newest call returned and, on the next run, return only calls after it (each call exactly once across runs). "Start" is used for the first run only, "End" is now, and all calls are returned.',
		displayOptions: { show },
	},
	{
		displayName: 'Overlap (Minutes)',
		name: 'overlapMinutes',
		type: 'number',
		default: 0,
		typeOptions: { minValue: 0, maxValue: 1440 },
		description: 'Look this far back before the newest call already returned, for calls the PBX lists late; calls already returned are skipped by their call_uuid',
		displayOptions: { show: { ...show, incremental: [true] } },
	},
	...returnAllFields({ ...show }).map((p) => ({ ...p, displayOptions: { show: { ...p.displayOptions?.show, incremental: [false] } } })),
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
	orderField(show),
];

/** One page of call history (a statistics request: never two at once). */
export async function fetchCallPage(
	client: PbxClient,
	itemIndex: number,
	query: IDataObject,
	page: number,
	perPage: number,
): Promise<IDataObject[]> {
	const clientId = await client.clientId(itemIndex);
	const body = await client.json(
		{ path: `/client/${clientId}/call_history/`, qs: { ...query, page, per_page: perPage }, statistics: true },
		{ itemIndex, what: `call history page ${page}` },
	);
	return rowsOf(body, 'call_history');
}

export function callHistoryQuery(ctx: IExecuteFunctions, itemIndex: number): IDataObject {
	const filters = ctx.getNodeParameter('filters', itemIndex, {}) as IDataObject;
	const query: IDataObject = { ...windowQuery(ctx, itemIndex), order: ctx.getNodeParameter('order', itemIndex, 'asc') as string };
	if (filters.flow) query.flow = filters.flow;
	if (filters.extensionId) query.extension_id = String(filters.extensionId).trim();
	if (filters.toUsername) query.to_username = String(filters.toUsername).trim();
	if (filters.fromUsername) query.from_username = String(filters.fromUsername).trim();
	return query;
}

/** Call history in a GMT window, all pages or up to a limit; one item per call. */
export async function execute(this: IExecuteFunctions, client: PbxClient, itemIndex: number): Promise<ItemResult> {
	const query = callHistoryQuery(this, itemIndex);
	if (this.getNodeParameter('incremental', itemIndex, false) as boolean) {
		const overlap = Number(this.getNodeParameter('overlapMinutes', itemIndex, 0)) || 0;
		const state = this.getWorkflowStaticData('node') as SyncState;
		const window = windowStart(state, String(query.start_datetime), overlap);
		const end = formatGmt(Date.now());
		const calls = await collectByPageNumber(
			async (page, perPage) => await fetchCallPage(client, itemIndex, { ...query, start_datetime: window.start, end_datetime: end, order: 'asc' }, page, perPage),
			{ returnAll: true, limit: 0, pageSize: PER_PAGE },
		);
		const { fresh, next } = advance(state, calls, window, overlap);
		// Written only now that every page arrived (top-level keys, so n8n notices the change).
		state.watermark = next.watermark;
		state.seen = next.seen;
		return fresh;
	}
	const returnAll = this.getNodeParameter('returnAll', itemIndex, false) as boolean;
	const limit = this.getNodeParameter('limit', itemIndex, 50) as number;
	return await collectByPageNumber(
		async (page, perPage) => await fetchCallPage(client, itemIndex, query, page, perPage),
		{ returnAll, limit, pageSize: PER_PAGE },
	);
}

/** Statistics requests run one at a time anyway; items in turn keep the watermark coherent. */
export const parallel = false;
