import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { ItemResult } from '../../../shared/items';
import { collectByPageNumber } from '../../../shared/paging';
import type { PbxClient } from '../../transport';
import { PER_PAGE, orderField, returnAllFields, rowsOf, windowFields, windowQuery } from '../common';

const show = { resource: ['callHistory'], operation: ['getMany'] };

export const description: INodeProperties[] = [
	...windowFields(show, 'call (by its start time)'),
	...returnAllFields(show),
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
	const returnAll = this.getNodeParameter('returnAll', itemIndex, false) as boolean;
	const limit = this.getNodeParameter('limit', itemIndex, 50) as number;
	return await collectByPageNumber(
		async (page, perPage) => await fetchCallPage(client, itemIndex, query, page, perPage),
		{ returnAll, limit, pageSize: PER_PAGE },
	);
}

export const parallel = true;
