/**
 * The sync core with calls still in progress (delivered only once ended, their hour never sealed,
 * the next window held back) and with calls sent again (delivered whatever their hour), on the
 * model of n8n's processed-items store.
 */
import type { IDataObject } from 'n8n-workflow';
import { describe, expect, it } from 'vitest';

import { isInProgress } from '../../../../nodes/VirtualPbx/calls';
import { acquireLock, claimCalls, HOUR_MS, markSynced, releaseLock, type ClaimResult, type SyncEnv } from '../../../../nodes/VirtualPbx/sync/core';
import { ProcessedDb, syncEnv } from '../../../support/processedStore';

const LEASE = 10 * 60_000;
const LOOKBACK = 4 * HOUR_MS;
const T0 = Date.parse('2024-05-01T00:00:00Z');
const gmt = (ms: number): string => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

interface Spec {
	uuid: string;
	startMs: number;
	endMs: number;
}

/** The PBX listing every call from its start, in progress (no end time) until it ended. */
function listing(specs: Spec[], from: string, now: number): IDataObject[] {
	return specs
		.filter((s) => s.startMs <= now && gmt(s.startMs) >= from)
		.sort((a, b) => a.startMs - b.startMs)
		.map((s) =>
			s.endMs <= now
				? { call_uuid: s.uuid, start_time_gmt: gmt(s.startMs), end_time_gmt: gmt(s.endMs), duration: (s.endMs - s.startMs) / 1000, result: 'answered' }
				: { call_uuid: s.uuid, start_time_gmt: gmt(s.startMs), end_time_gmt: null, duration: (now - s.startMs) / 1000, result: null },
		);
}

async function* pages(rows: IDataObject[], size = 50): AsyncGenerator<IDataObject[]> {
	for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
}

async function run(e: SyncEnv, rows: IDataObject[], from: string, again?: Set<string>): Promise<ClaimResult> {
	await acquireLock(e);
	try {
		return await claimCalls(e, pages(rows), {
			leaseMs: LEASE,
			maxCalls: 1000,
			accept: () => true,
			pending: isInProgress,
			again,
			seal: { scope: 's', lookbackMs: LOOKBACK, from },
		});
	} finally {
		await releaseLock(e);
	}
}

describe('calls in progress', () => {
	it('isInProgress: no end time, an empty or zero end time, or a result naming a state', () => {
		expect(isInProgress({ end_time_gmt: null })).toBe(true);
		expect(isInProgress({})).toBe(true);
		expect(isInProgress({ end_time_gmt: '' })).toBe(true);
		expect(isInProgress({ end_time_gmt: '0000-00-00 00:00:00' })).toBe(true);
		expect(isInProgress({ end_time_gmt: '2024-05-01 10:00:00', result: 'in_progress' })).toBe(true);
		expect(isInProgress({ end_time_gmt: '2024-05-01 10:00:00', result: 'RINGING' })).toBe(true);
		expect(isInProgress({ end_time_gmt: '2024-05-01 10:00:00', result: 'answered' })).toBe(false);
		expect(isInProgress({ end_time_gmt: '2024-05-01 10:00:00', result: 'noanswer' })).toBe(false);
	});

	it('runs every 15 min for 12 h reading from the hint: each call delivered once, only after it ended, with its final duration; no hour holding a call in progress is sealed', async () => {
		const db = new ProcessedDb(0);
		const e = syncEnv(db);
		// 300 calls over 8 h, every 10th lasting 40 min to 3 h, the others up to 20 min.
		const specs: Spec[] = Array.from({ length: 300 }, (_, i) => {
			const startMs = T0 + Math.floor((i * 8 * HOUR_MS) / 300);
			const seconds = i % 10 === 0 ? 2400 + ((i * 997) % 8400) : 30 + ((i * 131) % 1170);
			return { uuid: `c${String(i).padStart(4, '0')}`, startMs, endMs: startMs + seconds * 1000 };
		});
		const delivered = new Map<string, IDataObject[]>();
		let hint: string | undefined;
		const floor = gmt(T0);
		for (let now = T0 + 15 * 60_000; now <= T0 + 12 * HOUR_MS; now += 15 * 60_000) {
			let from = floor;
			if (hint) {
				const ms = Date.parse(`${hint.replace(' ', 'T')}Z`) - LOOKBACK;
				from = gmt(Math.floor(ms / HOUR_MS) * HOUR_MS - HOUR_MS);
				if (from < floor) from = floor;
			}
			const result = await run(e, listing(specs, from, now), from);
			if (result.hint) hint = result.hint;
			for (const call of result.calls) {
				const spec = specs.find((s) => s.uuid === call.call_uuid)!;
				expect(spec.endMs, `${spec.uuid} delivered before it ended`).toBeLessThanOrEqual(now);
				expect(call.duration).toBe((spec.endMs - spec.startMs) / 1000);
				delivered.set(spec.uuid, [...(delivered.get(spec.uuid) ?? []), call]);
			}
			await markSynced(e, result.calls.map((c) => String(c.call_uuid)), [result.slot]);
		}
		expect([...delivered.keys()].sort()).toEqual(specs.map((s) => s.uuid));
		for (const [uuid, list] of delivered) expect(list, uuid).toHaveLength(1);
	});

	it('a call in progress in an old hour keeps that hour unsealed: once it ends it is still delivered', async () => {
		const db = new ProcessedDb(0);
		const e = syncEnv(db);
		const from = gmt(T0);
		// One long call at 00:10 (ends 06:12), 30 short calls in hour 00, and calls until 05:45.
		const specs: Spec[] = [
			{ uuid: 'long', startMs: T0 + 10 * 60_000, endMs: T0 + 6.2 * HOUR_MS },
			...Array.from({ length: 30 }, (_, i) => ({ uuid: `s${i}`, startMs: T0 + i * 60_000, endMs: T0 + i * 60_000 + 30_000 })),
			...Array.from({ length: 20 }, (_, i) => ({ uuid: `n${i}`, startMs: T0 + HOUR_MS + i * 15 * 60_000, endMs: T0 + HOUR_MS + i * 15 * 60_000 + 60_000 })),
		];
		const first = await run(e, listing(specs, from, T0 + 5.8 * HOUR_MS), from);
		expect(first.calls.map((c) => c.call_uuid)).not.toContain('long');
		await markSynced(e, first.calls.map((c) => String(c.call_uuid)), [first.slot]);
		// Hour 00 now ends more than one lookback before the newest call (05:45) and all its other
		// calls are synced: it would be sealed, but it holds the long call, still in progress.
		const second = await run(e, listing(specs, from, T0 + 6 * HOUR_MS), from);
		expect(second.calls).toEqual([]);
		expect(second.sealed).toBe(0);
		const third = await run(e, listing(specs, from, T0 + 6.5 * HOUR_MS), from);
		expect(third.calls.map((c) => c.call_uuid)).toEqual(['long']);
	});
});

describe('calls sent again', () => {
	it('are delivered even in a sealed hour and do not move the next window', async () => {
		const db = new ProcessedDb(0);
		const e = syncEnv(db);
		const from = gmt(T0);
		const specs: Spec[] = Array.from({ length: 60 }, (_, i) => ({ uuid: `c${i}`, startMs: T0 + i * 10 * 60_000, endMs: T0 + i * 10 * 60_000 + 60_000 }));
		const now = T0 + 12 * HOUR_MS;
		const first = await run(e, listing(specs, from, now), from);
		await markSynced(e, first.calls.map((c) => String(c.call_uuid)), [first.slot]);
		const second = await run(e, listing(specs, from, now), from);
		expect(second.calls).toEqual([]);
		expect(second.sealed).toBeGreaterThan(0);
		// c0 (hour 00, sealed) sent again: its done key is gone, it comes first, the hint stays.
		await db.store('getMany').remove(['done:c0']);
		const again = await run(e, [listing(specs, from, now)[0]!, ...listing(specs, gmt(T0 + 8 * HOUR_MS), now)], gmt(T0 + 8 * HOUR_MS), new Set(['c0']));
		expect(again.calls.map((c) => c.call_uuid)).toEqual(['c0']);
		expect(again.hint).toBe(gmt(specs[59]!.startMs));
	});
});
