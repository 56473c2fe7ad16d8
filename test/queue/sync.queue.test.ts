/**
 * Issue 11's overlapping-run case on the queue-mode cluster (issue 12): n8n main + 2 workers,
 * PostgreSQL, Redis, the package installed the panel way. One webhook workflow: Get Many "Only
 * Calls Not Yet Synced" → a write step (HTTP Request to a sink standing for the CRM, counting
 * writes per call) → Mark as Synced. Several executions of that workflow start at once and run
 * on both workers; the sync state is n8n's processed-items store in PostgreSQL. Proves: each
 * external call written exactly once, none lost, both workers ran executions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { PbxCall } from '../fakes/pbx';
import { usePbxFixture } from '../support/pbx';
import { Sink, useSink } from '../support/sink';
import { note, packPackage, type WorkflowInput } from '../n8n/harness';
import { chain, nodeType, postJson } from '../n8n/workflows';
import { startQueueCluster, type QueueCluster } from './cluster';

const WORKFLOW_ID = 'qSyncOverlap0001';
const WEBHOOK_PATH = 'queue-sync-overlap';
const CREDENTIAL = { id: 'qSyncPbxCred0001', name: 'PBX trusted app (queue sync)' };
const HOUR = 3_600_000;
/** Executions started at once in each wave. */
const AT_ONCE = 4;

/** The CRM stand-in: POST {call_uuid} → counted per call. */
class CallSink extends Sink {
	readonly writes = new Map<string, number>();
	protected receive(_path: string, body: string): [number, unknown] {
		const { call_uuid: uuid } = JSON.parse(body) as { call_uuid: string };
		this.writes.set(uuid, (this.writes.get(uuid) ?? 0) + 1);
		return [200, { call_uuid: uuid, written: true }];
	}
}

const sink = useSink(new CallSink());
const pbx = usePbxFixture({ callCount: 0, statsDelayMs: 30 }, { fresh: false });
let cluster: QueueCluster;

function syncWorkflow(): WorkflowInput {
	const credentials = { virtualPbxTrustedAppApi: CREDENTIAL };
	return {
		id: WORKFLOW_ID,
		name: 'Queue-mode call sync',
		nodes: [
			{
				name: 'Webhook',
				type: 'n8n-nodes-base.webhook',
				typeVersion: 2,
				position: [0, 0],
				webhookId: '7c1d5c1e-4c39-4d55-9a49-1d0c6c0a9f01',
				parameters: { httpMethod: 'POST', path: WEBHOOK_PATH, responseMode: 'lastNode', responseData: 'allEntries', options: {} },
			},
			{
				name: 'Get Calls',
				type: nodeType('virtualPbx'),
				typeVersion: 1,
				position: [200, 0],
				credentials,
				parameters: {
					authentication: 'trustedApp',
					resource: 'callHistory',
					operation: 'getMany',
					syncMode: true,
					leaseMinutes: 10,
					start: new Date(Date.now() - 3 * HOUR).toISOString(),
				},
			},
			postJson('Write to CRM', `${sink.url}/write`, '={{ JSON.stringify({ call_uuid: $json.call_uuid }) }}', [400, 0]),
			{
				name: 'Mark as Synced',
				type: nodeType('virtualPbx'),
				typeVersion: 1,
				position: [600, 0],
				credentials,
				parameters: { authentication: 'trustedApp', resource: 'callHistory', operation: 'markSynced' },
			},
		],
		connections: chain('Webhook', 'Get Calls', 'Write to CRM', 'Mark as Synced'),
	};
}

function addExternalCalls(n: number, fromMsAgo: number): PbxCall[] {
	const now = Date.now();
	const added = pbx.fake.addCallsAt(
		Array.from({ length: n }, (_, i) => ({ startMs: now - fromMsAgo + Math.floor(((i + 0.5) * fromMsAgo) / (n + 1)) - 60_000, durationSec: 30 + i })),
	);
	return added.filter((c) => c.flow !== 'internal');
}

async function wave(label: string): Promise<void> {
	const before = new Set(cluster.executionsByWorker().keys());
	note(`${label}: ${AT_ONCE} executions of the sync workflow at once`);
	let answers = await cluster.fireWebhooks(WEBHOOK_PATH, AT_ONCE);
	// n8n may answer 404 for a moment after the activation call returned (webhook not registered
	// yet on main); such answers start nothing, so the wave is simply fired again.
	for (let i = 0; i < 30 && answers.every((a) => a.status === 404); i++) {
		await new Promise((r) => setTimeout(r, 2000));
		answers = await cluster.fireWebhooks(WEBHOOK_PATH, AT_ONCE);
	}
	const failed = answers.filter((a) => a.status !== 200).map((a) => `#${a.index}: HTTP ${a.status} ${a.text.slice(0, 300)}`);
	if (failed.length > 0) {
		// The webhook answer only says "Error in workflow": the node's error is in the workers' logs.
		const errors = cluster
			.logText()
			.split('\n')
			.filter((line) => /error|Error/.test(line) && /Get Calls|Mark as Synced|sync|Sync/.test(line))
			.slice(0, 20);
		failed.push(...errors.map((line) => `log: ${line.slice(0, 400)}`));
	}
	expect(failed, failed.join('\n')).toEqual([]);
	await new Promise((r) => setTimeout(r, 500));
	const workers = cluster.workers.map(() => 0);
	for (const [id, worker] of cluster.executionsByWorker()) if (!before.has(id)) workers[worker]++;
	note(`${label}: executions per worker ${workers.join('/')}; writes so far ${[...sink.writes.values()].reduce((a, b) => a + b, 0)}`);
}

beforeAll(async () => {
	const tarball = await packPackage();
	cluster = await startQueueCluster({ tarball, workers: 2, concurrency: 10 });
	await cluster.n8n.importCredentials([{ ...CREDENTIAL, type: 'virtualPbxTrustedAppApi', data: { ...pbx.credentials } }]);
	await cluster.n8n.importWorkflow([syncWorkflow()]);
	await cluster.activate(WORKFLOW_ID);
}, 1_200_000);

afterAll(async () => {
	await cluster?.stop();
});

describe('call sync in queue mode (2 workers, PostgreSQL)', () => {
	it('executions started together on both workers write each call once and lose none', async () => {
		const expected = new Set<string>();
		for (const c of addExternalCalls(40, 2 * HOUR)) expected.add(c.call_uuid);
		await wave('wave 1');
		for (const c of addExternalCalls(15, 20 * 60_000)) expected.add(c.call_uuid);
		await wave('wave 2');
		// One more execution on its own: anything a wave left claimed-but-unwritten would be lost
		// for a lease; anything already written must not come again.
		await cluster.fireWebhooks(WEBHOOK_PATH, 1);
		const twice = [...sink.writes].filter(([, n]) => n > 1).map(([uuid, n]) => `${uuid}×${n}`);
		const missing = [...expected].filter((uuid) => !sink.writes.has(uuid));
		const extra = [...sink.writes.keys()].filter((uuid) => !expected.has(uuid));
		expect(twice, `written more than once: ${twice.join(', ')}`).toEqual([]);
		expect(missing, `never written: ${missing.join(', ')}`).toEqual([]);
		expect(extra).toEqual([]);
		expect(sink.writes.size).toBe(expected.size);
		const perWorker = cluster.workers.map(() => 0);
		for (const [, worker] of cluster.executionsByWorker()) perWorker[worker]++;
		for (const n of perWorker) expect(n).toBeGreaterThan(0);
	});
});
