/**
 * The shipped examples/pbx-call-sync.json (Virtual PBX Call Trigger → CRM.COM) in a real n8n 2.41.1
 * with the package installed the panel way, activated as a user activates it, with *Poll Times*
 * shortened to every 10 s (the only edit). The fake PBX lists calls while they are in progress
 * (no hangup time, duration so far); calls come in waves over several polls; CRM.COM refuses the
 * write of one contact for its own data; one caller withholds the number.
 *
 * Expected, judged on what CRM.COM holds at the end: every contact of a call holds its newest call
 * with the final duration and result, written once; the withheld caller is never looked up; the
 * refused call never holds up the others: it comes again alone and is set aside after 3 attempts
 * (its failed executions, one call each, stay in the execution list).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DEMO_SECRETS, loadExample, type CredentialRef } from '../../scripts/demo';
import { startFakeCrmCom, type CrmComContact, type FakeCrmCom } from '../fakes/crmcom';
import { startFakePbx, type FakePbx, type PbxCall } from '../fakes/pbx';
import { activateAndWait, executionsOf, waitUntil, type Execution } from '../support/callTrigger';
import { note, packPackage, startN8nInstance, type N8nInstance } from './harness';

const TRIGGER = 'New Call';
const REFS: Record<string, CredentialRef> = {
	crmComApi: { id: 'exTrigCrm0000001', name: 'CRM.COM (trigger example)' },
	virtualPbxTrustedAppApi: { id: 'exTrigPbx0000001', name: 'PBX (trigger example)' },
};

let n8n: N8nInstance;
let pbx: FakePbx;
let crm: FakeCrmCom;
let workflowId: string;
const timings: string[] = [];

beforeAll(async () => {
	pbx = await startFakePbx({ publicApps: [], trustedApps: [{ ...DEMO_SECRETS.pbxTrustedApp, name: 'trigger example' }], callCount: 0, statsDelayMs: 0, listInProgress: true });
	crm = await startFakeCrmCom({ consumerKeys: [DEMO_SECRETS.crmConsumerKey], authenticationCodes: { [DEMO_SECRETS.crmAuthenticationCode]: {} }, contactCount: 40, groupMemberCount: 10, jobCount: 0 });
	const tarball = await packPackage();
	n8n = await startN8nInstance({ tarball });
	await n8n.importCredentials([
		{ ...REFS.crmComApi!, type: 'crmComApi', data: { serverUrl: `${crm.url}/crmapi/rest/v2/`, consumerKey: DEMO_SECRETS.crmConsumerKey, loginMethod: 'authenticationCode', authenticationCode: DEMO_SECRETS.crmAuthenticationCode } },
		{ ...REFS.virtualPbxTrustedAppApi!, type: 'virtualPbxTrustedAppApi', data: { host: pbx.url, appId: DEMO_SECRETS.pbxTrustedApp.clientId, appSecret: DEMO_SECRETS.pbxTrustedApp.clientSecret } },
	]);
	const wf = loadExample('pbx-call-sync.json', REFS);
	workflowId = wf.id!;
	const trigger = wf.nodes.find((n) => n.name === TRIGGER)!;
	expect(trigger.parameters!.pollTimes).toEqual({ item: [{ mode: 'everyMinute' }] });
	trigger.parameters!.pollTimes = { item: [{ mode: 'custom', cronExpression: '*/10 * * * * *' }] };
	await n8n.importWorkflow([wf]);
	await n8n.startServer();
}, 600_000);

afterAll(async () => {
	note(`trigger example timings:\n  ${timings.join('\n  ')}`);
	await n8n?.dispose();
	await pbx?.close();
	await crm?.close();
});

const emitted = (e: Execution): string[] => (e.data?.resultData?.runData?.[TRIGGER]?.[0]?.data?.main?.[0] ?? []).map((i) => String(i.json.call_uuid));
const iso = (gmt: string): string => `${gmt.replace(' ', 'T')}Z`;

/** Gives a contact of the fake CRM.COM the phone number `phone`. */
function contactFor(index: number, phone: string): CrmComContact {
	const contact = crm.contacts[index]!;
	contact.phone = phone;
	contact.phones[0]!.number = phone;
	return contact;
}

describe('examples/pbx-call-sync.json (Virtual PBX Call Trigger) activated in n8n 2.41.1', () => {
	it('calls in progress, in waves over several polls, one refused, one withheld → each contact at its newest call written once, the refused one set aside after 3 attempts, the withheld one never looked up', async () => {
		const refusedNumber = '+74957500000';
		const refusedContact = contactFor(1, refusedNumber);
		crm.refuseWrite = (body) =>
			(body.contact_information_identifier as { number?: string }).number === refusedContact.number ? { code: 'E_INVALID_PARAMETER', message: 'udf_string_2 is locked for this contact' } : undefined;

		await activateAndWait(n8n, timings, workflowId);
		// The first poll fixes what is new: calls that end from then on.
		await waitUntil(timings, 'first poll', () => (pbx.listing.requests > 0 ? true : undefined), 60_000);

		const calls: PbxCall[] = [];
		const contacts = new Map<string, CrmComContact>();
		const wave = (n: number, extra: Array<{ from: string; durationSec: number }> = []) => {
			const now = Date.now();
			const specs = [...Array.from({ length: 2 }, (_, i) => ({ from: `+749576${String(n).padStart(2, '0')}00${i}`, durationSec: 6 + i * 9 })), ...extra];
			for (const [i, spec] of specs.entries()) {
				if (!contacts.has(spec.from) && spec.from !== 'anonymous' && spec.from !== refusedNumber) contacts.set(spec.from, contactFor(5 + contacts.size, spec.from));
				calls.push(...pbx.addCallsAt([{ startMs: now + i * 1000, durationSec: spec.durationSec, flow: 'in', from: spec.from, result: 'answered' }]));
			}
		};
		wave(1, [
			{ from: refusedNumber, durationSec: 4 },
			{ from: 'anonymous', durationSec: 5 },
			{ from: '+74957601000', durationSec: 25 }, // the first wave's first caller again, a longer call
		]);
		const refused = calls.find((c) => c.from_username === refusedNumber)!;
		for (let n = 2; n <= 6; n++) {
			await new Promise((r) => setTimeout(r, 12_000));
			wave(n);
		}
		const good = calls.filter((c) => c !== refused);

		// Done when every good call was emitted in a successful execution and the refused call failed
		// alone three times.
		const settled = await waitUntil(timings, 'every call delivered, the refused one set aside', async () => {
			const all = await executionsOf(n8n, workflowId);
			if (all.some((e) => e.status === 'running' || e.status === 'new')) return undefined;
			const delivered = new Set(all.filter((e) => e.status === 'success').flatMap(emitted));
			const alone = all.filter((e) => e.status === 'error' && emitted(e).length === 1 && emitted(e)[0] === refused.call_uuid);
			return good.every((c) => delivered.has(c.call_uuid)) && alone.length >= 3 ? all : undefined;
		}, 240_000);
		// Set aside: over the next polls (25 s, more than two) the refused call is not emitted again.
		const tries = (list: Execution[]) => list.filter((e) => emitted(e).includes(refused.call_uuid)).length;
		let before = tries(settled);
		let all = settled;
		for (let round = 0; round < 6; round++) {
			await new Promise((r) => setTimeout(r, 25_000));
			all = await executionsOf(n8n, workflowId);
			if (tries(all) === before) break;
			before = tries(all);
		}
		expect(tries(all)).toBe(before);
		expect(all.every((e) => e.mode === 'trigger')).toBe(true);

		// Each good call started exactly one successful execution; none emitted while in progress.
		const successes = all.filter((e) => e.status === 'success').flatMap(emitted);
		for (const c of good) expect(successes.filter((u) => u === c.call_uuid), c.call_uuid).toHaveLength(1);
		const failedAlone = all.filter((e) => e.status === 'error' && emitted(e).length === 1 && emitted(e)[0] === refused.call_uuid);
		expect(failedAlone.length).toBeGreaterThanOrEqual(3); // 3 counted attempts (a poll with no other success counts none)
		// The refused call was first in a batch with others: that execution failed, they came again.
		const firstFailure = all.find((e) => e.status === 'error')!;
		expect(emitted(firstFailure).length).toBeGreaterThan(1);

		// What CRM.COM holds: each contact at its newest call, final duration and result, each write once.
		for (const [number, contact] of contacts) {
			const theirs = good.filter((c) => c.from_username === number).sort((a, b) => a.start_time_gmt.localeCompare(b.start_time_gmt));
			const newest = theirs[theirs.length - 1]!;
			expect(contact, number).toMatchObject({ udf_date_1: iso(newest.start_time_gmt), udf_float_1: newest.duration, udf_string_2: 'answered' });
			expect(crm.writesTo(contact.number), number).toBe(theirs.length);
		}
		expect(crm.writesTo(refusedContact.number)).toBe(0);
		expect(crm.counters.writeRefusals).toBeGreaterThanOrEqual(4); // in the batch, then alone 3 times
		// The withheld caller: delivered, never looked up.
		const withheld = calls.find((c) => c.from_username === 'anonymous')!;
		expect(successes).toContain(withheld.call_uuid);
		const lookups = crm.requests.filter((r) => r.path.endsWith('contact_information/show')).map((r) => String(r.query.contact_information_identifier));
		expect(lookups.some((q) => /anonymous|phone=$/.test(q))).toBe(false);
		expect(crm.contacts).toHaveLength(40); // creating unknown callers is off
		timings.push(`executions: ${all.length} (${all.filter((e) => e.status === 'success').length} succeeded), calls ${calls.length}`);
	});

	it('the package loaded with no warning', () => {
		expect(n8n.loadWarnings()).toEqual([]);
	});
});
