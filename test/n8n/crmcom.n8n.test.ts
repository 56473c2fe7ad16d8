/**
 * CRM.COM inside a real n8n 2.41.1: the credential Test in all three login modes, one login for
 * 1,000 lookups, re-login on expiry signalled by HTTP 401 or by a 200 envelope, offset paging,
 * token placement by method, no leaks.
 */
import { describe, expect, it } from 'vitest';

import { CRMCOM_GROUPS, signIdentityJwt } from '../fakes/crmcom';
import { useFakeCrmCom } from '../support/crmcom';
import type { ExecutionResult } from './harness';
import { okItems as items, useN8n, useN8nServer } from './instance';
import { generateItems, id16, nodeType, workflow } from './workflows';

const CRM = nodeType('crmCom');
const CRED_TYPE = 'crmComApi';
const CRED = { id: id16('crmcred', 1), name: 'CRM.COM (fake)' };
const credentials = { [CRED_TYPE]: CRED };
const KEY = 'EE73C0AE64524371B5DDEFF5F7BB2192';
const AUTH_CODE = 'p_kestora1!';
const IDENTIFIER = 'web-user-7';
const PASS_CODE = 'pass-code-7';
const JWT_SECRET = 'identity-secret-for-tests-only';
const ORG = 'fake_org';

let tokensOutputOnPurpose = new Set<string>();

const contactGet = (extra: Record<string, unknown> = {}) => ({
	name: 'Contact',
	type: CRM,
	credentials,
	parameters: {
		resource: 'contact',
		operation: 'get',
		identifyBy: 'number',
		identifierValue: "={{ 'CI' + String($json.i % 3000 + 1).padStart(6, '0') }}",
		options: { concurrency: 10 },
		...extra,
	},
});

const WF = {
	contacts1000: workflow(id16('crmwfct', 1), 'CRM.COM contacts x1000', [...generateItems(1000), contactGet()]),
	contacts200: workflow(id16('crmwfct', 2), 'CRM.COM contacts x200', [...generateItems(200), contactGet()]),
	membersAll: workflow(id16('crmwfgm', 1), 'CRM.COM group members, all', [
		{ name: 'Members', type: CRM, credentials, parameters: { resource: 'account', operation: 'getGroupMembers', identifyBy: 'number', identifierValue: CRMCOM_GROUPS.big, returnAll: true } },
	]),
	members30: workflow(id16('crmwfgm', 2), 'CRM.COM group members, 30', [
		{ name: 'Members', type: CRM, credentials, parameters: { resource: 'account', operation: 'getGroupMembers', identifyBy: 'number', identifierValue: CRMCOM_GROUPS.big, returnAll: false, limit: 30 } },
	]),
	update: workflow(id16('crmwfup', 1), 'CRM.COM update (POST)', [
		{
			name: 'Update',
			type: CRM,
			credentials,
			parameters: {
				resource: 'apiRequest',
				operation: 'request',
				method: 'POST',
				action: 'contact_information/update',
				jsonBody: JSON.stringify({ contact_information_identifier: { number: 'CI000001' }, first_name: 'Updated' }),
			},
		},
	]),
	token: workflow(id16('crmwftok', 1), 'CRM.COM token', [{ name: 'Token', type: CRM, credentials, parameters: { resource: 'token', operation: 'get' } }]),
	failures: workflow(id16('crmwffail', 1), 'CRM.COM failure paths', [
		...generateItems(3),
		{
			name: 'Missing',
			type: CRM,
			credentials,
			onError: 'continueRegularOutput',
			parameters: { resource: 'contact', operation: 'get', identifyBy: 'number', identifierValue: '={{ "NOPE" + $json.i }}', options: { concurrency: 1 } },
		},
	]),
};

function expectContacts(result: ExecutionResult, count: number) {
	const out = items(result, 'Contact');
	expect(out).toHaveLength(count);
	out.forEach((item, i) => {
		expect(item.json.number).toBe(`CI${String((i % 3000) + 1).padStart(6, '0')}`);
		expect(item.pairedItem).toMatchObject({ item: i });
	});
}

const fake = useFakeCrmCom(
	{
		consumerKeys: [KEY],
		authenticationCodes: { [AUTH_CODE]: {} },
		identifiers: { [IDENTIFIER]: { passCode: PASS_CODE } },
		identityJwtSecret: JWT_SECRET,
		organisations: [ORG],
	},
	{ fresh: false },
);
const n8n = useN8n({
	credentials: () => [
		{ ...CRED, type: CRED_TYPE, data: { serverUrl: `${fake.url}/crmapi/rest/v2/`, consumerKey: KEY, loginMethod: 'authenticationCode', authenticationCode: AUTH_CODE } },
	],
	workflows: () => Object.values(WF),
});

describe('CRM.COM in n8n 2.41.1', () => {
	it('1,000 items through Contact → Get: exactly one login; a second execution: none', async () => {
		fake.reset();
		expectContacts(await n8n.execute(WF.contacts1000.id), 1000);
		expect(fake.counters.loginAttempts).toBe(1);
		expectContacts(await n8n.execute(WF.contacts200.id), 200);
		expect(fake.counters.loginAttempts).toBe(1);
	});

	it.each(['http401', 'envelope200'] as const)('session expired mid-run (%s): exactly one re-login, no item lost, persisted', async (mode) => {
		fake.settings.authFailureMode = mode;
		fake.reset();
		fake.expireTokensAfter(300);
		expectContacts(await n8n.execute(WF.contacts1000.id), 1000);
		expect(fake.counters.loginAttempts).toBe(1);
		// The renewed token was stored: the next execution logs in no more.
		expectContacts(await n8n.execute(WF.contacts200.id), 200);
		expect(fake.counters.loginAttempts).toBe(1);
		fake.settings.authFailureMode = 'envelope200';
	});

	it('Get Group Members: Return All over 2,500 → exactly 2,500 unique; Limit 30 → 30', async () => {
		const all = items(await n8n.execute(WF.membersAll.id), 'Members');
		expect(all).toHaveLength(2500);
		expect(new Set(all.map((m) => JSON.stringify(m.json))).size).toBe(2500);
		expect(items(await n8n.execute(WF.members30.id), 'Members')).toHaveLength(30);
	});

	it('a server that serves 50 rows a page (below the 100 asked): Return All still gives all 2,500', async () => {
		fake.settings.pageCap = 50;
		try {
			const all = items(await n8n.execute(WF.membersAll.id), 'Members');
			expect(all).toHaveLength(2500);
			expect(new Set(all.map((m) => JSON.stringify(m.json))).size).toBe(2500);
		} finally {
			fake.settings.pageCap = undefined;
		}
	});

	it('GET carries the token only in the query, POST only in the JSON body', async () => {
		fake.clearLog();
		fake.reset();
		items(await n8n.execute(WF.contacts200.id), 'Contact');
		items(await n8n.execute(WF.update.id), 'Update');
		expect(fake.counters.placementViolations).toBe(0);
		const gets = fake.requests.filter((r) => r.method === 'GET' && r.path.includes('contact_information/show'));
		expect(gets.length).toBe(200);
		for (const r of gets) {
			expect(typeof r.query.token).toBe('string');
			expect(r.headers.authorization).toBeUndefined();
			expect(r.rawBody).toBe('');
		}
		const posts = fake.requests.filter((r) => r.method === 'POST' && r.path.includes('contact_information/update'));
		expect(posts).toHaveLength(1);
		expect(posts[0].query.token).toBeUndefined();
		expect(JSON.parse(posts[0].rawBody).token).toEqual(expect.any(String));
		expect(fake.contacts.find((c) => c.number === 'CI000001')?.first_name).toBe('Updated');
	});

	it('Token → Get outputs a session token and its expiry', async () => {
		const [token] = items(await n8n.execute(WF.token.id), 'Token');
		tokensOutputOnPurpose = new Set([String(token.json.token)]);
		expect(fake.issuedTokens()).toContain(token.json.token);
		expect(Date.parse(String(token.json.expiresAt))).toBeGreaterThan(Date.now() + 3600_000);
	});

	describe('the credential Test (n8n server)', () => {
		useN8nServer(n8n, 120_000);
		const server = () => `${fake.url}/`;
		const test = async (name: string, data: Record<string, unknown>) => await n8n.testCredential({ name, type: CRED_TYPE, data: { serverUrl: server(), ...data } });

		it('passes in each of the three login modes', async () => {
			const results = [
				await test('code', { consumerKey: KEY, loginMethod: 'authenticationCode', authenticationCode: AUTH_CODE }),
				await test('pass code', { consumerKey: KEY, loginMethod: 'identifierPassCode', identifier: IDENTIFIER, passCode: PASS_CODE }),
				await test('jwt', { loginMethod: 'jwt', jwt: signIdentityJwt(JWT_SECRET, { sub: 'user-1' }), organisation: ORG, unit: '1' }),
			];
			for (const r of results) expect(r, r.message).toMatchObject({ status: 'OK' });
		});

		it('fails with a distinct, actionable message for a wrong key, a wrong pass code, a JWT without organisation', async () => {
			const wrongKey = await test('wrong key', { consumerKey: 'WRONGKEY0000', loginMethod: 'authenticationCode', authenticationCode: AUTH_CODE });
			const wrongPass = await test('wrong pass', { consumerKey: KEY, loginMethod: 'identifierPassCode', identifier: IDENTIFIER, passCode: 'nope-nope' });
			// n8n itself refuses to save a credential whose required field is empty, naming it;
			// the credential's own check (unit-tested) says the same for a missing organisation.
			const noOrgError = await test('no org', { loginMethod: 'jwt', jwt: signIdentityJwt(JWT_SECRET, { sub: 'user-1' }), organisation: '' }).then(
				() => undefined,
				(e: Error) => e,
			);
			const noOrg = { message: String(noOrgError?.message) };
			for (const r of [wrongKey, wrongPass]) expect(r.status).toBe('Error');
			expect(wrongKey.message).toMatch(/CRM\.COM refused the login.*consumer application key.*Check "Consumer Application Key"/i);
			expect(wrongPass.message).toMatch(/CRM\.COM refused the login.*pass code.*Check "Pass Code"/i);
			expect(noOrg.message).toMatch(/The field \\?"organisation\\?" is mandatory/);
			expect(new Set([wrongKey.message, wrongPass.message, noOrg.message]).size).toBe(3);
		});
	});

	it('no consumer key, pass code, identity JWT or session token in outputs (but Token → Get), errors or n8n\'s log', async () => {
		const soft = items(await n8n.execute(WF.failures.id), 'Missing');
		expect(soft).toHaveLength(3);
		expect(String(soft[0].json.error)).toMatch(/CRM\.COM refused the contact lookup.*NOT_FOUND/);
		const text = n8n.logText();
		const leaked = [KEY, AUTH_CODE, PASS_CODE, JWT_SECRET, ...fake.issuedTokens()].filter((s) => !tokensOutputOnPurpose.has(s) && text.includes(s));
		expect(leaked).toEqual([]);
	});

	it('the package loaded with no warning', () => {
		expect(n8n.loadWarnings()).toEqual([]);
	});
});
