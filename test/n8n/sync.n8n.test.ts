/**
 * Issue 11 in a real n8n 2.41.1 (package installed the way the community panel does), against the
 * fake PBX on 127.0.0.1: Get Many "Only Calls Not Yet Synced" → a write step (HTTP Request to a
 * sink standing for the CRM, which counts writes per call and can be made to fail) → Mark as
 * Synced. Each scenario has its own fake PBX, credential and workflow (its own sync state).
 */
import { afterAll, describe, expect, it } from 'vitest';

import { DEMO_SECRETS } from '../../scripts/demo';
import { startFakePbx, type FakePbx, type PbxCall } from '../fakes/pbx';
import { CRM_UNAVAILABLE, Sink, useSink } from '../support/sink';
import { parseRun, type ExecutionResult, type WorkflowInput, type WorkflowNode } from './harness';
import { useN8n } from './instance';
import { chain, postJson } from './workflows';

const PKG = 'n8n-nodes-crm-pbx';
const HOUR = 3_600_000;

/** The CRM stand-in: POST /sink/<workflow> {call_uuid} → counted; `failing` → 500. */
class WorkflowSink extends Sink {
	readonly writes = new Map<string, Map<string, number>>();
	failing = new Set<string>();
	attempts = 0;
	protected receive(path: string, body: string): [number, unknown] {
		const wf = path.split('/')[2] ?? '';
		this.attempts++;
		if (this.failing.has(wf)) return CRM_UNAVAILABLE;
		const { call_uuid: uuid } = JSON.parse(body) as { call_uuid: string };
		const counts = this.writes.get(wf) ?? new Map<string, number>();
		counts.set(uuid, (counts.get(uuid) ?? 0) + 1);
		this.writes.set(wf, counts);
		return [200, { call_uuid: uuid, written: true }];
	}
	of(wf: string): Map<string, number> {
		return this.writes.get(wf) ?? new Map();
	}
}

interface Scenario {
	id: string;
	pbx: FakePbx;
	/** Fake time offset (ms) added to the real clock for what the PBX lists. */
	offset: { ms: number };
	credential: { id: string; name: string };
	params: Record<string, unknown>;
}

const sink = useSink(new WorkflowSink());
const scenarios: Record<string, Scenario> = {};

const external = (calls: PbxCall[]): string[] => calls.filter((c) => c.flow !== 'internal').map((c) => c.call_uuid).sort();

function syncWorkflow(s: Scenario, first: 'sync' | 'reset' = 'sync'): WorkflowInput {
	const credentials = { virtualPbxTrustedAppApi: s.credential };
	const pbx = (name: string, parameters: Record<string, unknown>, position: [number, number]): WorkflowNode => ({
		name,
		type: `${PKG}.virtualPbx`,
		typeVersion: 1,
		position,
		parameters: { authentication: 'trustedApp', resource: 'callHistory', ...parameters },
		credentials,
	});
	const manual: WorkflowNode = { name: 'Manual', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} };
	if (first === 'reset') {
		return {
			id: s.id,
			name: `Sync ${s.id}`,
			nodes: [manual, pbx('Reset', { operation: 'resetSync' }, [200, 0])],
			connections: chain('Manual', 'Reset'),
		};
	}
	return {
		id: s.id,
		name: `Sync ${s.id}`,
		nodes: [
			manual,
			pbx('Get Calls', { operation: 'getMany', syncMode: true, leaseMinutes: 0.1, ...s.params }, [200, 0]),
			postJson('Write to CRM', `${sink.url}/sink/${s.id}`, '={{ JSON.stringify({ call_uuid: $json.call_uuid }) }}', [400, 0]),
			pbx('Mark as Synced', { operation: 'markSynced' }, [600, 0]),
		],
		connections: chain('Manual', 'Get Calls', 'Write to CRM', 'Mark as Synced'),
	};
}

async function scenario(key: string, params: Record<string, unknown>, pbxOptions: Parameters<typeof startFakePbx>[0] extends infer O ? Partial<O> : never): Promise<void> {
	const offset = { ms: 0 };
	const pbx = await startFakePbx({
		publicApps: [],
		trustedApps: [{ ...DEMO_SECRETS.pbxTrustedApp, name: 'sync test' }],
		callCount: 0,
		statsDelayMs: 0,
		now: () => Date.now() + offset.ms,
		...pbxOptions,
	});
	const id = `syncTest${key.padEnd(8, '0')}`.slice(0, 16);
	scenarios[key] = { id, pbx, offset, credential: { id: `cred${id}`.slice(0, 16), name: `PBX ${key}` }, params };
}

const delivered = (r: ExecutionResult): string[] => (r.nodes['Get Calls']?.items ?? []).map((i) => String(i.json.call_uuid));

async function run(s: Scenario): Promise<ExecutionResult> {
	return await n8n.execute(s.id, { timeoutMs: 180_000 });
}

// Declared before useN8n: runs after n8n is disposed (afterAll hooks run in reverse order).
afterAll(async () => {
	await Promise.all(Object.values(scenarios).map((s) => s.pbx.close()));
});
const n8n = useN8n({
	// The scenarios (each its own fake PBX) start once n8n is installed; their start times count from then.
	prepare: async () => {
		const start = (msAgo: number) => new Date(Date.now() - msAgo).toISOString();
		await scenario('editor', { start: start(2 * HOUR) }, {});
		await scenario('failure', { start: start(2 * HOUR) }, {});
		await scenario('latelist', { start: start(11 * HOUR) }, { listAtHangup: true });
		await scenario('together', { start: start(2 * HOUR) }, { statsDelayMs: 30 });
		await scenario('paging', { start: start(3 * HOUR) }, { perPageCap: 100, maxPerPage: 200 });
	},
	credentials: () =>
		Object.values(scenarios).map((s) => ({
			...s.credential,
			type: 'virtualPbxTrustedAppApi',
			data: { host: s.pbx.url, appId: DEMO_SECRETS.pbxTrustedApp.clientId, appSecret: DEMO_SECRETS.pbxTrustedApp.clientSecret },
		})),
	workflows: () => Object.values(scenarios).map((s) => syncWorkflow(s)),
	timeoutMs: 600_000,
});

function addCalls(s: Scenario, n: number, fromMsAgo: number, maxDurationSec = 600): PbxCall[] {
	const now = Date.now() + s.offset.ms;
	return s.pbx.addCallsAt(Array.from({ length: n }, (_, i) => ({ startMs: now - fromMsAgo + Math.floor(((i + 0.5) * fromMsAgo) / (n + 1)) - 60_000, durationSec: (i * 7919) % maxDurationSec })));
}

describe('call sync in n8n 2.41.1', () => {
	it('editor path (POST /rest/workflows/:id/run, the Execute workflow button): run, add 7 calls, run → exactly those 7', async () => {
		const s = scenarios.editor!;
		const first = addCalls(s, 20, HOUR);
		await n8n.startServer();
		try {
			const execute = async (): Promise<ReturnType<typeof parseRun>> => {
				const res = await n8n.rest('POST', `/rest/workflows/${s.id}/run`, { triggerToStartFrom: { name: 'Manual' } });
				expect(res.status, res.text).toBe(200);
				const executionId = res.body.data.executionId as string;
				for (let i = 0; i < 300; i++) {
					const got = await n8n.apiRequest('GET', `/executions/${executionId}?includeData=true`);
					if (got.status === 200 && !['new', 'running', 'waiting'].includes(got.body.status)) {
						const parsed = parseRun({ data: got.body.data, status: got.body.status });
						expect(got.body.mode).toBe('manual');
						return parsed;
					}
					await new Promise((r) => setTimeout(r, 300));
				}
				throw new Error('execution did not finish');
			};
			const r1 = await execute();
			expect(r1.error).toBeUndefined();
			expect(r1.nodes['Get Calls']!.items.map((i) => String(i.json.call_uuid)).sort()).toEqual(external(first));
			const seven: PbxCall[] = [];
			while (seven.length < 7) seven.push(...addCalls(s, 1, 30_000).filter((c) => c.flow !== 'internal'));
			const r2 = await execute();
			expect(r2.nodes['Get Calls']!.items.map((i) => String(i.json.call_uuid)).sort()).toEqual(external(seven));
			expect(r2.nodes['Mark as Synced']!.items).toHaveLength(7);
			const r3 = await execute();
			expect(r3.nodes['Get Calls']?.items ?? []).toHaveLength(0);
		} finally {
			await n8n.stopServer();
		}
		expect([...sink.of(s.id).values()].every((n) => n === 1)).toBe(true);
		expect([...sink.of(s.id).keys()].sort()).toEqual([...external(first), ...external(s.pbx.allCalls().slice(20))].sort());
	}, 600_000);

	it('the CRM write fails on run 2 → run 3 (after "Retry Unsynced Calls After") delivers run 2\'s calls again; then never again; Reset Sync State → the next run starts again from Start', async () => {
		const s = scenarios.failure!;
		const batch1 = addCalls(s, 12, HOUR);
		const r1 = await run(s);
		expect(r1.ok, JSON.stringify(r1.error)).toBe(true);
		expect(delivered(r1).sort()).toEqual(external(batch1));
		const batch2 = addCalls(s, 12, 10 * 60_000);
		sink.failing.add(s.id);
		const r2 = await run(s);
		sink.failing.delete(s.id);
		expect(r2.ok).toBe(false);
		expect(r2.error?.node ?? r2.lastNodeExecuted).toBe('Write to CRM');
		expect(delivered(r2).sort()).toEqual(external(batch2));
		// The claims of run 2 live for 6 to 12 s (lease 0.1 min): wait them out.
		await new Promise((r) => setTimeout(r, 13_000));
		const r3 = await run(s);
		expect(r3.ok, JSON.stringify(r3.error)).toBe(true);
		expect(delivered(r3).sort()).toEqual(external(batch2));
		await new Promise((r) => setTimeout(r, 13_000));
		const r4 = await run(s);
		expect(delivered(r4)).toEqual([]);
		const writes = sink.of(s.id);
		expect([...writes.keys()].sort()).toEqual([...external(batch1), ...external(batch2)].sort());
		expect([...writes.values()].every((n) => n === 1)).toBe(true);

		// Reset Sync State (run once in the same workflow) → the next run starts again from Start.
		await n8n.importWorkflow(syncWorkflow(s, 'reset'));
		const reset = await run(s);
		expect(reset.ok, JSON.stringify(reset.error)).toBe(true);
		expect(reset.nodes.Reset!.items[0]!.json).toMatchObject({ reset: true });
		await n8n.importWorkflow(syncWorkflow(s));
		const again = await run(s);
		expect(again.ok, JSON.stringify(again.error)).toBe(true);
		expect(delivered(again).sort()).toEqual([...external(batch1), ...external(batch2)].sort());
	}, 900_000);

	it('PBX lists calls at hang-up, calls up to 2 h, a run every 2 h of fake time over 10 h → every call written exactly once', async () => {
		// (The same with a run every 15 min over 8 h: test/nodes/VirtualPbx/sync/simulation.test.ts,
		// through the node's code against this fake; here each n8n execute boots n8n, so fewer runs.)
		const s = scenarios.latelist!;
		const t0 = Date.now() - 10 * HOUR;
		const specs = Array.from({ length: 60 }, (_, i) => ({ startMs: t0 + Math.floor((i * 8 * HOUR) / 60) + ((i * 37) % 600) * 1000, durationSec: i % 4 === 0 ? (i * 997) % 7200 : (i * 131) % 900 }));
		const calls = s.pbx.addCallsAt(specs);
		const runs: number[] = [];
		for (let t = 2 * HOUR; t <= 10 * HOUR; t += 2 * HOUR) {
			s.offset.ms = t0 + t - Date.now();
			const r = await run(s);
			expect(r.ok, JSON.stringify(r.error)).toBe(true);
			runs.push(delivered(r).length);
		}
		s.offset.ms = 0;
		const writes = sink.of(s.id);
		expect([...writes.keys()].sort()).toEqual(external(calls));
		expect([...writes.values()].filter((n) => n !== 1)).toEqual([]);
		expect(runs.reduce((a, b) => a + b, 0)).toBe(external(calls).length);
		// Some external call was listed only after a newer one had been delivered (what a watermark lost).
		expect(calls.some((c) => calls.some((d) => d.start_time_gmt > c.start_time_gmt && d.end_time_gmt < c.end_time_gmt && c.flow !== 'internal'))).toBe(true);
	}, 1_800_000);

	it('two executions of the same workflow started together → each call written once, none lost', async () => {
		const s = scenarios.together!;
		const calls = addCalls(s, 50, HOUR);
		const [a, b] = await Promise.all([run(s), run(s)]);
		expect(a.ok, JSON.stringify(a.error)).toBe(true);
		expect(b.ok, JSON.stringify(b.error)).toBe(true);
		const both = [...delivered(a), ...delivered(b)];
		expect(both.sort()).toEqual(external(calls));
		const writes = sink.of(s.id);
		expect([...writes.keys()].sort()).toEqual(external(calls));
		expect([...writes.values()].every((n) => n === 1)).toBe(true);
	}, 600_000);

	it('a PBX capping pages below what was asked and refusing large pages, calls listed while a run pages → none lost, none repeated', async () => {
		const s = scenarios.paging!;
		const calls = addCalls(s, 250, 2 * HOUR);
		let inserted: PbxCall[] = [];
		s.pbx.listing.beforeListPage = (n) => {
			// After page 2: 10 calls that start among the calls already read (page numbers would shift).
			if (inserted.length === 0 && n >= 4) inserted = addCalls(s, 10, 2 * HOUR);
		};
		const r1 = await run(s);
		s.pbx.listing.beforeListPage = undefined;
		expect(r1.ok, JSON.stringify(r1.error)).toBe(true);
		expect(inserted).toHaveLength(10);
		expect(new Set(delivered(r1)).size).toBe(delivered(r1).length);
		const r2 = await run(s);
		expect(r2.ok, JSON.stringify(r2.error)).toBe(true);
		const writes = sink.of(s.id);
		expect([...writes.keys()].sort()).toEqual(external([...calls, ...inserted]));
		expect([...writes.values()].every((n) => n === 1)).toBe(true);
		// Internal calls: no write, no error row.
		expect(r1.nodes['Get Calls']!.items.every((i) => i.json.flow !== 'internal' && i.json.error === undefined)).toBe(true);
	}, 600_000);
});
