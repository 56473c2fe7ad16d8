import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { DISCOVERY_SIZES, type PageSizeDiscovery } from '../../shared/paging';
import { formatGmt, impossibleDate, toEpochMs } from '../datetime';

export type Show = { resource: string[]; operation: string[] };

/** Page size asked of the PBX's list methods that are not statistics (extensions). */
export const PER_PAGE = 100;

/**
 * Statistics lists (call history, recordings) are served one request at a time, so they ask for
 * the largest page the PBX accepts: its maximum is not documented, so the first request asks for
 * 500 and steps down while the PBX refuses the size with a 400 (shared/paging.ts).
 */
export const STATISTICS_PAGES: PageSizeDiscovery = {
	sizes: DISCOVERY_SIZES,
	refused: (error) => error instanceof NodeApiError && String(error.httpCode) === '400',
};

export function returnAllFields(show: Show): INodeProperties[] {
	return [
		{
			displayName: 'Return All',
			name: 'returnAll',
			type: 'boolean',
			default: false,
			description: 'Whether to return all results or only up to a given limit',
			displayOptions: { show },
		},
		{
			displayName: 'Limit',
			name: 'limit',
			type: 'number',
			default: 50,
			typeOptions: { minValue: 1 },
			description: 'Max number of results to return',
			displayOptions: { show: { ...show, returnAll: [false] } },
		},
	];
}

export function windowFields(show: Show, what: string): INodeProperties[] {
	return [
		{
			displayName: 'Start',
			name: 'start',
			type: 'dateTime',
			default: '',
			required: true,
			description: `Earliest ${what} to return. Any date form works (picker, ISO, "2024-05-01 09:30", epoch, {{ $now.minus({ days: 1 }) }}); dates without a zone are in the workflow's timezone.`,
			displayOptions: { show },
		},
		{
			displayName: 'End',
			name: 'end',
			type: 'dateTime',
			default: '',
			description: `Latest ${what} to return. Empty means now.`,
			displayOptions: { show },
		},
	];
}

/** A date parameter as GMT `YYYY-MM-DD HH:MM:SS`, or undefined when empty and optional. */
export function gmtParameter(ctx: IExecuteFunctions, name: string, label: string, itemIndex: number, required: boolean): string | undefined {
	const raw = ctx.getNodeParameter(name, itemIndex, '') as unknown;
	if (raw === '' || raw === undefined || raw === null) {
		if (required) throw new NodeOperationError(ctx.getNode(), `The "${label}" parameter is empty`, { itemIndex, description: 'Enter a date, e.g. 2024-05-01 00:00 or {{ $now.minus({ days: 1 }) }}.' });
		return undefined;
	}
	const impossible = impossibleDate(raw);
	if (impossible !== undefined) {
		throw new NodeOperationError(ctx.getNode(), `The "${label}" parameter "${String(raw)}" is not a real date: ${impossible}`, {
			itemIndex,
			description: `Correct the "${label}" parameter; the node does not roll an impossible date over to the next month.`,
		});
	}
	const ms = toEpochMs(raw, ctx.getTimezone());
	if (ms === undefined) {
		throw new NodeOperationError(ctx.getNode(), `The "${label}" parameter "${String(raw)}" is not a date`, {
			itemIndex,
			description: 'Use a form like 2024-05-01T09:30:00, 2024-05-01 09:30, 2024-05-01T06:30:00Z or an epoch timestamp.',
		});
	}
	return formatGmt(ms);
}

/** The time window of a statistics request, checked: start before end. */
export function windowQuery(ctx: IExecuteFunctions, itemIndex: number): IDataObject {
	const start = gmtParameter(ctx, 'start', 'Start', itemIndex, true) as string;
	const end = gmtParameter(ctx, 'end', 'End', itemIndex, false) ?? formatGmt(Date.now());
	if (start > end) {
		throw new NodeOperationError(ctx.getNode(), `"Start" (${start} GMT) is after "End" (${end} GMT)`, { itemIndex });
	}
	return { start_datetime: start, end_datetime: end };
}

export function orderField(show: Show): INodeProperties {
	return {
		displayName: 'Order',
		name: 'order',
		type: 'options',
		default: 'asc',
		options: [
			{ name: 'Oldest First', value: 'asc' },
			{ name: 'Newest First', value: 'desc' },
		],
		displayOptions: { show },
	};
}

export function extensionIdField(show: Show, description: string): INodeProperties {
	return {
		displayName: 'Extension ID',
		name: 'extensionId',
		type: 'string',
		default: '',
		required: true,
		description,
		displayOptions: { show },
	};
}

/** Rows of a list answer: the array itself, or the first array inside it. */
export { rowsOf } from '../callHistory';
