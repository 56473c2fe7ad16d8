/**
 * Issue 11, bounded runs, in a real n8n 2.41.1 (package installed the way the community panel
 * does): a PBX backlog of 50,000 calls, "Only Calls Not Yet Synced" with Max Calls per Run 5,000
 * → Mark as Synced. Ten runs drain it, each call exactly once, oldest first; the eleventh returns
 * nothing. Each run is its own `n8n execute` process; its peak RSS (process.resourceUsage().maxRSS,
 * written at exit by scripts/bench-usage.cjs) and duration are printed.
 *
 * Asserted: the sync state stays bounded (the workflow-scope processed-items row, read from n8n's
 * database after each run, holds at most 2 × Max Calls per Run keys: old hours are sealed and
 * their done keys pruned), and peak RSS does not grow with the calls already synced (no run's
 * peak above the median of runs 1-3 + 150 MB). Each run's "Call sync:" debug line (calls read,
 * synced already, hours sealed, done keys pruned, store calls) is printed. Measured (2 cores,
 * load 6-11): before sealing (one done and one claim key per call ever synced, the whole row
 * rewritten on every store call) peak RSS 700, 670, 665, 671, 742, 859, 720, 1024, 1029, 711,
 * 707 MB and run time 26 s → 391 s; after it 643, 697, 664, 675, 698, 673, 684, 674, 677, 762,
 * 461 MB, 100-180 s a run at load 11; a quieter second run 646-701 MB and 27-37 s a run, flat
 * (91 store calls, row 5,000-5,611 keys, ~140 KB). Slow (6-25 min), so it runs only with
 * SYNC_BACKLOG=1.
 * A run's 5,000 rows make `n8n execute --rawOutput` print more than it flushes before exiting, so
 * the workflow ends by posting the call_uuids that reached Mark as Synced (aggregated into one
 * item) to a sink here: a run that failed before the end posts nothing.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { DEMO_SECRETS } from '../../scripts/demo';
import { useFakePbx } from '../support/pbx';
import { Sink, useSink } from '../support/sink';
import { spawnSync } from 'node:child_process';

import type { WorkflowNode } from './harness';
import { useN8n } from './instance';
import { chain, postJson } from './workflows';

const PKG = 'n8n-nodes-crm-pbx';
const ID = 'syncBacklog00001';
const TOTAL = 50_000;
const PER_RUN = 5_000;
const DAY = 86_400_000;

/** Each POST's call_uuids, in order. */
const posts: string[][] = [];
class UuidSink extends Sink {
	protected receive(_path: string, body: string): [number, unknown] {
		posts.push((JSON.parse(body) as { uuids: string[] }).uuids);
		return [200, { ok: true }];
	}
}
const usageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'backlog-usage-'));
// Declared first, so it runs last (afterAll hooks run in reverse order): after n8n is disposed.
afterAll(() => {
	fs.rmSync(usageDir, { recursive: true, force: true });
});

/** Peak RSS (MB) of the n8n processes that exited since the last call (files removed). */
function peakRssMb(): number {
	let peak = 0;
	for (const file of fs.readdirSync(usageDir)) {
		const usage = JSON.parse(fs.readFileSync(path.join(usageDir, file), 'utf8')) as { maxRssKb: number };
		peak = Math.max(peak, usage.maxRssKb / 1024);
		fs.rmSync(path.join(usageDir, file));
	}
	return peak;
}

/** Keys and bytes of the workflow's sync-state row (processed_data, context '' = workflow scope). */
function stateRow(): { keys: number; bytes: number } {
	const script = `const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync(process.argv[1], { readOnly: true });
const row = db.prepare("SELECT value FROM processed_data WHERE workflowId = ? AND context = ''").get(process.argv[2]);
const value = row ? String(row.value) : '';
process.stdout.write(JSON.stringify({ keys: value ? JSON.parse(value).data.length : 0, bytes: value.length }));`;
	const r = spawnSync(n8n.runtime.node, ['-e', script, path.join(n8n.n8nFolder, 'database.sqlite'), ID], { encoding: 'utf8' });
	if (r.status !== 0) throw new Error(`reading processed_data failed: ${r.stderr}`);
	return JSON.parse(r.stdout) as { keys: number; bytes: number };
}

/** The sync's debug line of the last run (n8n's log files of the harness, newest entry). */
function syncLine(): string {
	const dir = path.join(n8n.userFolder, 'logs');
	const files = fs.readdirSync(dir).filter((f) => f.endsWith('.log')).sort();
	for (const file of files.reverse()) {
		const hits = fs.readFileSync(path.join(dir, file), 'utf8').match(/Call sync: [^"\\]*/g);
		if (hits) return hits.at(-1)!;
	}
	return '(no "Call sync:" log line found)';
}

const sink = useSink(new UuidSink());
const pbx = useFakePbx({ publicApps: [], trustedApps: [{ ...DEMO_SECRETS.pbxTrustedApp, name: 'backlog' }], callCount: 0, statsDelayMs: 0 }, { fresh: false });
beforeAll(() => {
	// 50,000 calls over the last 10 days, up to 20 minutes long.
	const t0 = Date.now() - 10 * DAY;
	pbx.addCallsAt(Array.from({ length: TOTAL }, (_, i) => ({ startMs: t0 + Math.floor((i * (10 * DAY - 3_600_000)) / TOTAL), durationSec: (i * 7919) % 1200 })));
});
const credential = { id: 'credBacklog00001', name: 'PBX backlog' };
const node = (name: string, parameters: Record<string, unknown>, x: number): WorkflowNode => ({
	name,
	type: `${PKG}.virtualPbx`,
	typeVersion: 1,
	position: [x, 0],
	parameters: { authentication: 'trustedApp', resource: 'callHistory', ...parameters },
	credentials: { virtualPbxTrustedAppApi: credential },
});
const n8n = useN8n({
	env: { NODE_OPTIONS: `--require ${path.resolve(__dirname, '../../scripts/bench-usage.cjs')}`, BENCH_USAGE_DIR: usageDir },
	credentials: () => [
		{ ...credential, type: 'virtualPbxTrustedAppApi', data: { host: pbx.url, appId: DEMO_SECRETS.pbxTrustedApp.clientId, appSecret: DEMO_SECRETS.pbxTrustedApp.clientSecret } },
	],
	workflows: () => [
		{
			id: ID,
			name: 'Backlog sync',
			nodes: [
				{ name: 'Manual', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
				node('Get Calls', { operation: 'getMany', syncMode: true, start: new Date(Date.now() - 11 * DAY).toISOString(), maxCalls: PER_RUN, skipInternal: false, simplify: true }, 200),
				node('Mark as Synced', { operation: 'markSynced' }, 400),
				{
					name: 'All UUIDs',
					type: 'n8n-nodes-base.aggregate',
					typeVersion: 1,
					position: [600, 0],
					parameters: { aggregate: 'aggregateIndividualFields', fieldsToAggregate: { fieldToAggregate: [{ fieldToAggregate: 'call_uuid', renameField: false }] }, options: {} },
				},
				postJson('Report', `${sink.url}/sink`, '={{ JSON.stringify({ uuids: $json.call_uuid }) }}', [800, 0]),
			],
			connections: chain('Manual', 'Get Calls', 'Mark as Synced', 'All UUIDs', 'Report'),
		},
	],
	timeoutMs: 900_000,
});
beforeAll(() => {
	peakRssMb(); // the import processes
});

it.runIf(process.env.SYNC_BACKLOG === '1')('a backlog of 50,000 calls, Max Calls per Run 5,000 → 10 runs of 5,000, each call once, oldest first; then none; the sync state stays bounded and peak n8n RSS does not grow', async () => {
	const all = pbx.allCalls();
	expect(all).toHaveLength(TOTAL);
	const startOf = new Map(all.map((c) => [c.call_uuid, c.start_time_gmt]));
	const seen = new Map<string, number>();
	const order: string[] = [];
	const rss: number[] = [];
	const rows: number[] = [];
	let lastStart = '';
	for (let run = 1; run <= 11; run++) {
		const before = posts.length;
		const result = await n8n.execute(ID, { timeoutMs: 600_000 });
		expect(result.exitCode === 0 || result.crashedAtExit, `${result.stdout.slice(-2000)}\n${result.stderr.slice(-2000)}`).toBe(true);
		const uuids = posts.length > before ? posts.at(-1)! : [];
		expect(posts.length - before).toBe(run <= 10 ? 1 : 0);
		const calls = uuids.map((u) => ({ call_uuid: u, start_time_gmt: startOf.get(u)! }));
		rss.push(peakRssMb());
		const row = stateRow();
		rows.push(row.keys);
		process.stdout.write(
			`[backlog] run ${run}: ${calls.length} calls, peak n8n RSS ${rss.at(-1)!.toFixed(0)} MB, ${Math.round((result.durationMs ?? 0) / 1000)} s; state row ${row.keys} keys (${Math.round(row.bytes / 1024)} KB); ${syncLine()}\n`,
		);
		expect(calls).toHaveLength(run <= 10 ? PER_RUN : 0);
		if (run === 11) expect(result.ok && result.nodes['Get Calls']?.items.length === 0, JSON.stringify(result.error)).toBe(true);
		for (const c of calls) {
			seen.set(c.call_uuid, (seen.get(c.call_uuid) ?? 0) + 1);
			expect(c.start_time_gmt !== undefined && c.start_time_gmt >= lastStart, `${c.call_uuid} ${c.start_time_gmt} after ${lastStart}`).toBe(true);
			lastStart = c.start_time_gmt;
			order.push(c.call_uuid);
		}
	}
	expect(seen.size).toBe(TOTAL);
	expect([...seen.values()].filter((n) => n !== 1)).toEqual([]);
	// Oldest first across runs: the order delivered is the PBX's order by start time.
	const byStart = [...all].sort((a, b) => (a.start_time_gmt < b.start_time_gmt ? -1 : a.start_time_gmt > b.start_time_gmt ? 1 : 0));
	expect(order.map((u) => startOf.get(u))).toEqual(byStart.map((c) => c.start_time_gmt));
	expect(rss.every((mb) => mb > 50)).toBe(true); // measured for every run
	process.stdout.write(`[backlog] peak n8n RSS per run (MB): ${rss.map((mb) => mb.toFixed(0)).join(', ')}\n`);
	process.stdout.write(`[backlog] sync-state keys after each run: ${rows.join(', ')}\n`);
	// Bounded by what later runs still need, not by the calls synced so far (50,000 by the end).
	expect(Math.max(...rows)).toBeLessThanOrEqual(2 * PER_RUN);
	// Memory does not grow with the backlog drained: no run above the median of runs 1-3 + 150 MB
	// (measured after sealing: 643-762 MB, median 664; before it: 700 → 1029 MB, median 670).
	const early = [...rss.slice(0, 3)].sort((a, b) => a - b)[1];
	expect(Math.max(...rss) - early).toBeLessThanOrEqual(150);
}, 3_600_000);
