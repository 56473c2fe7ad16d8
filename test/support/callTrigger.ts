/**
 * What the Virtual PBX Call Trigger tests share (real n8n, test/n8n/callTrigger.n8n.test.ts, and
 * queue mode, test/queue/callTrigger.queue.test.ts): the shipped workflow shape "Virtual PBX Call
 * Trigger (Poll Times: one custom cron) → HTTP Request writing each call to a sink", the sink
 * standing for the CRM, and reading the trigger's executions back.
 */
import { expect } from 'vitest';

import { DEMO_SECRETS } from '../../scripts/demo';
import { startFakePbx, type FakePbx } from '../fakes/pbx';
import type { CredentialInput, N8nInstance, WorkflowInput } from '../n8n/harness';
import { chain, nodeType, postJson } from '../n8n/workflows';
import { useFake } from './lifecycle';
import { CRM_UNAVAILABLE, Sink, useSink } from './sink';

export const TRIGGER_NAME = 'New Calls';
/** Every 10 s: a 6-field custom cron. */
export const POLL_CRON = '*/10 * * * * *';

/**
 * The CRM stand-in: POST {call_uuid, mode} → counted per call, editor runs ($execution.mode
 * 'test') apart. `failing` → 500 to active runs (counted in `refused`, not in `writes`);
 * `delayMs(uuid)` → the answer to that call's write comes that late (counted when it arrives).
 */
export class CallSink extends Sink {
	readonly writes = new Map<string, number>();
	readonly manualWrites = new Map<string, number>();
	/** Writes that arrived and are not answered yet. */
	readonly pending = new Set<string>();
	failing = false;
	refused = 0;
	delayMs: (uuid: string) => number = () => 0;

	protected receive(_path: string, body: string): [number, unknown] | Promise<[number, unknown]> {
		const { call_uuid: uuid, mode } = JSON.parse(body) as { call_uuid: string; mode: string };
		if (this.failing && mode !== 'test') {
			this.refused++;
			return CRM_UNAVAILABLE;
		}
		const counts = mode === 'test' ? this.manualWrites : this.writes;
		counts.set(uuid, (counts.get(uuid) ?? 0) + 1);
		this.pending.add(uuid);
		return new Promise((resolve) =>
			setTimeout(() => {
				this.pending.delete(uuid);
				resolve([200, { written: true }]);
			}, mode === 'test' ? 0 : this.delayMs(uuid)),
		);
	}
}

/** The fake PBX: 10 calls that ended before the first poll, every call listed only once it ended (late). */
export async function startCallTriggerPbx(appName: string): Promise<FakePbx> {
	return await startFakePbx({
		publicApps: [],
		trustedApps: [{ ...DEMO_SECRETS.pbxTrustedApp, name: appName }],
		callCount: 10,
		statsDelayMs: 0,
		listAtHangup: true,
	});
}

/**
 * The sink and that fake PBX for a call-trigger suite: started before its tests (the sink first)
 * and stopped after them (test/support/lifecycle.ts).
 */
export function useCallTriggerFakes(appName: string): { sink: CallSink; pbx: FakePbx } {
	const sink = useSink(new CallSink());
	const pbx = useFake('the fake PBX', async () => await startCallTriggerPbx(appName), { fresh: false });
	return { sink, pbx };
}

/** A trusted-app credential for that fake. */
export function pbxCredential(credential: { id: string; name: string }, pbx: FakePbx): CredentialInput {
	const { clientId, clientSecret } = DEMO_SECRETS.pbxTrustedApp;
	return { ...credential, type: 'virtualPbxTrustedAppApi', data: { host: pbx.url, appId: clientId, appSecret: clientSecret } };
}

export function callTriggerWorkflow(wf: { id: string; name: string }, credential: { id: string; name: string }, sinkUrl: string): WorkflowInput {
	return {
		id: wf.id,
		name: wf.name,
		nodes: [
			{
				name: TRIGGER_NAME,
				type: nodeType('virtualPbxCallTrigger'),
				typeVersion: 1,
				position: [0, 0],
				parameters: {
					authentication: 'trustedApp',
					event: 'newCall',
					pollTimes: { item: [{ mode: 'custom', cronExpression: POLL_CRON }] },
					options: { simplify: true },
				},
				credentials: { virtualPbxTrustedAppApi: credential },
			},
			postJson('Write to CRM', `${sinkUrl}/sink`, '={{ JSON.stringify({ call_uuid: $json.call_uuid, mode: $execution.mode }) }}', [220, 0]),
		],
		connections: chain(TRIGGER_NAME, 'Write to CRM'),
	};
}

export interface Execution {
	id: string;
	status: string;
	mode: string;
	data?: { resultData?: { runData?: Record<string, Array<{ data?: { main?: Array<Array<{ json: Record<string, unknown> }>> } }>> } };
}

/** The workflow's executions (public API, with data), oldest first. */
export async function executionsOf(n8n: N8nInstance, workflowId: string): Promise<Execution[]> {
	const res = await n8n.apiRequest<{ data: Execution[] }>('GET', `/executions?workflowId=${workflowId}&includeData=true&limit=250`);
	expect(res.status, res.text).toBe(200);
	return [...res.body.data].sort((a, b) => Number(a.id) - Number(b.id));
}

/** The call_uuids the trigger emitted into an execution. */
export const emittedBy = (e: Execution): string[] =>
	(e.data?.resultData?.runData?.[TRIGGER_NAME]?.[0]?.data?.main?.[0] ?? []).map((i) => String(i.json.call_uuid));

/** Polls `check` every 500 ms until it returns something other than undefined/false; records how long it took in `timings`. */
export async function waitUntil<T>(timings: string[], what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 90_000): Promise<T> {
	const started = Date.now();
	for (;;) {
		const got = await check();
		if (got !== undefined && got !== false) {
			timings.push(`${what}: ${Date.now() - started} ms`);
			return got;
		}
		if (Date.now() - started > timeoutMs) throw new Error(`waited ${timeoutMs} ms for ${what}`);
		await new Promise((r) => setTimeout(r, 500));
	}
}

/** Activates the workflow the way the editor does (its current version) and waits until n8n reports it published. */
export async function activateAndWait(n8n: N8nInstance, timings: string[], workflowId: string): Promise<void> {
	const got = await n8n.rest<{ data: { versionId: string } }>('GET', `/rest/workflows/${workflowId}`);
	expect(got.status, got.text).toBe(200);
	const activated = await n8n.rest('POST', `/rest/workflows/${workflowId}/activate`, { versionId: got.body.data.versionId });
	expect(activated.status, activated.text).toBe(200);
	await waitUntil(timings, 'publication published', async () => {
		const res = await n8n.rest<{ data: { status: string } }>('GET', `/rest/workflows/${workflowId}/publication-status`);
		expect(res.status, res.text).toBe(200);
		return res.body.data.status === 'published' ? true : undefined;
	}, 60_000);
}
