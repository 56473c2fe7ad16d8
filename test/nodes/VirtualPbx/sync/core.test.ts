import type { IDataObject } from 'n8n-workflow';
import { describe, expect, it } from 'vitest';

import { acquireLock, claimCalls, markSynced, releaseLock, type SyncEnv } from '../../../../nodes/VirtualPbx/sync/core';
import { ProcessedDb, syncEnv } from '../../../support/processedStore';

const LEASE = 10 * 60_000;

function clock() {
	let offset = 0;
	return { now: () => Date.now() + offset, advance: (ms: number) => (offset += ms) };
}

const env = (db: ProcessedDb, c = clock(), nodeId = 'getMany'): SyncEnv => syncEnv(db, { now: c.now, settleMs: 15 }, nodeId);

function calls(n: number, from = 0, flow = 'in'): IDataObject[] {
	return Array.from({ length: n }, (_, i) => ({
		call_uuid: `c${String(from + i).padStart(5, '0')}`,
		start_time_gmt: `2024-05-01 10:${String(Math.floor((from + i) / 60) % 60).padStart(2, '0')}:${String((from + i) % 60).padStart(2, '0')}`,
		flow,
	}));
}

async function* pagesOf(list: IDataObject[], size = 10): AsyncGenerator<IDataObject[]> {
	for (let i = 0; i < list.length; i += size) yield list.slice(i, i + size);
}

const all = (): boolean => true;
const uuids = (list: IDataObject[]): string[] => list.map((c) => String(c.call_uuid));

async function run(e: SyncEnv, list: IDataObject[], maxCalls = 1000): Promise<IDataObject[]> {
	await acquireLock(e);
	try {
		return (await claimCalls(e, pagesOf(list), { leaseMs: LEASE, maxCalls, accept: all })).calls;
	} finally {
		await releaseLock(e);
	}
}

describe('sync core on a model of n8n\'s processed-items store', () => {
	it('a marked call never comes again; an unmarked one only after its claim expired', async () => {
		const db = new ProcessedDb();
		const c = clock();
		const e = env(db, c);
		const list = calls(30);
		const first = await run(e, list);
		expect(uuids(first)).toEqual(uuids(list));
		// The run failed before Mark as Synced: the calls are claimed, not synced.
		expect(await run(e, list)).toEqual([]);
		c.advance(2 * LEASE);
		const third = await run(e, list);
		expect(uuids(third)).toEqual(uuids(list));
		await markSynced(e, uuids(third.slice(0, 20)));
		c.advance(2 * LEASE);
		const fourth = await run(e, list);
		expect(uuids(fourth)).toEqual(uuids(list.slice(20)));
		await markSynced(e, uuids(fourth));
		c.advance(2 * LEASE);
		expect(await run(e, list)).toEqual([]);
		// Test keys (`done:` of calls not done) were removed: only the done markers stay, plus the
		// live claims of the calls still being worked on (none here beyond fourth's, expired).
		for (const call of list) expect(db.has('', `done:${String(call.call_uuid)}`)).toBe(true);
	});

	it('Max Calls per Run drains a backlog oldest first, each call once', async () => {
		const db = new ProcessedDb(0);
		const e = env(db);
		const list = calls(25);
		const got: string[] = [];
		for (let i = 0; i < 4; i++) {
			const batch = await run(e, list, 10);
			await markSynced(e, uuids(batch));
			got.push(...uuids(batch));
		}
		expect(got).toEqual(uuids(list));
	});

	it('skipped calls (internal) are neither output nor claimed', async () => {
		const db = new ProcessedDb(0);
		const e = env(db);
		const list = [...calls(5), ...calls(5, 5, 'internal')];
		await acquireLock(e);
		const out = await claimCalls(e, pagesOf(list), { leaseMs: LEASE, maxCalls: 100, accept: (call) => call.flow !== 'internal' });
		await releaseLock(e);
		expect(uuids(out.calls)).toEqual(uuids(list.slice(0, 5)));
		for (const call of list.slice(5)) expect(db.has('', `claim:${String(call.call_uuid)}:${Math.floor(Date.now() / LEASE)}`)).toBe(false);
		expect(out.read).toBe(10);
	});

	it('a call read twice in one run (page shift, overlapping re-read) is output once', async () => {
		const db = new ProcessedDb(0);
		const e = env(db);
		const list = calls(20);
		async function* shifted(): AsyncGenerator<IDataObject[]> {
			yield list.slice(0, 10);
			yield list.slice(8, 18);
			yield list.slice(15, 20);
		}
		const out = await claimCalls(e, shifted(), { leaseMs: LEASE, maxCalls: 100, accept: all });
		expect(uuids(out.calls)).toEqual(uuids(list));
	});

	it('runs at once, Marks writing while others claim, new calls each round: every call once, none lost', async () => {
		for (let attempt = 0; attempt < 3; attempt++) {
			const db = new ProcessedDb(4);
			const c = clock();
			const delivered: string[] = [];
			const list: IDataObject[] = [];
			const pending: Array<Promise<void>> = [];
			for (let round = 0; round < 4; round++) {
				list.push(...calls(15, round * 15));
				const snapshot = [...list];
				// Three runs of one workflow at once (same Get Many node id), each marking its calls.
				for (let r = 0; r < 3; r++) {
					pending.push(
						(async () => {
							const e = env(db, c);
							const got = await run(e, snapshot);
							delivered.push(...uuids(got));
							await markSynced(e, uuids(got));
						})(),
					);
				}
				await new Promise((r) => setTimeout(r, 5));
			}
			await Promise.all(pending);
			expect(new Set(delivered).size).toBe(delivered.length);
			expect([...delivered].sort()).toEqual(uuids(list));
			expect(db.uniqueViolations).toBeGreaterThanOrEqual(0);
		}
	}, 60_000);

	it('the lock: never two holders at once; a crashed holder\'s lock is taken over after its lease', async () => {
		const db = new ProcessedDb(3);
		const c = clock();
		let holders = 0;
		let most = 0;
		await Promise.all(
			Array.from({ length: 5 }, async () => {
				const e = env(db, c);
				await acquireLock(e);
				holders++;
				most = Math.max(most, holders);
				await new Promise((r) => setTimeout(r, 20));
				holders--;
				await releaseLock(e);
			}),
		);
		expect(most).toBe(1);
		// A holder that crashed: its row stays.
		const crashed = env(db, c);
		await acquireLock(crashed);
		const waiting = env(db, c);
		await expect(acquireLock(waiting, 200)).rejects.toThrow(/too long/);
		await acquireLock(waiting, 10_000);
		await releaseLock(waiting);
	}, 30_000);
});
