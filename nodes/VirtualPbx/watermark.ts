/**
 * "Only calls since the last run": a watermark kept in the node's workflow static data, so a
 * scheduled workflow gets each call exactly once across runs.
 *
 * - The next window starts at the newest call start seen (minus an optional overlap, for calls
 *   the PBX lists late); calls at that edge are told apart by call_uuid, so none comes twice.
 * - The state is written only after every page was fetched: a run that fails while fetching
 *   leaves the watermark where it was, and the next run fetches the same calls again.
 */
import type { IDataObject } from 'n8n-workflow';

import { formatGmt } from './datetime';

export interface SyncState extends IDataObject {
	/** Newest `start_time_gmt` delivered, `YYYY-MM-DD HH:MM:SS` (GMT). */
	watermark?: string;
	/** call_uuid → start time of the calls delivered inside the overlap window. */
	seen?: IDataObject;
}

export interface SyncWindow {
	start: string;
	seen: Set<string>;
}

export function windowStart(state: SyncState, firstStart: string, overlapMinutes: number): SyncWindow {
	if (!state.watermark) return { start: firstStart, seen: new Set() };
	const edge = Date.parse(`${state.watermark.replace(' ', 'T')}Z`) - overlapMinutes * 60_000;
	return { start: formatGmt(edge), seen: new Set(Object.keys(state.seen ?? {})) };
}

/** Keeps the calls not delivered before, and the state to store once the run succeeded. */
export function advance(
	state: SyncState,
	calls: IDataObject[],
	window: SyncWindow,
	overlapMinutes: number,
): { fresh: IDataObject[]; next: SyncState } {
	const fresh = calls.filter((call) => !window.seen.has(String(call.call_uuid)));
	let watermark = state.watermark ?? '';
	for (const call of fresh) {
		const start = String(call.start_time_gmt ?? '');
		if (start > watermark) watermark = start;
	}
	if (watermark === '') return { fresh, next: { ...state } };
	const keepFrom = formatGmt(Date.parse(`${watermark.replace(' ', 'T')}Z`) - overlapMinutes * 60_000);
	const seen: IDataObject = {};
	for (const [uuid, start] of Object.entries(state.seen ?? {})) if (String(start) >= keepFrom) seen[uuid] = start;
	for (const call of fresh) {
		const start = String(call.start_time_gmt ?? '');
		if (start >= keepFrom) seen[String(call.call_uuid)] = start;
	}
	return { fresh, next: { watermark, seen } };
}
