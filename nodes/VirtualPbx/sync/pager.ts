/**
 * Call history read oldest first for the sync, page by page (never the whole window in memory):
 *
 * - Continues from the start time of the last call seen (the PBX's window is inclusive) rather
 *   than by page number, so calls listed while the run pages cannot shift later pages: nothing
 *   is skipped and the calls read twice at the seam are told apart by call_uuid by the caller.
 *   Page numbers are used only while a whole page shares one start time.
 * - Asks for large pages (fewer statistics requests, which the PBX serves one at a time) and
 *   steps down when the PBX refuses the size (400); the size that worked is kept for the run.
 * - A page shorter than asked is the end only when it is also shorter than the largest page
 *   the PBX has served: a PBX may cap pages below what was asked without saying so.
 */
import type { IDataObject } from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';

export const PAGE_SIZES = [500, 200, 100, 50, 20];

export type FetchPage = (query: { start: string; page: number; perPage: number }) => Promise<IDataObject[]>;

export interface PagerState {
	perPage: number;
	requests: number;
}

function refusedSize(error: unknown): boolean {
	return error instanceof NodeApiError && String(error.httpCode) === '400';
}

export async function* callPages(fetch: FetchPage, start: string, state: PagerState = { perPage: 0, requests: 0 }, maxRequests = 100_000): AsyncGenerator<IDataObject[]> {
	let cursor = start;
	let page = 1;
	let served = 0;
	let sizes = state.perPage > 0 ? [state.perPage] : PAGE_SIZES;
	while (state.requests < maxRequests) {
		let rows: IDataObject[] | undefined;
		for (let i = 0; rows === undefined; i++) {
			const perPage = sizes[i];
			try {
				state.requests++;
				rows = await fetch({ start: cursor, page, perPage });
				state.perPage = perPage;
				sizes = [perPage];
			} catch (error) {
				// Only a 400 is retried with a smaller page; NodeApiErrors pass through unchanged.
				if (!refusedSize(error) || i + 1 >= sizes.length) throw error as NodeApiError;
			}
		}
		served = Math.max(served, rows.length);
		yield rows;
		if (rows.length === 0) return;
		if (rows.length < state.perPage && rows.length < served) return;
		const last = String(rows[rows.length - 1].start_time_gmt ?? '');
		if (last > cursor) {
			cursor = last;
			page = 1;
		} else {
			page++;
		}
	}
}
