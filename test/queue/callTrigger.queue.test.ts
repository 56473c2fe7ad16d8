/**
 * Issue 20 in queue mode: the shipped Virtual PBX Call Trigger workflow (Poll Times: a custom cron
 * every 10 s → HTTP Request writing each call to a sink on 127.0.0.1) active on the queue cluster
 * (test/queue/cluster.ts: Redis, PostgreSQL, n8n main + 2 workers), against the fake PBX listing
 * calls only at hangup (every call is listed late).
 *
 * What n8n 2.41.1 does, and what this checks on the real processes: the trigger (its crons) runs
 * in main only; each emit is a job that a worker runs; main learns the outcome from the worker's
 * `job-finished` message and resolves the trigger's done promise with the job's status
 * (workflow-runner.js `enqueueExecution` → `activeExecutions.finalizeExecution`), so:
 * - each ended call reaches the sink exactly once, late-listed, in-progress and long calls included;
 * - an execution slower than two polls (the sink answers its writes after 25 s) keeps its calls:
 *   main does not emit them again while the worker still runs it;
 * - a failed execution (the sink answers 500) reports `error`: its calls come again at a later
 *   poll and then reach the sink; none lost;
 * - the polls ran in main (the trigger's debug lines are in main's log, none in a worker's), every
 *   trigger execution ran on a worker; the trigger's state is in PostgreSQL (saved by main).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

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
import { note, packPackage } from '../n8n/harness';
import { id16 } from '../n8n/workflows';
import { ensureQueuePackages, startQueueCluster, type QueueCluster } from './cluster';

const WF = { id: id16('qcalltrg', 1), name: 'PBX call trigger (queue mode)' };
const CRED = { id: id16('qcalltrgc', 1), name: 'PBX trusted app (queue call trigger)' };
/** How long the sink holds the writes of the slow execution: longer than two polls. */
const SLOW_MS = 25_000;
/** The trigger's debug line of every poll (callTrigger/poll.ts). */
const POLL_LINE = /Virtual PBX Call Trigger: read \d+ calls/g;

const { sink, pbx } = useCallTriggerFakes('queue call trigger test');
let cluster: QueueCluster;
const timings: string[] = [];

const executions = async () => await executionsOf(cluster.n8n, WF.id);
const waitFor = async <T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs?: number) => await waitUntil(timings, what, check, timeoutMs);
const uuids = (calls: PbxCall[]) => calls.map((c) => c.call_uuid);
const allWritten = (calls: PbxCall[]) => (calls.every((c) => sink.writes.has(c.call_uuid)) ? true : undefined);

/** The console logs (`.stdout`) of these processes: each line once (the `.log` files repeat them). */
function readLogs(prefixes: string[]): string {
	return prefixes
		.map((prefix) => `${prefix}.stdout`)
		.filter((file) => fs.existsSync(file))
		.map((file) => fs.readFileSync(file, 'utf8'))
		.join('\n');
}

/** `n8n start`'s logs (the harness names them NNN-start.*). */
function mainLog(): string {
	const dir = path.join(cluster.n8n.userFolder, 'logs');
	return readLogs(fs.readdirSync(dir).filter((f) => /^\d+-start\.stdout$/.test(f)).map((f) => path.join(dir, f.replace(/\.stdout$/, ''))));
}

/** The trigger node's static data as main saved it in PostgreSQL. */
function storedState(): Record<string, unknown> {
	const psql = path.join(ensureQueuePackages().pgBin, 'psql');
	const sql = `select "staticData" from workflow_entity where id = '${WF.id}'`;
	const r = spawnSync(psql, ['-h', '127.0.0.1', '-p', String(cluster.postgresPort), '-U', 'postgres', '-d', 'n8n', '-tAc', sql], { cwd: '/', encoding: 'utf8' });
	expect(r.status, r.stderr).toBe(0);
	const data = JSON.parse(r.stdout.trim() || '{}') as Record<string, Record<string, unknown>>;
	return data[`node:${TRIGGER_NAME}`] ?? {};
}

beforeAll(async () => {
	const started = Date.now();
	const tarball = await packPackage();
	cluster = await startQueueCluster({ tarball, workers: 2, concurrency: 10 });
	await cluster.n8n.importCredentials([pbxCredential(CRED, pbx)]);
	await cluster.n8n.importWorkflow(callTriggerWorkflow(WF, CRED, sink.url));
	timings.push(`set-up (Redis, PostgreSQL, pack, install, main, 2 workers, imports): ${Date.now() - started} ms`);
}, 1_200_000);

afterAll(async () => {
	note(`queue call trigger timings:\n  ${timings.join('\n  ')}`);
	await cluster?.stop();
});

describe('Virtual PBX Call Trigger in queue mode (main + 2 workers, PostgreSQL)', () => {
	it('polls in main, executions on workers: each ended call reaches the sink once; a slow execution keeps its calls; a failed one\'s calls come again; none lost', async () => {
		await activateAndWait(cluster.n8n, timings, WF.id);
		// The first poll sets the starting point: the fake's 10 calls ended before it, none is new.
		await waitFor('first poll', () => (pbx.listing.requests > 0 ? true : undefined), 60_000);

		// Wave 1: calls in progress, listed only at hangup; one long call (~50 s).
		const at = Date.now();
		const s = (sec: number) => at + sec * 1000;
		const wave1 = pbx.addCallsAt([
			{ startMs: s(0), durationSec: 3 },
			{ startMs: s(1), durationSec: 15 },
			{ startMs: s(2), durationSec: 50 },
			{ startMs: s(3), durationSec: 25 },
		]);
		const long1 = wave1[2]!;
		const short = wave1.filter((c) => c !== long1);
		await waitFor('wave 1 (short calls) written', () => allWritten(short));
		expect(sink.writes.has(long1.call_uuid)).toBe(false);

		// Wave 2: ended calls whose writes the sink answers only after 25 s: their execution runs on
		// a worker over two or more polls of main.
		const wave2 = pbx.addCallsAt([
			{ startMs: Date.now() - 3000, durationSec: 1 },
			{ startMs: Date.now() - 2000, durationSec: 1 },
		]);
		const slow = new Set(uuids(wave2));
		sink.delayMs = (uuid) => (slow.has(uuid) ? SLOW_MS : 0);
		await waitFor('wave 2 writes arrived (slow execution running)', () => (wave2.some((c) => sink.pending.has(c.call_uuid)) ? true : undefined));
		const slowStarted = Date.now();
		const pollsBefore = (mainLog().match(POLL_LINE) ?? []).length;
		await waitFor('wave 2 answered', () => (allWritten(wave2) && wave2.every((c) => !sink.pending.has(c.call_uuid)) ? true : undefined), 120_000);
		const pollsDuringSlow = (mainLog().match(POLL_LINE) ?? []).length - pollsBefore;
		timings.push(`slow execution: ${Date.now() - slowStarted} ms on the worker, ${pollsDuringSlow} polls of main meanwhile`);
		expect(pollsDuringSlow).toBeGreaterThanOrEqual(2);
		sink.delayMs = () => 0;

		// Wave 3: the CRM fails; the execution with these calls fails on its worker, its calls come again.
		sink.failing = true;
		const wave3 = pbx.addCallsAt([
			{ startMs: Date.now() - 2000, durationSec: 1 },
			{ startMs: Date.now() - 1000, durationSec: 0 },
		]);
		const failed = await waitFor('a failed execution', async () =>
			(await executions()).find((e) => e.status === 'error' && uuids(wave3).every((u) => emittedBy(e).includes(u))),
		);
		sink.failing = false;
		await waitFor('wave 3 written after the failure', () => allWritten(wave3));
		await waitFor('the long call written once it ended', () => allWritten([long1]));

		// Wave 4: calls over three polls, some ended, some still in progress when added.
		const wave4: PbxCall[] = [];
		for (let i = 0; i < 3; i++) {
			wave4.push(
				...pbx.addCallsAt([
					{ startMs: Date.now() - 4000, durationSec: 2 },
					{ startMs: Date.now() - 5000, durationSec: 12 },
				]),
			);
			await new Promise((r) => setTimeout(r, 10_000));
		}
		await waitFor('wave 4 written', () => allWritten(wave4));

		// Quiet polls: nothing comes twice.
		const before = (await executions()).length;
		await new Promise((r) => setTimeout(r, 21_000));
		const all = await executions();
		expect(all.length).toBe(before);

		const ours = [...wave1, ...wave2, ...wave3, ...wave4];
		expect([...sink.writes.keys()].sort()).toEqual(uuids(ours).sort());
		for (const [uuid, count] of sink.writes) expect(count, uuid).toBe(1);
		const trigger = all.filter((e) => e.mode === 'trigger');
		expect(trigger.length).toBe(all.length);
		const ok = trigger.filter((e) => e.status === 'success');
		// Every call in exactly one successful execution: the slow one's calls in none but theirs, the
		// failed execution's calls again in a later one.
		expect(ok.flatMap(emittedBy).sort()).toEqual(uuids(ours).sort());
		// The failed execution's calls come again one per execution (failure isolation), each later.
		for (const u of uuids(wave3)) {
			const again = ok.find((e) => emittedBy(e).includes(u));
			expect(Number(again?.id), u).toBeGreaterThan(Number(failed.id));
		}
		expect(trigger.filter((e) => e.status !== 'success' && e.status !== 'error').map((e) => `${e.id}: ${e.status}`)).toEqual([]);

		// Where things ran: polls in main only; every execution on a worker.
		const byWorker = cluster.executionsByWorker();
		const perWorker = cluster.workers.map(() => 0);
		for (const e of trigger) {
			const worker = byWorker.get(e.id);
			expect(worker, `execution ${e.id} was started by no worker`).toBeDefined();
			perWorker[worker!]++;
		}
		const mainPolls = (mainLog().match(POLL_LINE) ?? []).length;
		const workerPolls = (readLogs(cluster.workers.map((w) => w.logPrefix)).match(POLL_LINE) ?? []).length;
		expect(mainPolls).toBeGreaterThan(10);
		expect(workerPolls).toBe(0);

		// The trigger's state, as main saved it (at its last emit) in PostgreSQL.
		const state = storedState();
		expect(typeof state.syncSince).toBe('string');
		expect(typeof state.syncRevision).toBe('number');
		note(
			`queue call trigger: ${trigger.length} executions (${ok.length} success, ${trigger.length - ok.length} failed), per worker ${perWorker.join('/')}; ` +
				`${mainPolls} polls in main, ${workerPolls} in workers; ${sink.refused} writes refused; ${pbx.listing.requests} call-history requests; ` +
				`stored state revision ${String(state.syncRevision)}, ${Object.keys((state.syncKeys as object | undefined) ?? {}).length} keys`,
		);
		for (const n of perWorker) expect(n).toBeGreaterThan(0);
	}, 600_000);
});
