/**
 * Virtual PBX Call Trigger against the fake PBX over real sockets (trusted-app credential through
 * the n8n-core-like httpRequestWithAuthentication of test/support/context.ts):
 *
 * - the poller (callTrigger/poll.ts) on a virtual clock: polls with calls added between them,
 *   some listed late (added with a start in the past), some listed while in progress (no end
 *   time until they ended) → each ended call emitted once, only once ended, with its final
 *   duration; a failed execution (done promise resolved with status error, or rejected) → its calls
 *   come again at the next poll (one per execution); a slow execution's calls are not emitted
 *   again meanwhile;
 * - the node itself (trigger(), registerCron, emit with a done promise) and its manual mode
 *   ("Fetch Test Event"): recent calls, the state and the next poll's output unchanged.
 */
import type { IDataObject, INodeExecutionData, ITriggerFunctions } from 'n8n-workflow';
import { describe, expect, it } from 'vitest';

import { CallPoller, accepts, type DonePromise, type PollHost } from '../../../nodes/VirtualPbx/callTrigger/poll';
import { TEST_EVENT_CALLS, VirtualPbxCallTrigger } from '../../../nodes/VirtualPbx/VirtualPbxCallTrigger.node';
import { parsePbxDatetime, type PbxCall } from '../../fakes/pbx';
import { usePbxFixture } from '../../support/pbx';
import { deferred, pollHost, run, triggerContext, uuidsOf, type Emitted } from '../../support/pollHost';

const MIN = 60_000;
const T0 = Math.floor(Date.now() / MIN) * MIN;
let clock = T0;
const f = usePbxFixture({ callCount: 20, now: () => clock, tokenLifetimeSec: 24 * 3600 }, { fresh: false });

const context = (staticData: IDataObject) => triggerContext(f, staticData);
const host = (staticData: IDataObject, emitted: Emitted[]): PollHost => pollHost(f, staticData, emitted);

/**
 * The PBX listing calls while they are in progress: no end time and the duration so far until the
 * clock passes their end (the fake lists a call with its final end time from its start otherwise).
 */
const finals = new Map<string, { end: string; duration: number }>();
function listInProgress(): void {
	for (const stored of (f.fake as unknown as { calls: Array<{ call: PbxCall; startMs: number }> }).calls) {
		const call = stored.call as unknown as IDataObject;
		const uuid = String(call.call_uuid);
		if (!finals.has(uuid)) finals.set(uuid, { end: String(call.end_time_gmt), duration: Number(call.duration) });
		const final = finals.get(uuid)!;
		if (parsePbxDatetime(final.end)! > clock) {
			call.end_time_gmt = null;
			call.duration = Math.max(0, Math.round((clock - stored.startMs) / 1000));
		} else {
			call.end_time_gmt = final.end;
			call.duration = final.duration;
		}
	}
}

/** Lets the done promises' handlers (a few store calls) run. */
const settled = async (): Promise<void> => await new Promise((r) => setTimeout(r, 20));


describe('Virtual PBX Call Trigger: polls', () => {
	it('emits each ended call once, oldest first: late-listed ones, in-progress ones once ended; failed executions come again', async () => {
		const staticData: IDataObject = {};
		const emitted: Emitted[] = [];
		const poller = new CallPoller(
			{ filters: { directions: [], results: [], extensions: [] }, lookbackMs: 4 * 60 * MIN, maxCalls: 1000, leaseMs: 10 * MIN, simplify: false },
			{ now: () => clock },
		);
		const h = host(staticData, emitted);
		/** Every execution one poll started. */
		const pollAll = async () => {
			listInProgress();
			const before = emitted.length;
			const report = await poller.poll(h);
			if (process.env.DEBUG_CALL_TRIGGER) console.log((clock - T0) / MIN, JSON.stringify(report), emitted.slice(before).map(uuidsOf));
			return emitted.slice(before);
		};
		const poll = async () => (await pollAll()).at(-1);
		/** Every call emitted by an execution that succeeded, with its emitted row. */
		const delivered = new Map<string, IDataObject[]>();
		const succeed = async (batch: Emitted | undefined) => {
			if (!batch) return;
			for (const item of batch.items) delivered.set(String(item.json.call_uuid), [...(delivered.get(String(item.json.call_uuid)) ?? []), item.json]);
			batch.done!.resolve(run('success'));
			await settled();
		};

		// First poll: the 20 calls of the fake all ended before it: none is new.
		expect(await poll()).toBeUndefined();

		// Calls between polls: a short one, a long one (in progress over several polls).
		const [short1, long1] = f.fake.addCallsAt([
			{ startMs: T0 + 1 * MIN, durationSec: 60 },
			{ startMs: T0 + 2 * MIN, durationSec: 40 * 60 },
		]);
		clock = T0 + 5 * MIN;
		let batch = await poll();
		expect(uuidsOf(batch)).toEqual([short1.call_uuid]);
		await succeed(batch);

		// A call listed late: started before the last poll, appears only now (ended at T0 + 8 min).
		clock = T0 + 10 * MIN;
		const [late1] = f.fake.addCallsAt([{ startMs: T0 - 20 * MIN, durationSec: 28 * 60 }]);
		const [short2] = f.fake.addCallsAt([{ startMs: T0 + 7 * MIN, durationSec: 30 }]);
		batch = await poll();
		expect(uuidsOf(batch)).toEqual([late1.call_uuid, short2.call_uuid]); // oldest first
		// That execution fails: its calls come again at the next poll.
		batch!.done!.resolve(run('error'));
		await settled();

		// ...each in an execution of its own (failure isolation, isolation.test.ts).
		clock = T0 + 15 * MIN;
		let batches = await pollAll();
		expect(batches.map(uuidsOf)).toEqual([[late1.call_uuid], [short2.call_uuid]]);
		// This time the done promises are rejected (n8n could not run the workflow): again next poll.
		for (const b of batches) b.done!.reject(new Error('could not start'));
		await settled();

		clock = T0 + 20 * MIN;
		const [short3] = f.fake.addCallsAt([{ startMs: T0 + 16 * MIN, durationSec: 90 }]);
		batches = await pollAll();
		expect(batches.map(uuidsOf)).toEqual([[late1.call_uuid], [short2.call_uuid], [short3.call_uuid]]);
		// Slow executions: still running at the next poll, whose output must not repeat their calls.
		const slow = batches;
		clock = T0 + 25 * MIN;
		const [short4] = f.fake.addCallsAt([{ startMs: T0 + 22 * MIN, durationSec: 20 }]);
		batch = await poll();
		expect(uuidsOf(batch)).toEqual([short4.call_uuid]);
		await succeed(batch);
		// ...still running 15 minutes later (a claim slot later): their calls stay claimed.
		clock = T0 + 40 * MIN;
		expect(await poll()).toBeUndefined();
		for (const b of slow) await succeed(b);

		// The long call ended at T0 + 42 min: emitted at the first poll after, with its final duration.
		clock = T0 + 45 * MIN;
		batch = await poll();
		expect(uuidsOf(batch)).toEqual([long1.call_uuid]);
		expect(batch!.items[0].json.duration).toBe(40 * 60);
		expect(batch!.items[0].json.in_progress).toBe(false);
		expect(batch!.items[0].json.end_time).toBe(new Date(T0 + 42 * MIN).toISOString());
		await succeed(batch);

		// Quiet polls, a call hours later, quiet polls again: nothing comes twice.
		for (const at of [50, 55, 60]) {
			clock = T0 + at * MIN;
			expect(await poll()).toBeUndefined();
		}
		const [later] = f.fake.addCallsAt([{ startMs: T0 + 5 * 60 * MIN, durationSec: 10 }]);
		clock = T0 + 5 * 60 * MIN + MIN;
		batch = await poll();
		expect(uuidsOf(batch)).toEqual([later.call_uuid]);
		await succeed(batch);
		for (const at of [6 * 60, 6 * 60 + 5]) {
			clock = T0 + at * MIN;
			expect(await poll()).toBeUndefined();
		}
		const expected = [short1, long1, late1, short2, short3, short4, later].map((c) => c.call_uuid).sort();
		expect([...delivered.keys()].sort()).toEqual(expected);
		for (const rows of delivered.values()) expect(rows).toHaveLength(1);
		// Old hours got sealed: the state holds the seals, not a key per call forever.
		const keys = Object.keys(staticData.syncKeys as IDataObject);
		expect(keys.some((key) => key.startsWith('seal:'))).toBe(true);
		expect(keys.filter((key) => key.startsWith('claim:'))).toEqual([]);
	});

	it('filters: direction, result (answered / missed), extensions; a call in progress is judged on its result once ended', () => {
		const since = '2024-05-01 00:00:00';
		const ended = { flow: 'in', result: 'noanswer', extension_id: 1001, end_time_gmt: '2024-05-01 10:00:00', bridged_duration: 0 };
		const none = { directions: [], results: [], extensions: [] };
		expect(accepts(ended, none, since)).toBe(true);
		expect(accepts(ended, { ...none, directions: ['out'] }, since)).toBe(false);
		expect(accepts(ended, { ...none, results: ['missed'] }, since)).toBe(true);
		expect(accepts(ended, { ...none, results: ['answered'] }, since)).toBe(false);
		expect(accepts({ ...ended, result: 'answered', bridged_duration: 30 }, { ...none, results: ['answered'] }, since)).toBe(true);
		expect(accepts(ended, { ...none, extensions: ['1002'] }, since)).toBe(false);
		expect(accepts(ended, { ...none, extensions: ['1001'] }, since)).toBe(true);
		// Ended before the trigger's first poll: not new.
		expect(accepts({ ...ended, end_time_gmt: '2024-04-30 23:59:59' }, none, since)).toBe(false);
		// In progress (no end, no result yet): kept pending whatever Results says.
		expect(accepts({ ...ended, end_time_gmt: null, result: null }, { ...none, results: ['answered'] }, since)).toBe(true);
		expect(accepts({ ...ended, end_time_gmt: null, result: null }, { ...none, directions: ['out'] }, since)).toBe(false);
	});

	it('skips a tick while the previous poll is still running', async () => {
		const staticData: IDataObject = {};
		const emitted: Emitted[] = [];
		const poller = new CallPoller({ filters: { directions: [], results: [], extensions: [] }, lookbackMs: 4 * 60 * MIN, maxCalls: 10, leaseMs: 10 * MIN, simplify: true }, { now: () => clock });
		const h = host(staticData, emitted);
		const [a, b] = await Promise.all([poller.poll(h), poller.poll(h)]);
		expect([a, b].filter((r) => r === undefined)).toHaveLength(1);
	});
});

interface NodeHarness {
	ctx: ITriggerFunctions;
	emitted: Emitted[];
	crons: Array<{ expression: string; onTick: () => void }>;
	failures: Error[];
}

function nodeContext(mode: 'trigger' | 'manual', staticData: IDataObject, params: IDataObject): NodeHarness {
	const base = context(staticData) as unknown as Record<string, unknown> & { helpers: Record<string, unknown> };
	const harness: NodeHarness = { ctx: undefined as unknown as ITriggerFunctions, emitted: [], crons: [], failures: [] };
	harness.ctx = {
		...base,
		getMode: () => mode,
		getActivationMode: () => 'activate',
		getNodeParameter: (name: string, fallback?: unknown) => params[name] ?? fallback,
		getWorkflowStaticData: () => staticData,
		emit: (data: INodeExecutionData[][], _response?: unknown, done?: DonePromise) => harness.emitted.push({ items: data[0], done }),
		saveFailedExecution: (error: Error) => harness.failures.push(error),
		helpers: {
			...base.helpers,
			createDeferredPromise: deferred,
			registerCron: (cron: { expression: string }, onTick: () => void) => harness.crons.push({ expression: cron.expression, onTick }),
		},
	} as unknown as ITriggerFunctions;
	return harness;
}

async function until(check: () => boolean, ms = 10_000): Promise<void> {
	const end = Date.now() + ms;
	while (!check()) {
		if (Date.now() > end) throw new Error('timed out');
		await new Promise((r) => setTimeout(r, 20));
	}
}

describe('Virtual PBX Call Trigger: the node', () => {
	const node = new VirtualPbxCallTrigger();
	const params = { authentication: 'trustedApp', pollTimes: { item: [{ mode: 'everyMinute' }, { mode: 'custom', cronExpression: '*/10 * * * * *' }] }, options: { simplify: true } };

	it('registers one cron per poll time; each tick emits new ended calls with a done promise; manual fetch shows recent calls and changes nothing', async () => {
		clock = Date.now();
		listInProgress();
		const staticData: IDataObject = {};
		const active = nodeContext('trigger', staticData, params);
		const response = await node.trigger.call(active.ctx);
		expect(response.manualTriggerFunction).toBeUndefined();
		expect(active.crons.map((c) => c.expression)).toEqual([expect.stringMatching(/^\d+ \* \* \* \* \*$/), '*/10 * * * * *']);

		// First tick: sets the starting point, nothing new.
		active.crons[0].onTick();
		await until(() => typeof staticData.syncFrom === 'string' || typeof staticData.syncSince === 'string');
		await new Promise((r) => setTimeout(r, 300));
		expect(active.emitted).toHaveLength(0);

		// Calls that start after the first tick (so they ended after it: new) and have ended.
		await new Promise((r) => setTimeout(r, 1100));
		const added = f.fake.addCallsAt([
			{ startMs: Date.now(), durationSec: 1 },
			{ startMs: Date.now(), durationSec: 2 },
		]);
		clock = Date.now() + 5000;
		listInProgress();
		const addedUuids = added.map((c) => c.call_uuid).sort();
		// Manual mode on the same state: recent calls (simplified), newest TEST_EVENT_CALLS, no state change.
		const before = JSON.stringify(staticData);
		const manual = nodeContext('manual', staticData, params);
		const manualResponse = await node.trigger.call(manual.ctx);
		await manualResponse.manualTriggerFunction!();
		expect(manual.emitted).toHaveLength(1);
		expect(manual.emitted[0].done).toBeUndefined();
		const shown = manual.emitted[0].items.map((i) => i.json);
		expect(shown.length).toBeLessThanOrEqual(TEST_EVENT_CALLS);
		expect(shown.slice(-2).map((r) => String(r.call_uuid)).sort()).toEqual(addedUuids);
		expect(Object.keys(shown[0])).toContain('external_number');
		expect(Object.keys(shown[0])).not.toContain('cdr');
		expect(JSON.stringify(staticData)).toBe(before);
		expect(manual.crons).toHaveLength(0);

		// The next tick emits exactly the new calls, as it would have without the manual fetch.
		active.crons[1].onTick();
		await until(() => active.emitted.length === 1);
		expect(active.emitted[0].items.map((i) => String(i.json.call_uuid)).sort()).toEqual(addedUuids);
		expect(active.emitted[0].items[0].pairedItem).toBeUndefined();
		active.emitted[0].done!.resolve(run('success'));
		await new Promise((r) => setTimeout(r, 50));
		active.crons[1].onTick();
		await new Promise((r) => setTimeout(r, 500));
		expect(active.emitted).toHaveLength(1);
		expect(active.failures).toEqual([]);
	});

	it('a PBX outage during a tick is saved as a failed execution, nothing emitted', async () => {
		const staticData: IDataObject = {};
		const down = { ...f.credentials, host: 'http://127.0.0.1:9' };
		const broken = nodeContext('trigger', staticData, { ...params, pollTimes: { item: [{ mode: 'everyMinute' }] } });
		(broken.ctx as unknown as { getCredentials: () => Promise<IDataObject> }).getCredentials = async () => ({ ...down });
		await node.trigger.call(broken.ctx);
		broken.crons[0].onTick();
		await until(() => broken.failures.length === 1, 30_000);
		expect(broken.emitted).toHaveLength(0);
		expect(broken.failures[0].message).toContain('Could not reach the PBX');
	});

	it('refuses to activate without poll times', async () => {
		const active = nodeContext('trigger', {}, { ...params, pollTimes: { item: [] } });
		await expect(node.trigger.call(active.ctx)).rejects.toThrow('Poll Times');
	});
});
