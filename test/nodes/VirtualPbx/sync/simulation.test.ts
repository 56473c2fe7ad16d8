/**
 * The node's sync code (Get Many "Only Calls Not Yet Synced" → Mark as Synced) against the fake
 * PBX over real sockets, with n8n's processed-items store modelled in memory (its
 * read-modify-write semantics, test/support/processedStore.ts): a PBX that lists a call only at
 * hang-up, calls up to 2 h long, a run every 15 min of fake time for 8 h (and 2 h more for the
 * last calls to end). The real-n8n suite runs the same scenario with fewer runs.
 */
import type { IDataObject } from 'n8n-workflow';
import { describe, expect, it } from 'vitest';

import { VirtualPbxTrustedAppApi } from '../../../../credentials/VirtualPbxTrustedAppApi.credentials';
import { markSynced } from '../../../../nodes/VirtualPbx/sync/core';
import { CLAIMS_KEY, n8nEnv, syncCalls } from '../../../../nodes/VirtualPbx/sync/run';
import { syncSettings } from '../../../../nodes/VirtualPbx/actions/callHistory/getMany.operation';
import { createPbxClient } from '../../../../nodes/VirtualPbx/transport';
import type { PbxCall } from '../../../fakes/pbx';
import { createExecuteContext, credentialStore } from '../../../support/context';
import { usePbxFixture } from '../../../support/pbx';
import { ProcessedDb } from '../../../support/processedStore';

const HOUR = 3_600_000;
const FAST = { settleMs: 5 };
const clock = { offset: 0 };
const f = usePbxFixture({ callCount: 0, statsDelayMs: 0, listAtHangup: true, now: () => Date.now() + clock.offset }, { fresh: false });


async function simulate(options: { keepStaticData: boolean; stepMs: number }): Promise<{ calls: PbxCall[]; writes: Map<string, number>; requests: number; rowAtEnd: number }> {
	const db = new ProcessedDb(1);
	const t0 = Date.now() - 10 * HOUR;
	// ~33 calls an hour over 8 h; one in 13 lasts 1 to 2 h, the others up to 10 min; ~15 % internal.
	const calls = f.fake.addCallsAt(
		Array.from({ length: 264 }, (_, i) => ({ startMs: t0 + Math.floor((i * 8 * HOUR) / 264) + ((i * 53) % 90) * 1000, durationSec: i % 13 === 0 ? 3600 + ((i * 997) % 3600) : (i * 131) % 600 })),
	);
	const writes = new Map<string, number>();
	const store = credentialStore(new VirtualPbxTrustedAppApi(), f.credentials);
	let staticData: IDataObject = {};
	const before = f.fake.listing.requests;
	for (let t = options.stepMs; t <= 10 * HOUR; t += options.stepMs) {
		clock.offset = t0 + t - Date.now();
		if (!options.keepStaticData) staticData = {};
		const ctx = createExecuteContext({
			store,
			staticData,
			params: { authentication: 'trustedApp', start: new Date(t0 - HOUR).toISOString(), lookbackMinutes: 240, maxCalls: 1000, leaseMinutes: 10, skipInternal: true, filters: {} },
		});
		Object.assign(ctx.helpers, db.helpers(ctx.getNode().id));
		const out = await syncCalls(ctx, createPbxClient(ctx, 'trustedApp'), 0, syncSettings(ctx, 0), FAST);
		for (const call of out) writes.set(String(call.call_uuid), (writes.get(String(call.call_uuid)) ?? 0) + 1);
		// Mark as Synced of the same execution: told the claim slot by Get Many (global static data).
		const slots = (ctx.getWorkflowStaticData('global')[CLAIMS_KEY] as { slots: number[] }).slots;
		await markSynced(n8nEnv(ctx, FAST), out.map((c) => String(c.call_uuid)), slots);
	}
	clock.offset = 0;
	return { calls, writes, requests: f.fake.listing.requests - before, rowAtEnd: db.count('') };
}

const external = (calls: PbxCall[]): string[] => calls.filter((c) => c.flow !== 'internal').map((c) => c.call_uuid).sort();

describe('call sync over 8 h of a PBX that lists calls at hang-up', () => {
	it('a run every 15 min, static data saved (scheduled runs): every external call exactly once, no internal call', async () => {
		f.fake.reset();
		const { calls, writes, rowAtEnd } = await simulate({ keepStaticData: true, stepMs: 15 * 60_000 });
		expect([...writes.keys()].sort()).toEqual(external(calls));
		// Hours that ended one lookback before the last call were sealed, their done keys pruned.
		// Measured: 135 keys for 226 calls (without sealing: one done key a call, plus claims).
		expect(rowAtEnd).toBeLessThan(external(calls).length * 0.75);
		expect([...writes.values()].filter((n) => n !== 1)).toEqual([]);
		// The case a watermark lost: calls listed only after a newer call had been delivered.
		const late = calls.filter((c) => c.flow !== 'internal' && calls.some((d) => d.start_time_gmt > c.start_time_gmt && d.end_time_gmt < c.end_time_gmt));
		expect(late.length).toBeGreaterThan(10);
	}, 120_000);

	it('the same with static data never saved (editor runs): still each call exactly once', async () => {
		const { calls, writes, rowAtEnd } = await simulate({ keepStaticData: false, stepMs: 30 * 60_000 });
		expect([...writes.keys()].filter((k) => calls.some((c) => c.call_uuid === k)).sort()).toEqual(external(calls));
		expect([...writes.values()].filter((n) => n !== 1)).toEqual([]);
		// Every run reads from Start: the sealed hours are skipped, their done keys pruned.
		expect(rowAtEnd).toBeLessThan(writes.size * 0.75);
	}, 120_000);
});
