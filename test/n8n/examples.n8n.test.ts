/**
 * The example workflows of examples/ inside a real n8n 2.41.1 against the fake vendors, imported
 * as the demo imports them: each runs to success; the call sync returns each call exactly once
 * across runs (the sync state lives in n8n's processed-items store; a call counts once it reached
 * Mark as Synced); the missed-call trigger starts on a missed inbound hang-up only.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
	DEMO_CREDENTIALS,
	EXAMPLES,
	EXAMPLES_DIR,
	customerNumber,
	demoCredentialInputs,
	giveCallersContacts,
	loadExample,
	pbxTriggerListening,
	setWorkflowActive,
	startDemoFakes,
	type CredentialRef,
	type DemoFakes,
} from '../../scripts/demo';
import { formatPbxDatetime, type PbxCall } from '../fakes/pbx';
import { packPackage, parseRun, startN8nInstance, type ExecutionItem, type ExecutionResult, type N8nInstance } from './harness';

const SYNC = 'exPbxCallSync001';
const MISSED = 'exPbxMissedCall1';
const FEE = 'exB2copyFee00001';
/** The examples use three credential types; the OAuth2 one is the demo's extra. */
const { virtualPbxOAuth2Api: _unused, ...REFS } = DEMO_CREDENTIALS as Record<string, CredentialRef>;
const MISSED_FIELDS = { CallStatus: 'NOANSWER', Bridged: 'no', Duration: '0', RecID: undefined };
const KNOWN_CALLER = '+74951234567'; // the fake's default caller of inbound events

let n8n: N8nInstance;
let fakes: DemoFakes;

function items(result: ExecutionResult, node: string): ExecutionItem[] {
	expect(result.ok, JSON.stringify(result.error ?? result.status)).toBe(true);
	return result.nodes[node]?.items ?? [];
}

beforeAll(async () => {
	const tarball = await packPackage();
	n8n = await startN8nInstance({ tarball });
	fakes = await startDemoFakes({ n8nBaseUrl: n8n.baseUrl, callCount: 1500 });
	giveCallersContacts(fakes.crmcom, [{ flow: 'in', from_username: KNOWN_CALLER, to_username: '' } as PbxCall]);
	await n8n.importCredentials(demoCredentialInputs(fakes, REFS));
	await n8n.importWorkflow(EXAMPLES.map((e) => loadExample(e.file, REFS)));
});

afterAll(async () => {
	await n8n?.dispose();
	await fakes?.close();
});

describe('examples/ (static)', () => {
	it('are the three documented workflows, with this package\'s and n8n\'s base nodes only, wired by name', () => {
		expect(fs.readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.json')).sort()).toEqual(EXAMPLES.map((e) => e.file).sort());
		for (const example of EXAMPLES) {
			const raw = JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, example.file), 'utf8'));
			expect(raw.id).toBe(example.id);
			const names = new Set<string>(raw.nodes.map((n: { name: string }) => n.name));
			expect(names.size).toBe(raw.nodes.length);
			for (const node of raw.nodes) {
				expect(node.type).toMatch(/^(n8n-nodes-base\.(manualTrigger|scheduleTrigger|set|stickyNote)|n8n-nodes-crm-pbx\.(virtualPbx|virtualPbxTrigger|crmCom|b2Copy))$/);
				for (const [type, ref] of Object.entries<CredentialRef>(node.credentials ?? {})) expect(ref).toEqual(DEMO_CREDENTIALS[type]);
			}
			for (const [from, conn] of Object.entries<{ main: Array<Array<{ node: string }>> }>(raw.connections)) {
				expect(names.has(from), from).toBe(true);
				for (const target of conn.main.flat()) expect(names.has(target.node), target.node).toBe(true);
			}
		}
	});
});

describe('examples/ in n8n 2.41.1', () => {
	it('b2copy-withdrawal-fee: the fee is processed, waiting through PENDING to SUCCESS', async () => {
		const [fee] = items(await n8n.execute(FEE), 'Process Withdrawal Fee');
		expect(fee?.json).toMatchObject({ account_login: '123456', request_id: 'WD-2024-000123', statusText: 'SUCCESS', polls: 3 });
		expect(fakes.b2copy.fake.feePolls('WD-2024-000123')).toBe(3);
	});

	it('pbx-call-sync: the first run returns the external calls of the last day, enriched, marked as synced; after 7 new calls the next run returns exactly those 7; then none', async () => {
		const before = Date.now();
		const first = await n8n.execute(SYNC);
		const after = Date.now();
		const firstCalls = items(first, 'Get New Calls');
		// "Start" ($now minus one day) is where the first run begins; internal calls are skipped.
		const inDay = fakes.pbx.allCalls().filter((c) => c.flow !== 'internal' && c.start_time_gmt >= formatPbxDatetime(after - 86_400_000));
		const returned = new Set(firstCalls.map((c) => String(c.json.call_uuid)));
		expect(returned.size).toBe(firstCalls.length);
		for (const c of inDay) expect(returned.has(c.call_uuid), c.call_uuid).toBe(true);
		for (const c of firstCalls) {
			expect(String(c.json.start_time_gmt) >= formatPbxDatetime(before - 86_400_000 - 1000)).toBe(true);
			expect(c.json.flow).not.toBe('internal');
		}
		expect(firstCalls.length).toBeGreaterThan(20);
		const firstEnriched = items(first, 'Enriched Calls');
		expect(firstEnriched.map((c) => c.json.call_uuid)).toEqual(firstCalls.map((c) => c.json.call_uuid));
		expect(items(first, 'Mark as Synced').map((c) => c.json)).toEqual(firstCalls.map((c) => ({ call_uuid: c.json.call_uuid, synced: true })));

		const added = fakes.pbx.addCalls(7, { external: true });
		const linked = giveCallersContacts(fakes.crmcom, added.slice(0, 4));
		expect(linked.size).toBeGreaterThan(0);

		const second = await n8n.execute(SYNC);
		expect(items(second, 'Get New Calls').map((c) => c.json.call_uuid)).toEqual(added.map((c) => c.call_uuid));
		const enriched = items(second, 'Enriched Calls');
		expect(enriched).toHaveLength(7);
		enriched.forEach((item, i) => {
			const call = added[i]!;
			const number = customerNumber(call);
			const contact = fakes.crmcom.contacts.find((c) => c.number === linked.get(number));
			expect(item.json).toEqual({
				call_uuid: call.call_uuid,
				start_time_gmt: call.start_time_gmt,
				direction: call.flow,
				result: call.result,
				from: call.from_username,
				to: call.to_username,
				duration_seconds: call.duration,
				customer_number: number,
				contact_name: contact?.name ?? 'unknown',
				contact_number: contact?.number ?? 'unknown',
			});
		});
		expect(enriched.some((c) => c.json.contact_name === 'unknown')).toBe(true);

		const third = await n8n.execute(SYNC);
		expect(items(third, 'Get New Calls')).toEqual([]);
		expect(third.nodes['Enriched Calls']?.items ?? []).toEqual([]);
	});

	describe('with the n8n server running', () => {
		beforeAll(async () => {
			await n8n.startServer();
		}, 180_000);
		afterAll(async () => {
			await n8n.stopServer();
		});

		async function executionsOf(workflowId: string): Promise<Array<{ id: string; status: string; data?: Record<string, unknown> }>> {
			const res = await n8n.apiRequest('GET', `/executions?workflowId=${workflowId}&includeData=true&limit=50`);
			expect(res.status, res.text).toBe(200);
			return res.body.data;
		}

		async function waitForExecutions(workflowId: string, count: number, timeoutMs = 30_000) {
			const until = Date.now() + timeoutMs;
			for (;;) {
				const list = await executionsOf(workflowId);
				if (list.length >= count && list.every((e) => !['new', 'running', 'waiting'].includes(e.status))) return list;
				if (Date.now() > until) return list;
				await new Promise((r) => setTimeout(r, 300));
			}
		}

		it('pbx-missed-call: once active, a missed inbound hang-up starts one successful run with a call-back task; an answered call starts none', async () => {
			await setWorkflowActive(n8n, MISSED, true, () => pbxTriggerListening(fakes.pbx, 3));
			const subs = fakes.pbx.subscriptions();
			expect(subs.map((s) => `${s.extension_id}:${s.event_type}`).sort()).toEqual(['1001:hangup', '1002:hangup', '1003:hangup']);
			expect(subs[0]!.url).toMatch(new RegExp(`^${n8n.baseUrl}/webhook/.+\\?secret=`));

			const missed = await fakes.pbx.fireEvent(1001, 'hangup', MISSED_FIELDS);
			expect(missed.map((d) => d.status)).toEqual([200]);
			const runs = await waitForExecutions(MISSED, 1);
			expect(runs.map((r) => r.status)).toEqual(['success']);
			const run = parseRun({ data: runs[0]!.data, status: runs[0]!.status });
			const [task] = run.nodes['Call Back Task']?.items ?? [];
			const contact = fakes.crmcom.contacts.find((c) => c.phone === KNOWN_CALLER)!;
			expect(task?.json).toMatchObject({
				task: 'call back',
				title: `Call back ${contact.name}`,
				phone: KNOWN_CALLER,
				contact_name: contact.name,
				contact_number: contact.number,
				called_extension: fakes.pbx.extensions().find((e) => e.id === 1001)!.name,
			});
			// One time zone in the task: the call's time and the due time are both UTC (n8n's default
			// workflow zone is America/New_York, so a bare $now would give -05:00/-04:00).
			expect(String(task?.json.missed_at)).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
			expect(String(task?.json.due_by)).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/);

			// An unknown caller still gets a task; an answered call and a missed outbound one get none.
			await fakes.pbx.fireEvent(1002, 'hangup', { ...MISSED_FIELDS, CallerIDNum: '+74950000001' });
			await fakes.pbx.fireEvent(1001, 'hangup');
			await fakes.pbx.fireEvent(1003, 'hangup', { ...MISSED_FIELDS, CallFlow: 'out' });
			const all = await waitForExecutions(MISSED, 2);
			await new Promise((r) => setTimeout(r, 3000));
			const settled = await waitForExecutions(MISSED, 2);
			expect(settled.map((r) => r.status)).toEqual(['success', 'success']);
			expect(all).toHaveLength(2);
			const unknownRun = parseRun({ data: settled.find((r) => r.id !== runs[0]!.id)!.data, status: 'success' });
			expect(unknownRun.nodes['Call Back Task']?.items[0]?.json).toMatchObject({ title: 'Call back +74950000001', contact_name: 'unknown', contact_number: 'unknown' });

			// Deactivating removes exactly its subscriptions.
			await setWorkflowActive(n8n, MISSED, false, () => fakes.pbx.subscriptions().length === 0);
		});
	});

	it('the package loaded with no warning', () => {
		expect(n8n.loadWarnings()).toEqual([]);
	});
});
