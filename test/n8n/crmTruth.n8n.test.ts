/**
 * What the CRM holds at the end (issue 19), in a real n8n 2.41.1 with the package installed the
 * panel way, running the shipped examples/pbx-call-sync-schedule.json (the scheduled variant of the call sync) against strict fakes on 127.0.0.1:
 * writes to one contact applied in call order although CRM.COM answers them out of order, the
 * newest call kept when an older one is listed late, calls in progress written once with their
 * final values, withheld numbers never looked up, one refused call not holding up the others (set
 * aside after its attempts, listed, sent again), an outage losing nothing, and unknown callers
 * created once in CRM.COM's documented shape. Each scenario has its own fakes, credentials and
 * copy of the example (its own sync state); runs are CLI runs (`n8n execute`, as a scheduled run
 * saves its state) unless the editor's Execute button is named.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DEMO_SECRETS, loadExample, type CredentialRef } from '../../scripts/demo';
import { startFakeCrmCom, type CrmComContact, type FakeCrmCom } from '../fakes/crmcom';
import { startFakePbx, type FakePbx, type PbxCall } from '../fakes/pbx';
import { packPackage, parseRun, startN8nInstance, type ExecutionItem, type ExecutionResult, type N8nInstance } from './harness';

const MIN = 60_000;
const HOUR = 60 * MIN;

let n8n: N8nInstance;
const closers: Array<() => Promise<void>> = [];

interface Scenario {
	id: string;
	pbx: FakePbx;
	crm: FakeCrmCom;
	/** The PBX's clock: real time plus this offset. */
	clock: { offset: number };
}

let count = 0;

/** Fresh fakes, credentials and a copy of the shipped example; `edit` may change the copy (as a user would). */
async function scenario(edit: (nodes: Array<{ name: string; parameters: Record<string, unknown> }>) => void = () => undefined): Promise<Scenario> {
	count++;
	const clock = { offset: 0 };
	const pbx = await startFakePbx({
		publicApps: [],
		trustedApps: [{ ...DEMO_SECRETS.pbxTrustedApp, name: 'n8n sync' }],
		callCount: 0,
		now: () => Date.now() + clock.offset,
	});
	const crm = await startFakeCrmCom({ consumerKeys: [DEMO_SECRETS.crmConsumerKey], authenticationCodes: { [DEMO_SECRETS.crmAuthenticationCode]: {} }, contactCount: 40, groupMemberCount: 10, jobCount: 0 });
	closers.push(async () => await pbx.close(), async () => await crm.close());
	const refs: Record<string, CredentialRef> = {
		crmComApi: { id: `truthCrm${String(count).padStart(8, '0')}`, name: `CRM.COM ${count}` },
		virtualPbxTrustedAppApi: { id: `truthPbx${String(count).padStart(8, '0')}`, name: `PBX ${count}` },
	};
	await n8n.importCredentials([
		{
			...refs.crmComApi!,
			type: 'crmComApi',
			data: { serverUrl: `${crm.url}/crmapi/rest/v2/`, consumerKey: DEMO_SECRETS.crmConsumerKey, loginMethod: 'authenticationCode', authenticationCode: DEMO_SECRETS.crmAuthenticationCode },
		},
		{
			...refs.virtualPbxTrustedAppApi!,
			type: 'virtualPbxTrustedAppApi',
			data: { host: pbx.url, appId: DEMO_SECRETS.pbxTrustedApp.clientId, appSecret: DEMO_SECRETS.pbxTrustedApp.clientSecret },
		},
	]);
	const wf = loadExample('pbx-call-sync-schedule.json', refs);
	wf.id = `truthSync${String(count).padStart(7, '0')}`;
	wf.name = `${wf.name} (${count})`;
	edit(wf.nodes as unknown as Array<{ name: string; parameters: Record<string, unknown> }>);
	await n8n.importWorkflow([wf]);
	return { id: wf.id, pbx, crm, clock };
}

/** Switches "Create Unknown Callers?" to true, as the sticky note tells the user. */
function createUnknown(nodes: Array<{ name: string; parameters: Record<string, unknown> }>): void {
	const gate = nodes.find((n) => n.name === 'Create Unknown Callers?')!;
	const conditions = (gate.parameters as { conditions: { conditions: Array<{ leftValue: string }> } }).conditions.conditions;
	expect(conditions[0]!.leftValue).toBe('={{ false }}');
	conditions[0]!.leftValue = '={{ true }}';
}

/** "Retry Unsynced Calls After" shortened to 6 s, so that a failed run's calls come again within the test. */
function shortLease(nodes: Array<{ name: string; parameters: Record<string, unknown> }>): void {
	nodes.find((n) => n.name === 'Get New Calls')!.parameters.leaseMinutes = 0.1;
}

function items(result: ExecutionResult | ReturnType<typeof parseRun>, node: string): ExecutionItem[] {
	return result.nodes[node]?.items ?? [];
}

function ok(result: ExecutionResult): ExecutionResult {
	expect(result.ok, JSON.stringify(result.error ?? result.status)).toBe(true);
	return result;
}

const uuidsOf = (list: ExecutionItem[]): string[] => list.map((i) => String(i.json.call_uuid)).sort();
const iso = (gmt: string): string => `${gmt.replace(' ', 'T')}Z`;

/** A contact for `phone`: one of the fake's generated contacts gets that number. */
function contactFor(crm: FakeCrmCom, phone: string, index: number): CrmComContact {
	const contact = crm.contacts[index]!;
	contact.phone = phone;
	if (Array.isArray((contact as { phones?: unknown[] }).phones)) (contact as unknown as { phones: Array<{ number: string }> }).phones[0]!.number = phone;
	return contact;
}

/** The editor's Execute workflow button (POST /rest/workflows/:id/run), or Execute step on one node. */
async function editorRun(id: string, body: Record<string, unknown> = { triggerToStartFrom: { name: 'Run Now' } }): Promise<ReturnType<typeof parseRun>> {
	const res = await n8n.rest('POST', `/rest/workflows/${id}/run`, body);
	expect(res.status, res.text).toBe(200);
	const executionId = res.body.data.executionId as string;
	for (let i = 0; i < 400; i++) {
		const got = await n8n.apiRequest('GET', `/executions/${executionId}?includeData=true`);
		if (got.status === 200 && !['new', 'running', 'waiting'].includes(got.body.status)) return parseRun({ data: got.body.data, status: got.body.status });
		await new Promise((r) => setTimeout(r, 300));
	}
	throw new Error('execution did not finish');
}

beforeAll(async () => {
	const tarball = await packPackage();
	n8n = await startN8nInstance({ tarball });
	await n8n.startServer();
});

afterAll(async () => {
	await n8n?.stopServer().catch(() => undefined);
	await n8n?.dispose();
	for (const close of closers) await close().catch(() => undefined);
});

describe('pbx-call-sync-schedule: what CRM.COM holds at the end (n8n 2.41.1)', () => {
	it('3 calls of one contact in one run, CRM.COM answering the first update slowest (Execute workflow button) → the contact holds the newest call; an older long call listed after a newer short one → the newest remains', async () => {
		const s = await scenario();
		const caller = '+74957000001';
		const contact = contactFor(s.crm, caller, 3);
		const base = Date.now() - 5 * HOUR;
		const three = s.pbx.addCallsAt([20, 40, 60].map((m, i) => ({ startMs: base + m * MIN, durationSec: 60 + i * 30, flow: 'in', from: caller, result: 'answered' })));
		s.crm.writeDelaysMs = [900, 450, 0];
		const run = await editorRun(s.id);
		expect(run.error).toBeUndefined();
		expect(uuidsOf(items(run, 'Get New Calls'))).toEqual(three.map((c) => c.call_uuid).sort());
		expect(items(run, 'Write Call to Contact')).toHaveLength(3);
		// Applied in call order although sent at once and answered 3rd, 2nd, 1st when parallel.
		const applied = s.crm.writeLog.filter((w) => w.contact === contact.number).map((w) => w.body.udf_date_1);
		expect(applied).toEqual(three.map((c) => iso(c.start_time_gmt)));
		expect(contact).toMatchObject({ udf_date_1: iso(three[2]!.start_time_gmt), udf_float_1: three[2]!.duration });
		s.crm.writeDelaysMs = [];

		// A long call (started first) is listed at its hang-up, after a newer short call was written.
		s.pbx.listing.listAtHangup = true;
		const [long, short] = s.pbx.addCallsAt([
			{ startMs: base + 90 * MIN, durationSec: 40 * 60, flow: 'in', from: caller, result: 'answered' },
			{ startMs: base + 100 * MIN, durationSec: 120, flow: 'in', from: caller, result: 'answered' },
		]);
		s.clock.offset = base + 105 * MIN - Date.now();
		const r2 = ok(await n8n.execute(s.id));
		expect(uuidsOf(items(r2, 'Get New Calls'))).toEqual([short!.call_uuid]);
		s.clock.offset = base + 140 * MIN - Date.now();
		const r3 = ok(await n8n.execute(s.id));
		expect(uuidsOf(items(r3, 'Get New Calls'))).toEqual([long!.call_uuid]);
		const [skipped] = items(r3, 'Write Call to Contact');
		expect(skipped?.json).toMatchObject({ written: false });
		expect(uuidsOf(items(r3, 'Mark as Synced'))).toEqual([long!.call_uuid]);
		expect(contact).toMatchObject({ udf_date_1: iso(short!.start_time_gmt), udf_float_1: short!.duration });
	});

	it('a PBX listing calls in progress, runs every 15 min for 3 h → each contact holds its call\'s final duration and result, each call written once', async () => {
		const s = await scenario();
		s.pbx.listing.listInProgress = true;
		const base = Date.now() - 4 * HOUR;
		const specs = Array.from({ length: 8 }, (_, i) => ({ startMs: base + i * 12 * MIN, durationSec: [300, 2405, 1226, 45, 3000, 900, 1800, 60][i]!, flow: 'in' as const, from: `+7495710000${i}`, result: (i % 3 === 2 ? 'noanswer' : 'answered') as PbxCall['result'] }));
		const calls = s.pbx.addCallsAt(specs);
		const contacts = calls.map((c, i) => contactFor(s.crm, c.from_username, 5 + i));
		const delivered = new Map<string, number>();
		for (let t = 15 * MIN; t <= 3 * HOUR; t += 15 * MIN) {
			s.clock.offset = base + t - Date.now();
			const r = ok(await n8n.execute(s.id));
			for (const item of items(r, 'Get New Calls')) {
				expect(item.json.in_progress).toBe(false);
				delivered.set(String(item.json.call_uuid), (delivered.get(String(item.json.call_uuid)) ?? 0) + 1);
			}
		}
		expect([...delivered.keys()].sort()).toEqual(calls.map((c) => c.call_uuid).sort());
		expect([...delivered.values()].every((n) => n === 1)).toBe(true);
		calls.forEach((call, i) => {
			expect(contacts[i], call.call_uuid).toMatchObject({ udf_float_1: call.duration, udf_string_2: call.result, udf_date_1: iso(call.start_time_gmt) });
			expect(s.crm.writesTo(contacts[i]!.number)).toBe(1);
		});
	});

	it('calls with an empty, "anonymous" and "Unknown" caller (creation on) → the runs succeed, no error rows, no CRM.COM request for them, no contact created, not delivered again', async () => {
		const s = await scenario(createUnknown);
		const base = Date.now() - 2 * HOUR;
		const known = '+74957200001';
		const contact = contactFor(s.crm, known, 2);
		const contactsBefore = s.crm.contacts.length;
		const calls = s.pbx.addCallsAt(['', 'anonymous', 'Unknown', known].map((from, i) => ({ startMs: base + i * 5 * MIN, durationSec: 30, flow: 'in' as const, from, result: 'answered' as const })));
		s.crm.clearLog();
		const r1 = ok(await n8n.execute(s.id));
		expect(uuidsOf(items(r1, 'Get New Calls'))).toEqual(calls.map((c) => c.call_uuid).sort());
		expect(items(r1, 'Get New Calls').map((i) => i.json.external_number)).toEqual(['', '', '', known]);
		expect(uuidsOf(items(r1, 'Mark as Synced'))).toEqual(calls.map((c) => c.call_uuid).sort());
		expect(items(r1, 'Mark as Failed')).toEqual([]);
		// Lookups by phone: the known caller's only (the update's own read goes by contact number).
		const lookups = s.crm.requests.filter((r) => r.path.endsWith('contact_information/show')).map((r) => String(r.query.contact_information_identifier));
		expect(lookups.filter((q) => !q.startsWith('number='))).toEqual([`phone=${known}`]);
		expect(s.crm.contacts).toHaveLength(contactsBefore);
		expect(contact.udf_date_1).toBe(iso(calls[3]!.start_time_gmt));
		const r2 = ok(await n8n.execute(s.id));
		expect(items(r2, 'Get New Calls')).toEqual([]);
	});

	it('one call CRM.COM refuses → the others are synced in that run; the refused one comes again, is set aside after 3 attempts and listed; sent again, it is written; an outage fails the run and loses nothing', async () => {
		const s = await scenario(shortLease);
		const base = Date.now() - 3 * HOUR;
		const calls = s.pbx.addCallsAt(Array.from({ length: 5 }, (_, i) => ({ startMs: base + i * 7 * MIN, durationSec: 90, flow: 'in' as const, from: `+7495730000${i}`, result: 'answered' as const })));
		const contacts = calls.map((c, i) => contactFor(s.crm, c.from_username, 10 + i));
		const refused = contacts[2]!;
		let refuse = true;
		s.crm.refuseWrite = (body) =>
			refuse && JSON.stringify(body.contact_information_identifier) === JSON.stringify({ number: refused.number })
				? { code: 'E_INVALID_PARAMETER', message: 'udf_string_2 is not allowed for this contact type' }
				: undefined;
		const r1 = ok(await n8n.execute(s.id));
		expect(uuidsOf(items(r1, 'Mark as Synced'))).toEqual(calls.filter((_, i) => i !== 2).map((c) => c.call_uuid).sort());
		const [failed1] = items(r1, 'Mark as Failed');
		expect(failed1?.json).toMatchObject({ call_uuid: calls[2]!.call_uuid, attempt: 1, set_aside: false });
		expect(String(failed1?.json.error)).toContain('udf_string_2 is not allowed for this contact type');
		for (const attempt of [2, 3]) {
			const r = ok(await n8n.execute(s.id));
			expect(uuidsOf(items(r, 'Get New Calls'))).toEqual([calls[2]!.call_uuid]);
			expect(items(r, 'Mark as Failed')[0]?.json).toMatchObject({ attempt, set_aside: attempt === 3 });
		}
		const r4 = ok(await n8n.execute(s.id));
		expect(items(r4, 'Get New Calls')).toEqual([]);
		for (const [i, c] of contacts.entries()) if (i !== 2) expect(s.crm.writesTo(c.number)).toBe(1);
		expect(s.crm.writesTo(refused.number)).toBe(0);

		// Listed by "Set-Aside Calls" (Execute step in the editor), with CRM.COM's words.
		const listed = await editorRun(s.id, { destinationNode: { nodeName: 'Set-Aside Calls', mode: 'inclusive' } });
		expect(items(listed, 'Set-Aside Calls').map((i) => i.json)).toEqual([
			expect.objectContaining({ call_uuid: calls[2]!.call_uuid, attempts: 3, error: expect.stringContaining('udf_string_2 is not allowed') }),
		]);
		// Fixed in CRM.COM, then "Send Set-Aside Calls Again" (Execute step): the next run writes it.
		refuse = false;
		const again = await editorRun(s.id, { destinationNode: { nodeName: 'Send Set-Aside Calls Again', mode: 'inclusive' } });
		expect(items(again, 'Send Set-Aside Calls Again').map((i) => i.json)).toEqual([{ call_uuid: calls[2]!.call_uuid, sent_again: true }]);
		const r5 = ok(await n8n.execute(s.id));
		expect(uuidsOf(items(r5, 'Mark as Synced'))).toEqual([calls[2]!.call_uuid]);
		expect(s.crm.writesTo(refused.number)).toBe(1);
		const after = await editorRun(s.id, { destinationNode: { nodeName: 'Set-Aside Calls', mode: 'inclusive' } });
		expect(items(after, 'Set-Aside Calls')).toEqual([]);
		expect(items(ok(await n8n.execute(s.id)), 'Get New Calls')).toEqual([]);

		// An outage (HTTP 500 on every write): the run fails, nothing is marked, nothing set aside;
		// once CRM.COM is back, the calls come again and are written once.
		const more = s.pbx.addCallsAt(Array.from({ length: 3 }, (_, i) => ({ startMs: base + (60 + i) * MIN, durationSec: 30, flow: 'in' as const, from: calls[i]!.from_username, result: 'answered' as const })));
		s.crm.settings.writeFailure = 'http500';
		const down = await n8n.execute(s.id);
		const counts = (r: ExecutionResult) => JSON.stringify(Object.fromEntries(Object.entries(r.nodes).map(([name, node]) => [name, node.items.length])));
		expect(down.ok, `${counts(down)} ${JSON.stringify(items(down, 'Mark as Failed')[0]?.json)}`).toBe(false);
		expect(items(down, 'Mark as Synced')).toEqual([]);
		expect(items(down, 'Mark as Failed')).toEqual([]);
		s.crm.settings.writeFailure = 'off';
		await new Promise((r) => setTimeout(r, 13_000)); // the failed run's claims expire (one to two leases of 6 s)
		const back = ok(await n8n.execute(s.id));
		expect(uuidsOf(items(back, 'Mark as Synced'))).toEqual(more.map((c) => c.call_uuid).sort());
		expect(contacts[0]).toMatchObject({ udf_date_1: iso(more[0]!.start_time_gmt) });
	});

	it('creation on: 2 calls from a new number in a run + 1 in the next → exactly one contact with that number, created with documented phone objects; all three calls delivered once, the contact holds the newest', async () => {
		const s = await scenario(createUnknown);
		const base = Date.now() - 2 * HOUR;
		const number = '+74957400001';
		const first = s.pbx.addCallsAt([0, 10].map((m) => ({ startMs: base + m * MIN, durationSec: 40, flow: 'in' as const, from: number, result: 'answered' as const })));
		const r1 = ok(await n8n.execute(s.id));
		expect(uuidsOf(items(r1, 'Mark as Synced'))).toEqual(first.map((c) => c.call_uuid).sort());
		const created = items(r1, 'Create Contact');
		expect(created.map((i) => i.json.created)).toEqual([true, false]);
		const late = s.pbx.addCallsAt([{ startMs: base + 30 * MIN, durationSec: 75, flow: 'in', from: number, result: 'answered' }]);
		const r2 = ok(await n8n.execute(s.id));
		expect(uuidsOf(items(r2, 'Get New Calls'))).toEqual([late[0]!.call_uuid]);
		expect(items(r2, 'Write Call to Contact')).toHaveLength(1); // found by phone: the update branch
		const withNumber = s.crm.contacts.filter((c) => c.phone === number || ((c as { phones?: Array<{ number: string }> }).phones ?? []).some((p) => p.number === number));
		expect(withNumber).toHaveLength(1);
		const creates = s.crm.writeLog.filter((w) => w.kind === 'create');
		expect(creates).toHaveLength(1);
		expect(creates[0]!.body.phones_set).toEqual([{ action: 'ADD', type: 'MOBILE', number }]);
		expect(creates[0]!.body).not.toHaveProperty('phone');
		expect(withNumber[0]).toMatchObject({ last_name: `Caller ${number}`, udf_date_1: iso(late[0]!.start_time_gmt), udf_float_1: 75 });
		expect(items(ok(await n8n.execute(s.id)), 'Get New Calls')).toEqual([]);
	});

	it('the package loaded with no warning', () => {
		expect(n8n.loadWarnings()).toEqual([]);
	});
});
