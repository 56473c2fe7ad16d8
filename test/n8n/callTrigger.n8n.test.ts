/**
 * Issue 20 in a real n8n 2.41.1 (package installed the way the community panel does): an active
 * workflow "Virtual PBX Call Trigger (every 10 s, a 6-field custom cron) → HTTP Request to a sink
 * on 127.0.0.1" (the sink counts writes per call and can be told to fail), against the fake PBX
 * listing calls only at hangup (so every call is listed late: after it started, often after the
 * poll that covered its start). Calls are added over several polls; one poll's execution fails;
 * then "Execute workflow" in the editor (manual mode: recent calls, the sync point untouched).
 *
 * Expected: each ended call reaches the sink exactly once in trigger executions; the failed
 * execution's calls come again; none lost; the manual run writes recent calls without changing
 * what the next polls emit.
 */
import { afterAll, describe, expect, it } from 'vitest';

import type { PbxCall } from '../fakes/pbx';
import {
	activateAndWait,
	callTriggerWorkflow,
	emittedBy,
	executionsOf,
	pbxCredential,
	TRIGGER_NAME,
	useCallTriggerFakes,
	waitUntil,
} from '../support/callTrigger';
import { note } from './harness';
import { useN8n } from './instance';
import { id16 } from './workflows';

const WF = { id: id16('calltrg', 1), name: 'PBX call trigger' };
const CRED = { id: id16('calltrgc', 1), name: 'PBX trusted app (call trigger)' };

const { sink, pbx } = useCallTriggerFakes('call trigger test');
const timings: string[] = [];
const n8n = useN8n({
	credentials: () => [pbxCredential(CRED, pbx)],
	workflows: () => [callTriggerWorkflow(WF, CRED, sink.url)],
	server: true,
	timings,
	timeoutMs: 600_000,
});

afterAll(() => {
	note(`call trigger suite timings:\n  ${timings.join('\n  ')}`);
});

const executions = async () => await executionsOf(n8n, WF.id);
const waitFor = async <T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs?: number) => await waitUntil(timings, what, check, timeoutMs);

describe('Virtual PBX Call Trigger in n8n 2.41.1', () => {
	it('active, polled every 10 s: each ended call reaches the sink once, late-listed and long calls included; a failed execution\'s calls come again; manual run changes nothing', async () => {
		await activateAndWait(n8n, timings, WF.id);

		// The first poll: sets the starting point. The fake's 10 calls ended before it: none is new.
		await waitFor('first poll', () => (pbx.listing.requests > 0 ? true : undefined), 30_000);
		const at = Date.now();
		const s = (sec: number) => at + sec * 1000;
		// Ended ones, one long call (listed only at its hangup, ~50 s from now), calls listed late
		// (they started before the last poll and are listed only once they ended).
		const wave1 = pbx.addCallsAt([
			{ startMs: s(0), durationSec: 3 },
			{ startMs: s(1), durationSec: 15 },
			{ startMs: s(2), durationSec: 50 },
			{ startMs: s(3), durationSec: 25 },
		]);
		const [, , long1] = wave1;
		const short = wave1.filter((c) => c !== long1);
		await waitFor('wave 1 (short calls) written', () => (short.every((c) => sink.writes.has(c.call_uuid)) ? true : undefined));
		expect(sink.writes.has(long1.call_uuid)).toBe(false);

		// The CRM fails: the next execution with calls fails; its calls come again once it is back.
		sink.failing = true;
		const wave2 = pbx.addCallsAt([
			{ startMs: Date.now() - 2000, durationSec: 1 },
			{ startMs: Date.now() - 1000, durationSec: 0 },
		]);
		const failed = await waitFor('a failed execution', async () => (await executions()).find((e) => e.status === 'error'));
		expect(emittedBy(failed)).toEqual(expect.arrayContaining(wave2.map((c) => c.call_uuid)));
		sink.failing = false;
		await waitFor('wave 2 written after the failure', () => (wave2.every((c) => sink.writes.has(c.call_uuid)) ? true : undefined));
		await waitFor('the long call written once it ended', () => (sink.writes.has(long1.call_uuid) ? true : undefined));

		// Quiet polls: nothing comes twice.
		const before = (await executions()).length;
		await new Promise((r) => setTimeout(r, 21_000));
		const all = await executions();
		expect(all.length).toBe(before);

		const ours: PbxCall[] = [...wave1, ...wave2];
		expect([...sink.writes.keys()].sort()).toEqual(ours.map((c) => c.call_uuid).sort());
		for (const [uuid, count] of sink.writes) expect(count, uuid).toBe(1);
		const trigger = all.filter((e) => e.mode === 'trigger');
		const ok = trigger.filter((e) => e.status === 'success');
		// Every call in exactly one successful execution; the failed execution's calls again later.
		const okCalls = ok.flatMap(emittedBy);
		expect(okCalls.sort()).toEqual(ours.map((c) => c.call_uuid).sort());
		note(`call trigger: ${trigger.length} executions (${ok.length} success, ${trigger.length - ok.length} failed), ${sink.refused} writes refused, ${pbx.listing.requests} call-history requests`);

		// "Execute workflow" in the editor (manual mode): recent ended calls, written with mode
		// manual; the next polls still emit nothing.
		const manual = await n8n.rest('POST', `/rest/workflows/${WF.id}/run`, { triggerToStartFrom: { name: TRIGGER_NAME } });
		expect(manual.status, manual.text).toBe(200);
		const executionId = String(manual.body.data.executionId);
		const finished = await waitFor('manual execution finished', async () => {
			const res = await n8n.apiRequest('GET', `/executions/${executionId}?includeData=true`);
			return res.status === 200 && !['new', 'running', 'waiting'].includes(res.body.status) ? res.body : undefined;
		}, 60_000);
		note(`manual run: ${finished.status} ${finished.mode} ${JSON.stringify(finished.data?.resultData?.error ?? null).slice(0, 400)} items ${emittedBy(finished).length}`);
		if (finished.status === 'success') {
			expect(sink.manualWrites.size).toBeGreaterThan(0);
			const afterManual = (await executions()).length;
			await new Promise((r) => setTimeout(r, 22_000));
			const later = await executions();
			expect(later.filter((e) => e.mode === 'trigger').length).toBe(trigger.length);
			expect(later.length).toBe(afterManual);
			for (const [uuid, count] of sink.writes) expect(count, uuid).toBe(1);
			note(`manual run wrote ${sink.manualWrites.size} recent calls`);
		}
		const deactivated = await n8n.rest('POST', `/rest/workflows/${WF.id}/deactivate`, {});
		expect(deactivated.status, deactivated.text).toBe(200);
	}, 420_000);
});
