/**
 * Failure isolation of the Virtual PBX Call Trigger (callTrigger/isolation.ts) against the fake
 * PBX, on a virtual clock. A "workflow" settles every execution the trigger started: it fails
 * those holding a call the CRM refuses (or every one, in an outage) and succeeds the others.
 *
 * - one refused call among calls that succeed: the others are delivered at the first polls that
 *   succeed, the refused one is emitted alone, counts an attempt only in polls where another
 *   execution succeeded, is set aside after 3 attempts (Max Attempts per Call), never emitted
 *   again, on the set-aside list, with a warning;
 * - an outage (every execution fails for 5 polls): nothing is set aside, and once the CRM is back
 *   every call is delivered, each once;
 * - a suspect that succeeds alone is done, its attempts forgotten; a suspect in flight is not
 *   emitted again; at most SUSPECTS_PER_POLL suspects a poll, the others wait; suspects come on
 *   top of Max Calls per Poll;
 * - Max Attempts per Call from the node's options (1..10).
 */
import type { IDataObject } from 'n8n-workflow';
import { describe, expect, it } from 'vitest';

import { attemptsLimit, SET_ASIDE_FIELD, setAsideOf, SUSPECTS_FIELD, suspectsOf } from '../../../nodes/VirtualPbx/callTrigger/isolation';
import { CallPoller, type PollSettings } from '../../../nodes/VirtualPbx/callTrigger/poll';
import { pollHost, run, uuidsOf, type Emitted } from '../../support/pollHost';
import { usePbxFixture } from '../../support/pbx';

const MIN = 60_000;
let clock = Math.floor(Date.now() / MIN) * MIN;
const f = usePbxFixture({ callCount: 5, now: () => clock, tokenLifetimeSec: 24 * 3600 }, { fresh: false });

/** A trigger activation on fresh static data, polled every 5 minutes of the virtual clock. */
async function activation(settings: Partial<PollSettings> = {}) {
	const staticData: IDataObject = {};
	const emitted: Emitted[] = [];
	const warnings: string[] = [];
	const poller = new CallPoller(
		{ filters: { directions: [], results: [], extensions: [] }, lookbackMs: 4 * 60 * MIN, maxCalls: 1000, leaseMs: 10 * MIN, simplify: true, ...settings },
		{ now: () => clock },
	);
	const h = pollHost(f, staticData, emitted, warnings);
	/** Every execution of one poll. */
	const poll = async (): Promise<Emitted[]> => {
		clock += 5 * MIN;
		const before = emitted.length;
		await poller.poll(h);
		return emitted.slice(before);
	};
	/** Calls that ended a minute ago (new for the next poll). */
	const newCalls = (n: number): string[] =>
		f.fake.addCallsAt(Array.from({ length: n }, (_, i) => ({ startMs: clock + i * 1000, durationSec: 30 }))).map((call) => call.call_uuid);
	/** Each call delivered by an execution that succeeded, how many times. */
	const delivered = new Map<string, number>();
	/** Settles executions: failed when `fails` says so, succeeded otherwise; waits for their settles. */
	const resolved = new Set<Emitted>();
	const settle = async (executions: Emitted[], fails: (uuids: string[]) => boolean): Promise<void> => {
		for (const execution of executions) {
			resolved.add(execution);
			const uuids = uuidsOf(execution);
			if (fails(uuids)) {
				execution.done!.resolve(run('error'));
			} else {
				for (const uuid of uuids) delivered.set(uuid, (delivered.get(uuid) ?? 0) + 1);
				execution.done!.resolve(run('success'));
			}
		}
		// The settles of the executions still running stay in `settling`.
		while (poller.settling.size > emitted.length - resolved.size) await new Promise((r) => setTimeout(r, 1));
	};
	// The first poll sets the starting point: the fixture's calls are not new.
	expect(await poll()).toEqual([]);
	clock += MIN;
	return { staticData, emitted, warnings, poll, newCalls, delivered, settle };
}

const everyTime = () => true;

describe('Virtual PBX Call Trigger: failure isolation', () => {
	it('a call the CRM refuses: the others are delivered, it is emitted alone, set aside after 3 attempts and never emitted again', async () => {
		const t = await activation();
		const [c1, bad, c2] = t.newCalls(3);
		const refuses = (uuids: string[]) => uuids.includes(bad);

		// Poll 1: one execution of the three calls; the refused one fails it.
		let executions = await t.poll();
		expect(executions.map(uuidsOf)).toEqual([[c1, bad, c2]]);
		await t.settle(executions, refuses);
		expect(suspectsOf(t.staticData)).toEqual({ [c1]: 0, [bad]: 0, [c2]: 0 });

		// Poll 2: each suspect alone, the new call on its own batch; all but the refused one succeed.
		let [n] = t.newCalls(1);
		executions = await t.poll();
		expect(executions.map(uuidsOf)).toEqual([[c1], [bad], [c2], [n]]);
		await t.settle(executions, refuses);
		expect([...t.delivered.keys()].sort()).toEqual([c1, c2, n].sort());
		expect(suspectsOf(t.staticData)).toEqual({ [bad]: 1 });

		// A quiet poll: the refused call is the poll's only execution; its failure proves nothing.
		executions = await t.poll();
		expect(executions.map(uuidsOf)).toEqual([[bad]]);
		await t.settle(executions, refuses);
		expect(suspectsOf(t.staticData)).toEqual({ [bad]: 1 });

		// Polls 3 and 4: the refused call alone next to the new calls: attempts 2, then 3 → set aside.
		for (const attempts of [2, 3]) {
			[n] = t.newCalls(1);
			executions = await t.poll();
			expect(executions.map(uuidsOf)).toEqual([[bad], [n]]);
			await t.settle(executions, refuses);
			expect(suspectsOf(t.staticData)[bad]).toBe(attempts < 3 ? attempts : undefined);
		}
		const list = setAsideOf(t.staticData);
		expect(list).toEqual([{ call_uuid: bad, attempts: 3, set_aside_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) }]);
		expect(Date.parse(list[0].set_aside_at)).toBe(clock);
		expect(t.warnings).toHaveLength(1);
		expect(t.warnings[0]).toContain(bad);
		expect(t.warnings[0]).toContain('set aside after 3 failed attempts');
		expect(suspectsOf(t.staticData)).toEqual({});

		// Never again: new calls come alone, the set-aside one does not, not even in quiet polls.
		[n] = t.newCalls(1);
		executions = await t.poll();
		expect(executions.map(uuidsOf)).toEqual([[n]]);
		await t.settle(executions, refuses);
		for (let i = 0; i < 3; i++) expect(await t.poll()).toEqual([]);
		const emittedBad = t.emitted.filter((execution) => uuidsOf(execution).includes(bad));
		expect(emittedBad.map(uuidsOf)).toEqual([[c1, bad, c2], [bad], [bad], [bad], [bad]]);
		expect(t.delivered.has(bad)).toBe(false);
		for (const count of t.delivered.values()) expect(count).toBe(1);
		expect(t.delivered.size).toBe(6);
		expect(setAsideOf(t.staticData).map((entry) => entry.call_uuid)).toEqual([bad]);
	});

	it('an outage (every execution fails for 5 polls) sets nothing aside; once the CRM is back every call is delivered once', async () => {
		const t = await activation();
		const calls = t.newCalls(3);
		for (let i = 0; i < 5; i++) {
			const executions = await t.poll();
			// After the first failure every call goes alone: isolation runs, but counts nothing.
			if (i > 0) for (const execution of executions) expect(execution.items).toHaveLength(1);
			await t.settle(executions, everyTime);
			calls.push(...t.newCalls(1));
		}
		expect(t.delivered.size).toBe(0);
		expect(setAsideOf(t.staticData)).toEqual([]);
		expect(t.warnings).toEqual([]);
		// The calls of the last poll failed too; the newest call was not emitted yet.
		expect(Object.values(suspectsOf(t.staticData))).toEqual(calls.slice(0, -1).map(() => 0));

		// The CRM is back.
		const executions = await t.poll();
		expect(executions.map(uuidsOf).flat().sort()).toEqual([...calls].sort());
		await t.settle(executions, () => false);
		expect(await t.poll()).toEqual([]);
		expect([...t.delivered.keys()].sort()).toEqual([...calls].sort());
		for (const count of t.delivered.values()) expect(count).toBe(1);
		expect(suspectsOf(t.staticData)).toEqual({});
		expect(setAsideOf(t.staticData)).toEqual([]);
	});

	it('a suspect that succeeds alone is done, its attempts forgotten; a suspect in flight is not emitted twice', async () => {
		const t = await activation();
		const [x, y] = t.newCalls(2);
		await t.settle(await t.poll(), everyTime);

		// x succeeds alone, y fails alone while x succeeded: one attempt for y.
		let executions = await t.poll();
		expect(executions.map(uuidsOf)).toEqual([[x], [y]]);
		await t.settle(executions, (uuids) => uuids.includes(y));
		expect(suspectsOf(t.staticData)).toEqual({ [y]: 1 });

		// y again, alone; its execution is still running at the next poll: not emitted again.
		const [z] = t.newCalls(1);
		const slow = await t.poll();
		expect(slow.map(uuidsOf)).toEqual([[y], [z]]);
		await t.settle(slow.slice(1), () => false);
		expect(await t.poll()).toEqual([]);
		await t.settle(slow.slice(0, 1), () => false);
		expect(suspectsOf(t.staticData)).toEqual({});
		expect(await t.poll()).toEqual([]);
		expect([...t.delivered.entries()].sort()).toEqual([[x, 1], [y, 1], [z, 1]].sort());
		expect(setAsideOf(t.staticData)).toEqual([]);
		expect(t.staticData).toHaveProperty(SUSPECTS_FIELD);
		expect(t.staticData).not.toHaveProperty(SET_ASIDE_FIELD);
	});

	it('at most SUSPECTS_PER_POLL suspects a poll (here 2): the others wait unclaimed, new calls still go in one batch', async () => {
		const t = await activation({ suspectsPerPoll: 2 });
		const suspects = t.newCalls(5);
		await t.settle(await t.poll(), everyTime);
		const [n] = t.newCalls(1);
		let executions = await t.poll();
		expect(executions.map(uuidsOf)).toEqual([[suspects[0]], [suspects[1]], [n]]);
		await t.settle(executions, () => false);
		executions = await t.poll();
		expect(executions.map(uuidsOf)).toEqual([[suspects[2]], [suspects[3]]]);
		await t.settle(executions, () => false);
		executions = await t.poll();
		expect(executions.map(uuidsOf)).toEqual([[suspects[4]]]);
		await t.settle(executions, () => false);
		expect(await t.poll()).toEqual([]);
		expect([...t.delivered.keys()].sort()).toEqual([...suspects, n].sort());
		for (const count of t.delivered.values()) expect(count).toBe(1);
	});

	it('suspects come on top of Max Calls per Poll: with 1, a refused call never holds the others back', async () => {
		const t = await activation({ maxCalls: 1 });
		const [bad, c1, c2] = t.newCalls(3);
		const refuses = (uuids: string[]) => uuids.includes(bad);
		let executions = await t.poll();
		expect(executions.map(uuidsOf)).toEqual([[bad]]);
		await t.settle(executions, refuses);
		for (const next of [c1, c2]) {
			executions = await t.poll();
			expect(executions.map(uuidsOf)).toEqual([[bad], [next]]);
			await t.settle(executions, refuses);
		}
		const [c3] = t.newCalls(1);
		executions = await t.poll();
		expect(executions.map(uuidsOf)).toEqual([[bad], [c3]]);
		await t.settle(executions, refuses);
		expect(setAsideOf(t.staticData).map((entry) => entry.call_uuid)).toEqual([bad]);
		expect(await t.poll()).toEqual([]);
		expect([...t.delivered.keys()]).toEqual([c1, c2, c3]);
	});

	it('Max Attempts per Call: a whole number from 1 to 10, 3 when not set', async () => {
		expect(attemptsLimit(undefined)).toBe(3);
		expect(attemptsLimit(5)).toBe(5);
		expect(attemptsLimit(2.7)).toBe(2);
		expect(attemptsLimit(0)).toBe(1);
		expect(attemptsLimit(50)).toBe(10);
		expect(attemptsLimit('x')).toBe(3);

		// With 1, the first counted attempt sets the call aside.
		const t = await activation({ maxAttempts: 1 });
		const [bad, good] = t.newCalls(2);
		await t.settle(await t.poll(), everyTime);
		await t.settle(await t.poll(), (uuids) => uuids.includes(bad));
		expect(setAsideOf(t.staticData).map((entry) => [entry.call_uuid, entry.attempts])).toEqual([[bad, 1]]);
		expect(await t.poll()).toEqual([]);
		expect([...t.delivered.keys()]).toEqual([good]);
	});
});
