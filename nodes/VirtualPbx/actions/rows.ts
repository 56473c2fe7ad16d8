/**
 * Call and recording rows as the node outputs them: an ISO 8601 time beside each of the PBX's
 * GMT strings (`start_time` beside `start_time_gmt`, in call legs too), on call rows the
 * external party's number (`external_number`, empty when withheld) and whether the call is still
 * going on (`in_progress`), see calls.ts; and the "Simplify" option's short rows.
 */
import type { IDataObject, INodeProperties } from 'n8n-workflow';

import { externalNumber, isInProgress } from '../calls';
import { gmtToIso } from '../datetime';

/** The fields a simplified call row keeps (the sync's call_uuid and start_time_gmt among them; the external party's number instead of from/to). */
export const SIMPLE_CALL_FIELDS = [
	'call_uuid',
	'start_time_gmt',
	'start_time',
	'end_time',
	'flow',
	'result',
	'external_number',
	'in_progress',
	'duration',
	'extension_id',
] as const;

/** The fields a simplified recording row keeps (those the PBX sends). */
export const SIMPLE_RECORDING_FIELDS = ['call_uuid', 'record_uuid', 'start_time_gmt', 'start_time', 'duration', 'extension_id'] as const;

export function simplifyField(show: Record<string, string[]>, what: string): INodeProperties {
	return {
		displayName: 'Simplify',
		name: 'simplify',
		type: 'boolean',
		default: false,
		description: `Whether to return a simplified version of each ${what} instead of the raw data (the fields ${
			what === 'call' ? SIMPLE_CALL_FIELDS.join(', ') : SIMPLE_RECORDING_FIELDS.join(', ')
		})`,
		displayOptions: { show },
	};
}

const GMT_SUFFIX = '_gmt';

/** The row with `x_time` (ISO 8601, UTC) beside every `x_time_gmt`, in nested legs too; a copy. */
export function withIsoTimes(row: IDataObject): IDataObject {
	const out: IDataObject = {};
	for (const [key, value] of Object.entries(row)) {
		out[key] = Array.isArray(value)
			? value.map((entry) => (isObject(entry) ? withIsoTimes(entry) : entry))
			: value;
		if (!key.endsWith(`_time${GMT_SUFFIX}`)) continue;
		const isoKey = key.slice(0, -GMT_SUFFIX.length);
		if (isoKey in row) continue; // the PBX sent a field of that name: keep it
		out[isoKey] = value === null || value === undefined || value === '' ? null : (gmtToIso(value) ?? null);
	}
	return out;
}

function isObject(value: unknown): value is IDataObject {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Only the given fields, in that order, those the row has. */
export function pick(row: IDataObject, fields: readonly string[]): IDataObject {
	const out: IDataObject = {};
	for (const field of fields) if (field in row) out[field] = row[field];
	return out;
}

/** A call row with ISO times, `external_number` and `in_progress` (unless the PBX sent fields of those names). */
export function callRow(row: IDataObject): IDataObject {
	const full = withIsoTimes(row);
	if (!('external_number' in row)) full.external_number = externalNumber(row);
	if (!('in_progress' in row)) full.in_progress = isInProgress(row);
	return full;
}

/** Call rows for output: ISO times, external number and in-progress mark added, simplified when asked. */
export function callRows(rows: IDataObject[], simplify: boolean): IDataObject[] {
	return rows.map((row) => {
		const full = callRow(row);
		return simplify ? pick(full, SIMPLE_CALL_FIELDS) : full;
	});
}

/** Recording rows for output: ISO times added, simplified when asked. */
export function recordingRows(rows: IDataObject[], simplify: boolean): IDataObject[] {
	return rows.map((row) => {
		const full = withIsoTimes(row);
		return simplify ? pick(full, SIMPLE_RECORDING_FIELDS) : full;
	});
}
