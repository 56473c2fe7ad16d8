import type { IDataObject, INode } from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';
import { describe, expect, it } from 'vitest';

import { callPages, type FetchPage, type PagerState } from '../../../../nodes/VirtualPbx/sync/pager';

const node = { name: 'PBX' } as INode;
const at = (sec: number): string => `2024-05-01 10:${String(Math.floor(sec / 60)).padStart(2, '0')}:${String(sec % 60).padStart(2, '0')}`;

/** Call history as the PBX serves it: inclusive start, oldest first, page numbers, a cap, a refusal. */
function pbx(calls: IDataObject[], opts: { cap?: number; maxPerPage?: number; onRequest?: (n: number) => void } = {}) {
	const asked: Array<{ start: string; page: number; perPage: number }> = [];
	const fetch: FetchPage = async (q) => {
		asked.push(q);
		opts.onRequest?.(asked.length);
		if (q.perPage > (opts.maxPerPage ?? 500)) throw new NodeApiError(node, { message: 'per_page too large' }, { httpCode: '400' });
		const size = Math.min(q.perPage, opts.cap ?? q.perPage);
		const matching = [...calls].sort((a, b) => String(a.start_time_gmt).localeCompare(String(b.start_time_gmt))).filter((c) => String(c.start_time_gmt) >= q.start);
		return matching.slice((q.page - 1) * size, q.page * size);
	};
	return { fetch, asked };
}

async function collect(fetch: FetchPage, start = at(0), state?: PagerState): Promise<string[]> {
	const out = new Set<string>();
	const order: string[] = [];
	for await (const rows of callPages(fetch, start, state)) {
		for (const row of rows) {
			const id = String(row.call_uuid);
			if (!out.has(id)) order.push(id);
			out.add(id);
		}
	}
	return order;
}

const make = (n: number, from = 0, sameSecond = false): IDataObject[] =>
	Array.from({ length: n }, (_, i) => ({ call_uuid: `c${from + i}`, start_time_gmt: at(sameSecond ? from : from + i) }));

describe('call-history pager of the sync', () => {
	it('reads everything oldest first with the largest page the PBX accepts, stepping down on 400', async () => {
		const calls = make(1100);
		const { fetch, asked } = pbx(calls, { maxPerPage: 100 });
		const state: PagerState = { perPage: 0, requests: 0 };
		expect(await collect(fetch, at(0), state)).toEqual(calls.map((c) => c.call_uuid));
		expect(state.perPage).toBe(100);
		expect(asked.slice(0, 3).map((q) => q.perPage)).toEqual([500, 200, 100]);
		expect(asked.slice(3).every((q) => q.perPage === 100)).toBe(true);
	});

	it('a PBX that caps pages below what was asked: short pages are not taken for the end', async () => {
		const calls = make(1000);
		const { fetch } = pbx(calls, { cap: 50 });
		expect(await collect(fetch)).toEqual(calls.map((c) => c.call_uuid));
	});

	it('calls listed while the run pages: none lost, none repeated (continues from the last start time)', async () => {
		const calls = make(250);
		const { fetch } = pbx(calls, {
			cap: 100,
			onRequest: (n) => {
				if (n === 3) calls.push(...make(10, 10_000).map((c, i) => ({ ...c, start_time_gmt: at(5 + i) })));
			},
		});
		const got = await collect(fetch);
		expect(new Set(got).size).toBe(got.length);
		// The 10 calls listed during paging started before the cursor: the pager may miss them in
		// this run (the next run's lookback reads them) but never loses or repeats a listed one.
		for (const c of make(250)) expect(got).toContain(c.call_uuid);
	});

	it('more calls in one second than a page holds: page numbers within that second', async () => {
		const calls = [...make(5), ...make(230, 10, true), ...make(5, 300)];
		const { fetch } = pbx(calls, { cap: 100 });
		expect((await collect(fetch)).sort()).toEqual(calls.map((c) => String(c.call_uuid)).sort());
	});

	it('an empty window ends after one request', async () => {
		const { fetch, asked } = pbx([]);
		expect(await collect(fetch)).toEqual([]);
		expect(asked).toHaveLength(1);
	});
});
