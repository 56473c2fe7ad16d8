/**
 * The example workflows of examples/ inside a real n8n 2.41.1 against the fake vendors, imported
 * as the demo imports them: each runs to success; the call sync writes each external call to CRM.COM exactly once
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
import type { CrmComContact } from '../fakes/crmcom';
import { formatPbxDatetime, type PbxCall } from '../fakes/pbx';
import { packPackage, parseRun, startN8nInstance, type ExecutionItem, type ExecutionResult, type N8nInstance } from './harness';

const SYNC = 'exPbxCallSync001';
const SYNC_CREATE = 'exPbxCallSync002';
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
	it('are the four documented workflows, with this package\'s and n8n\'s base nodes only, wired by name', () => {
		expect(fs.readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.json')).sort()).toEqual(EXAMPLES.map((e) => e.file).sort());
		for (const example of EXAMPLES) {
			const raw = JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, example.file), 'utf8'));
			expect(raw.id).toBe(example.id);
			const names = new Set<string>(raw.nodes.map((n: { name: string }) => n.name));
			expect(names.size).toBe(raw.nodes.length);
			for (const node of raw.nodes) {
				expect(node.type).toMatch(/^(n8n-nodes-base\.(manualTrigger|scheduleTrigger|set|if|stickyNote)|n8n-nodes-crm-pbx\.(virtualPbx|virtualPbxTrigger|virtualPbxCallTrigger|crmCom|b2Copy))$/);
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

	/** The customer of each call that has a CRM.COM contact: customer number → contact. */
	function contactOf(call: PbxCall): CrmComContact | undefined {
		const number = customerNumber(call);
		return fakes.crmcom.contacts.find((c) => c.phone === number || c.phones.some((p) => p.number === number));
	}

	/** Contacts that hold `number` (a caller must end with exactly one). */
	function contactsWith(number: string): CrmComContact[] {
		return fakes.crmcom.contacts.filter((c) => c.phone === number || c.phones.some((p) => p.number === number));
	}

	function marked(result: ExecutionResult): string[] {
		return items(result, 'Mark as Synced').map((c) => {
			expect(c.json.synced).toBe(true);
			return String(c.json.call_uuid);
		}).sort();
	}

	it('pbx-call-sync: the first run writes each external call of the last day with a contact to it once (none for unknown callers: creating them is off), marks every call; 7 new calls → exactly those 7; then none', async () => {
		const dayAgo = formatPbxDatetime(Date.now() - 86_400_000 + 60_000);
		const inDay = fakes.pbx.allCalls().filter((c) => c.flow !== 'internal' && c.start_time_gmt >= dayAgo);
		giveCallersContacts(fakes.crmcom, inDay.filter((_, i) => i % 3 === 0));
		const writesBefore = fakes.crmcom.counters;

		const first = await n8n.execute(SYNC);
		const firstCalls = items(first, 'Get New Calls').map((c) => c.json as unknown as PbxCall);
		const returned = new Set(firstCalls.map((c) => c.call_uuid));
		expect(returned.size).toBe(firstCalls.length);
		for (const c of inDay) expect(returned.has(c.call_uuid), c.call_uuid).toBe(true);
		for (const c of firstCalls) expect(c.flow).not.toBe('internal');
		expect(firstCalls.length).toBeGreaterThan(20);

		// Every call with a contact: one update of that contact; unknown callers: no write at all.
		const known = firstCalls.filter((c) => contactOf(c) !== undefined);
		expect(known.length).toBeGreaterThan(5);
		expect(known.length).toBeLessThan(firstCalls.length);
		const afterFirst = fakes.crmcom.counters;
		expect(afterFirst.contactUpdates - writesBefore.contactUpdates).toBe(known.length);
		expect(afterFirst.contactCreates - writesBefore.contactCreates).toBe(0);
		const perContact = new Map<string, number>();
		for (const c of known) perContact.set(contactOf(c)!.number, (perContact.get(contactOf(c)!.number) ?? 0) + 1);
		for (const [number, n] of perContact) expect(fakes.crmcom.writesTo(number) - (writesBefore.writesByContact[number] ?? 0), number).toBe(n);
		expect(items(first, 'Write Call to Contact')).toHaveLength(known.length);
		expect(first.nodes['Create Contact']).toBeUndefined();
		expect(marked(first)).toEqual([...returned].sort());

		const added = fakes.pbx.addCalls(7, { external: true });
		const linked = giveCallersContacts(fakes.crmcom, added.slice(0, 4));
		expect(linked.size).toBeGreaterThan(0);
		const addedKnown = added.filter((c) => contactOf(c) !== undefined);
		expect(addedKnown.length).toBeLessThan(7);

		const second = await n8n.execute(SYNC);
		expect(items(second, 'Get New Calls').map((c) => c.json.call_uuid)).toEqual(added.map((c) => c.call_uuid));
		const afterSecond = fakes.crmcom.counters;
		expect(afterSecond.contactWrites - afterFirst.contactWrites).toBe(addedKnown.length);
		expect(marked(second)).toEqual(added.map((c) => c.call_uuid).sort());
		// What a write carries: the call's start (ISO 8601, UTC), direction, result, duration.
		const single = addedKnown.find((c) => addedKnown.filter((o) => customerNumber(o) === customerNumber(c)).length === 1)!;
		expect(contactOf(single)).toMatchObject({
			udf_date_1: `${single.start_time_gmt.replace(' ', 'T')}Z`,
			udf_string_1: single.flow === 'out' ? 'outbound' : 'inbound',
			udf_string_2: single.result,
			udf_float_1: single.duration,
		});

		const third = await n8n.execute(SYNC);
		expect(items(third, 'Get New Calls')).toEqual([]);
		expect(fakes.crmcom.counters.contactWrites).toBe(afterSecond.contactWrites);
	});

	it('pbx-call-sync with "Create Unknown Callers?" switched to true: each unknown caller created once (documented phone objects), every caller\'s contact ends at its newest call; 7 new calls → exactly 7 more writes; then none', async () => {
		const wf = loadExample('pbx-call-sync-schedule.json', REFS);
		wf.id = SYNC_CREATE;
		wf.name = `${wf.name} (creating unknown callers)`;
		const gate = wf.nodes.find((n) => n.name === 'Create Unknown Callers?')!;
		const conditions = (gate.parameters as { conditions: { conditions: Array<{ leftValue: string }> } }).conditions.conditions;
		expect(conditions[0]!.leftValue).toBe('={{ false }}');
		conditions[0]!.leftValue = '={{ true }}';
		await n8n.importWorkflow([wf]);

		const before = fakes.crmcom.counters;
		const writesBefore = fakes.crmcom.writeLog.length;
		const knownBefore = new Set(fakes.pbx.allCalls().filter((c) => c.flow !== 'internal').map(customerNumber).filter((n) => contactsWith(n).length > 0));
		const first = await n8n.execute(SYNC_CREATE);
		const calls = items(first, 'Get New Calls').map((c) => c.json as unknown as PbxCall);
		expect(calls.length).toBeGreaterThan(20);
		const unknownNumbers = new Set(calls.map(customerNumber).filter((n) => !knownBefore.has(n)));
		const createdItems = items(first, 'Create Contact').filter((i) => i.json.created === true);
		expect(createdItems.length).toBeGreaterThan(0);
		const after = fakes.crmcom.counters;
		// One create per unknown number, however many calls it made; never a contact twice.
		expect(after.contactCreates - before.contactCreates).toBe(createdItems.length);
		expect(createdItems.length).toBe(unknownNumbers.size);
		expect(after.duplicatePhoneCreates - before.duplicatePhoneCreates).toBe(0);
		const creates = fakes.crmcom.writeLog.slice(writesBefore).filter((w) => w.kind === 'create');
		for (const w of creates) {
			expect(w.body).not.toHaveProperty('phone');
			expect(w.body.phones_set).toEqual([{ action: 'ADD', type: 'MOBILE', number: expect.stringMatching(/^\+\d+$/) }]);
		}
		expect(marked(first)).toEqual(calls.map((c) => c.call_uuid).sort());
		// Every caller has exactly one contact, holding its newest call (the first workflow wrote the
		// same calls to the known contacts before: Only If Newer left those as they were).
		const newest = new Map<string, PbxCall>();
		for (const c of calls) if ((newest.get(customerNumber(c))?.start_time_gmt ?? '') <= c.start_time_gmt) newest.set(customerNumber(c), c);
		for (const [number, call] of newest) {
			expect(contactsWith(number), number).toHaveLength(1);
			expect(contactsWith(number)[0]!.udf_date_1, number).toBe(`${call.start_time_gmt.replace(' ', 'T')}Z`);
		}
		const newContact = fakes.crmcom.contacts.find((c) => c.number === createdItems[0]!.json.number)!;
		expect(newContact.last_name).toBe(`Caller ${newContact.phone}`);
		expect(newContact.phones).toEqual([expect.objectContaining({ type: 'MOBILE', number: newContact.phone })]);
		expect(typeof newContact.udf_float_1).toBe('number');

		const added = fakes.pbx.addCalls(7, { external: true });
		const second = await n8n.execute(SYNC_CREATE);
		expect(items(second, 'Get New Calls').map((c) => c.json.call_uuid)).toEqual(added.map((c) => c.call_uuid));
		expect(fakes.crmcom.counters.contactWrites - after.contactWrites).toBe(7);
		expect(marked(second)).toEqual(added.map((c) => c.call_uuid).sort());

		const third = await n8n.execute(SYNC_CREATE);
		expect(items(third, 'Get New Calls')).toEqual([]);
		expect(fakes.crmcom.counters.contactWrites - after.contactWrites).toBe(7);
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
