import type { IDataObject, INodeExecutionData } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';
import { beforeEach, describe, expect, it } from 'vitest';

import { CrmComApi } from '../../../credentials/CrmComApi.credentials';
import { CrmCom } from '../../../nodes/CrmCom/CrmCom.node';
import { CRMCOM_GROUPS, CRMCOM_PATHS, crmEnvelope, decodeJwtPayload } from '../../fakes/crmcom';
import type { LoggedRequest } from '../../fakes/common';
import { createExecuteContext, credentialStore, many, runNode, type CredentialStore, type NodeParams } from '../../support/context';
import { AUTH_CODE, CONSUMER_KEY, PASS_CODE, useCrmComFixture } from '../../support/crmcom';

const node = new CrmCom();
const credentialType = new CrmComApi();

const f = useCrmComFixture();
let store: CredentialStore;

beforeEach(() => {
	f.fake.settings.authFailureMode = 'envelope200';
	f.shiftClock(0);
	store = credentialStore(credentialType, f.credentials);
});

const run = async (params: NodeParams, items: IDataObject[] = [{}], continueOnFail = false): Promise<INodeExecutionData[]> =>
	await runNode(node, { store, params, items, continueOnFail });

async function failure(params: NodeParams, items: IDataObject[] = [{}]): Promise<NodeApiError | NodeOperationError> {
	const error = await run(params, items).then(
		() => undefined,
		(e: unknown) => e,
	);
	expect(error instanceof NodeApiError || error instanceof NodeOperationError).toBe(true);
	return error as NodeApiError;
}

const number = (i: number) => `CI${String(i + 1).padStart(6, '0')}`;

const contact = (i: number) => ({
	resource: 'contact',
	operation: 'get',
	identifyBy: 'number',
	identifierValue: number(i),
	options: { concurrency: 10 },
});

function expectContactsInOrder(output: INodeExecutionData[], n: number) {
	expect(output).toHaveLength(n);
	output.forEach((item, i) => {
		expect(item.pairedItem).toEqual({ item: i });
		expect(item.json.number).toBe(number(i));
	});
}

const logins = () => f.fake.counters.loginAttempts;
const protectedRequests = () => f.fake.requests.filter((r) => r.path !== CRMCOM_PATHS.login);
const tokensSent = (requests: LoggedRequest[]) =>
	new Set(requests.map((r) => (r.method === 'GET' ? r.query.token : (JSON.parse(r.rawBody) as IDataObject).token)));

describe('login through the node', () => {
	it.each(['authenticationCode', 'identifierPassCode', 'jwt'] as const)('%s, with the optional unit: one login, token persisted', async (method) => {
		store = credentialStore(credentialType, { ...f.byMethod[method], unit: '2' });
		const output = await run(contact, many(3));
		expectContactsInOrder(output, 3);
		expect(logins()).toBe(1);
		expect(f.fake.counters.loginOk).toBe(1);
		expect(store.writes).toBe(1);
		const token = String(store.data.sessionToken);
		expect(f.fake.issuedTokens()).toContain(token);
		expect(decodeJwtPayload(token).oun).toBe('2');
		expect(store.data.inputsFingerprint).toMatch(/^[0-9a-f]{32}$/);
	});

	it.each(['', '/', '/crmapi/rest/v2', '/crmapi/rest/v2/'])('server URL + %j reaches /crmapi/rest/v2/…', async (suffix) => {
		store = credentialStore(credentialType, { ...f.credentials, serverUrl: `${f.fake.url}${suffix}` });
		expectContactsInOrder(await run(contact, many(2)), 2);
		expect(f.fake.requests.map((r) => r.path)).toEqual([CRMCOM_PATHS.login, CRMCOM_PATHS.contactShow, CRMCOM_PATHS.contactShow]);
	});

	it('a JWT without organisation is refused before any request, naming the field', async () => {
		store = credentialStore(credentialType, { ...f.byMethod.jwt, organisation: '' });
		const ctx = createExecuteContext({ store, params: contact, items: many(3), continueOnFail: true });
		const [output] = await node.execute.call(ctx);
		expect(output).toHaveLength(3);
		for (const item of output) expect(item.json.error).toMatch(/The "Organisation" field is empty\. CRM\.COM requires the organisation ID when you log in with an identity JWT/);
		expect(ctx.sent).toHaveLength(0);
		expect(f.fake.requests).toHaveLength(0);
	});

	it.each([
		['a wrong key', () => ({ ...f.credentials, consumerKey: 'ck-wrong-key-000000' }), /CRM\.COM refused the login.*INVALID_CONSUMER_APPLICATION_KEY.*Check "Consumer Application Key"/],
		['a wrong pass code', () => ({ ...f.byMethod.identifierPassCode, passCode: 'pc-wrong-999999' }), /CRM\.COM refused the login.*INVALID_PASS_CODE.*Check "Pass Code"/],
		['an unknown unit', () => ({ ...f.credentials, unit: '77' }), /CRM\.COM refused the login.*UNKNOWN_UNIT.*Check "Unit"/],
		['an unreachable server', () => ({ ...f.credentials, serverUrl: 'http://127.0.0.1:9' }), /Could not reach CRM\.COM at 127\.0\.0\.1:9: the connection was refused.*"Server URL"/],
	])('%s: every item fails with the same actionable message; one login attempt', async (_, make, pattern) => {
		store = credentialStore(credentialType, make());
		const output = await run(contact, many(30), true);
		expect(output).toHaveLength(30);
		output.forEach((item, i) => {
			expect(item.pairedItem).toEqual({ item: i });
			expect(item.json.error).toMatch(pattern);
		});
		expect(logins()).toBeLessThanOrEqual(1);
		expect(f.fake.counters.protectedRequests).toBe(0);
		const error = await failure(contact);
		expect(error.message).toMatch(pattern);
		expect(error.context.itemIndex).toBe(0);
	});

	it('a server URL that is not CRM.COM (HTML, garbage) is named as such', async () => {
		f.fake.fail({ path: CRMCOM_PATHS.login }, { kind: 'html', status: 200 });
		expect((await failure(contact)).message).toMatch(/"Server URL" does not look like a CRM\.COM Web API.*HTML page.*Check the "Server URL" field/);
		f.fake.fail({ path: CRMCOM_PATHS.login }, { kind: 'garbage' });
		expect((await failure(contact)).message).toMatch(/"Server URL" does not look like a CRM\.COM Web API.*text that is not JSON/);
		expect(f.fake.counters.protectedRequests).toBe(0);
	});
});

describe('session token lifetime', () => {
	it('stores the expiry read from the token\'s string exp claim', async () => {
		await run(contact);
		const claims = decodeJwtPayload(String(store.data.sessionToken));
		expect(typeof claims.exp).toBe('string');
		expect(store.data.expiresAt).toBe(Number(claims.exp) * 1000);
	});

	it('renews before the stored expiry passes: one login, no refused request reaches CRM.COM', async () => {
		await run(contact);
		const old = store.data.sessionToken;
		store.data.expiresAt = Date.now() - 1000;
		f.fake.reset();
		f.fake.clearLog();
		expectContactsInOrder(await run(contact, many(20)), 20);
		expect(logins()).toBe(1);
		expect(f.fake.counters.protectedRefused).toBe(0);
		expect(f.fake.counters.protectedOk).toBe(20);
		expect(store.data.sessionToken).not.toBe(old);
		expect(tokensSent(protectedRequests())).toEqual(new Set([store.data.sessionToken]));
	});

	it('renews a token whose exp is about to pass, as CRM.COM wrote it', async () => {
		// CRM.COM's clock is behind: the token it issues expires 10 s from (our) now.
		f.shiftClock(-(7200 - 10) * 1000);
		await run(contact);
		expect(Number(store.data.expiresAt) - Date.now()).toBeLessThan(11_000);
		f.shiftClock(0);
		f.fake.reset();
		await run(contact, many(5));
		expect(logins()).toBe(1);
		expect(f.fake.counters.protectedRefused).toBe(0);
	});

	it('logs in anew when the user edited the credential since the token was stored', async () => {
		await run(contact);
		store.data.unit = '2';
		f.fake.reset();
		await run(contact, many(5));
		expect(logins()).toBe(1);
		expect(f.fake.counters.protectedRefused).toBe(0);
		expect(decodeJwtPayload(String(store.data.sessionToken)).oun).toBe('2');
	});
});

describe('Contact → Get', () => {
	it('1,000 items: exactly one login; the next execution none', async () => {
		const output = await run(contact, many(1000));
		expectContactsInOrder(output, 1000);
		expect(logins()).toBe(1);
		// One read for the run, one re-check of the store before the first token (client.ts; no
		// renewal lock here: this context has no processed-items store, and no jittered wait in tests).
		expect(store.reads).toBe(2);
		expect(store.writes).toBe(1);
		expect(f.fake.counters.protectedOk).toBe(1000);
		f.fake.reset();
		expectContactsInOrder(await run(contact, many(1000)), 1000);
		expect(logins()).toBe(0);
		expect(f.fake.counters.protectedRefused).toBe(0);
	});

	it.each(['http401', 'envelope200'] as const)('token expired mid-run (%s): one re-login, nothing lost, the renewed token persisted', async (mode) => {
		await run(contact);
		const old = store.data.sessionToken;
		f.fake.settings.authFailureMode = mode;
		f.fake.reset();
		f.fake.expireTokensAfter(300);
		const output = await run(contact, many(1000));
		expectContactsInOrder(output, 1000);
		expect(logins()).toBe(1);
		expect(f.fake.counters.loginOk).toBe(1);
		expect(f.fake.counters.protectedRefused).toBeGreaterThan(0);
		expect(f.fake.counters.protectedRefusals).toEqual({ TOKEN_EXPIRED: f.fake.counters.protectedRefused });
		expect(store.writes).toBe(2);
		expect(store.data.sessionToken).not.toBe(old);

		f.fake.reset();
		f.fake.clearLog();
		expectContactsInOrder(await run(contact, many(50)), 50);
		expect(logins()).toBe(0);
		expect(f.fake.counters.protectedRefused).toBe(0);
		expect(tokensSent(protectedRequests())).toEqual(new Set([store.data.sessionToken]));
	});

	it('looks a caller up by phone (the + survives the query string), email, name or id', async () => {
		const target = f.fake.contacts[1233];
		for (const identifyBy of ['phone', 'email', 'name', 'id'] as const) {
			const [found] = await run({ ...contact(0), identifyBy, identifierValue: target[identifyBy] });
			expect(found.json).toEqual(target);
		}
		const [trimmed] = await run({ ...contact(0), identifyBy: 'other', identifierField: 'phone', identifierValue: target.phone, contactFields: { fieldsSet: 'number,phone' } });
		expect(trimmed.json).toEqual({ number: target.number, phone: target.phone });
		expect(logins()).toBe(1);
	});

	it('a NOT_FOUND contact is CRM.COM\'s message, no new login', async () => {
		await run(contact);
		f.fake.reset();
		const error = await failure({ ...contact(0), identifierValue: 'CI999999' });
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error.message).toBe('CRM.COM refused the contact lookup (number=CI999999): NOT_FOUND: Contact information not found — No contact information matches the specified identifier');
		expect(logins()).toBe(0);
		expect(f.fake.counters.protectedRequests).toBe(1);
	});
});

describe('lists', () => {
	const members = (group: string, extra: Record<string, unknown>) => ({
		resource: 'account',
		operation: 'getGroupMembers',
		identifyBy: 'number',
		identifierValue: group,
		...extra,
	});
	const jobs = (extra: Record<string, unknown>) => ({ resource: 'job', operation: 'getMany', ...extra });

	it('Get Group Members, Return All: exactly the 2,500 members, unique, in order', async () => {
		const output = await run(members(CRMCOM_GROUPS.big, { returnAll: true }));
		expect(output).toHaveLength(2500);
		expect(new Set(output.map((o) => o.json.id)).size).toBe(2500);
		expect(output[0].json.number).toBe('AR000001');
		expect(output[2499].json.number).toBe('AR002500');
		for (const item of output) expect(item.pairedItem).toEqual({ item: 0 });
		expect(logins()).toBe(1);
	});

	it('Get Group Members, Limit 30: exactly 30, in one page', async () => {
		const output = await run(members(CRMCOM_GROUPS.big, { returnAll: false, limit: 30 }));
		expect(output).toHaveLength(30);
		expect(new Set(output.map((o) => o.json.id)).size).toBe(30);
		const pages = f.fake.requestsTo(CRMCOM_PATHS.groupMembers);
		expect(pages).toHaveLength(1);
		expect(pages[0].query).toMatchObject({ number_of_results: '30', offset: '0' });
	});

	it('Get Group Members of a small group, Limit larger than the group', async () => {
		expect(await run(members(CRMCOM_GROUPS.small, { returnAll: false, limit: 50 }))).toHaveLength(7);
	});

	it('Job → Get Many, Return All: exactly 1,234 unique; Limit 30: exactly 30', async () => {
		const all = await run(jobs({ returnAll: true }));
		expect(all).toHaveLength(1234);
		expect(new Set(all.map((o) => o.json.id)).size).toBe(1234);
		expect(all[1233].json.number).toBe('J001234');
		const some = await run(jobs({ returnAll: false, limit: 30 }));
		expect(some).toHaveLength(30);
		expect(some.map((o) => o.json.number)).toEqual(all.slice(0, 30).map((o) => o.json.number));
		expect(logins()).toBe(1);
	});

	it('one list per input item, each paired with its item', async () => {
		const output = await run(jobs({ returnAll: false, limit: 3 }), many(4));
		expect(output).toHaveLength(12);
		output.forEach((item, k) => expect(item.pairedItem).toEqual({ item: Math.floor(k / 3) }));
	});
});

describe('token placement', () => {
	it('GET: only in the query; POST: only in the JSON body; the fake saw no violation', async () => {
		await run(contact, many(5));
		await run({ resource: 'account', operation: 'getGroupMembers', identifyBy: 'number', identifierValue: CRMCOM_GROUPS.small, returnAll: true });
		await run({ resource: 'job', operation: 'getMany', returnAll: false, limit: 5 });
		await run({ resource: 'apiRequest', operation: 'request', method: 'GET', action: 'contact_information/list', parameters: { parameter: [{ name: 'email', value: f.fake.contacts[3].email }] } });
		await run({
			resource: 'apiRequest',
			operation: 'request',
			method: 'POST',
			action: 'contact_information/update',
			jsonBody: JSON.stringify({ contact_information_identifier: { number: 'CI000004' }, notes: 'called back' }),
		});
		// A POST after the token expired: the resend carries the new token in the body too.
		f.fake.expireTokens();
		await run({ resource: 'apiRequest', operation: 'request', method: 'POST', action: 'contact_information/update', jsonBody: { contact_information_identifier: { number: 'CI000005' }, notes: 'again' } });

		expect(f.fake.counters.placementViolations).toBe(0);
		expect(f.fake.placementLog).toEqual([]);
		const issued = f.fake.issuedTokens();
		const gets = protectedRequests().filter((r) => r.method === 'GET');
		const posts = protectedRequests().filter((r) => r.method === 'POST');
		expect(gets.length).toBeGreaterThan(5);
		expect(posts).toHaveLength(3);
		for (const r of gets) {
			expect(issued).toContain(r.query.token);
			expect(r.rawBody).toBe('');
			expect(r.headers.authorization).toBeUndefined();
			for (const value of Object.values(r.headers)) for (const token of issued) expect(String(value)).not.toContain(token);
		}
		for (const r of posts) {
			expect(r.query).toEqual({});
			expect(issued).toContain((JSON.parse(r.rawBody) as IDataObject).token);
			expect(r.headers.authorization).toBeUndefined();
			for (const value of Object.values(r.headers)) for (const token of issued) expect(String(value)).not.toContain(token);
		}
		expect(f.fake.contacts[3].notes).toBe('called back');
		expect(f.fake.contacts[4].notes).toBe('again');
		expect(logins()).toBe(2);
	});
});

describe('API Request', () => {
	const api = (method: 'GET' | 'POST', action: string, parameters: Record<string, string> = {}, extra: Record<string, unknown> = {}) => ({
		resource: 'apiRequest',
		operation: 'request',
		method,
		action,
		parameters: { parameter: Object.entries(parameters).map(([name, value]) => ({ name, value })) },
		...extra,
	});

	it('GET returns the envelope\'s data: one contact by id, callers looked up by phone, email or name', async () => {
		const target = f.fake.contacts[41];
		const [shown] = await run(api('GET', 'contact_information/show', { contact_information_identifier: `id=${target.id}` }));
		expect(shown.json).toEqual(target);
		for (const field of ['phone', 'email', 'name'] as const) {
			const rows = await run(api('GET', 'contact_information/list', { [field]: String(target[field]) }));
			expect(rows.map((r) => r.json)).toEqual([target]);
		}
		expect(await run(api('GET', '/crmapi/rest/v2/contact_information/list/', { phone: '+35700000000' }))).toEqual([]);
		const page = await run(api('GET', 'contact_information/list', { number_of_results: '3', offset: '10' }));
		expect(page.map((r) => r.json.number)).toEqual(['CI000011', 'CI000012', 'CI000013']);
		expect(logins()).toBe(1);
	});

	it('POST returns the updated record', async () => {
		const [updated] = await run(api('POST', 'contact_information/update', { notes: 'VIP' }, { jsonBody: '{"contact_information_identifier": {"number": "CI000009"}}' }));
		expect(updated.json).toMatchObject({ number: 'CI000009', notes: 'VIP' });
		expect(f.fake.contacts[8].notes).toBe('VIP');
	});

	it('a non-OK envelope raises CRM.COM\'s status message without a new login', async () => {
		await run(contact);
		f.fake.reset();
		const error = await failure(api('GET', 'contact_information/show', { contact_information_identifier: 'number=CI999999' }));
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error.message).toBe('CRM.COM refused GET contact_information/show: NOT_FOUND: Contact information not found — No contact information matches the specified identifier');
		expect((error as NodeApiError).httpCode).toBe('200');
		const invalid = await failure(api('POST', 'contact_information/update', { notes: 'x' }, { jsonBody: { contact_information_identifier: { number: 'CI000001' }, emails_set: [{ action: 'ADD', type: 'PERSONAL', email_address: 'not-an-email' }] } }));
		expect(invalid.message).toBe('CRM.COM refused POST contact_information/update: INVALID_PARAMETER: emails_set[0].email_address is not a valid email address');
		expect(logins()).toBe(0);
		expect(f.fake.counters.protectedRequests).toBe(2);
	});

	it('a NOT_FOUND that quotes words like "session" or "auth" is still a business error: no new login', async () => {
		await run(contact);
		f.fake.reset();
		f.fake.clearLog();
		const said = 'No contact information named "Authority Session Tokens Ltd" was found';
		f.fake.fail({ path: CRMCOM_PATHS.contactShow }, { status: 200, body: crmEnvelope(null, 'NOT_FOUND', 'Contact information not found', said) });
		const error = await failure(api('GET', 'contact_information/show', { contact_information_identifier: 'name=Authority Session Tokens Ltd' }));
		expect(error.message).toBe(`CRM.COM refused GET contact_information/show: NOT_FOUND: Contact information not found — ${said}`);
		expect(logins()).toBe(0);
		expect(f.fake.requestsTo(CRMCOM_PATHS.contactShow)).toHaveLength(1);
	});

	it('an unknown method (HTTP 404 envelope) is reported, not retried with a new login', async () => {
		await run(contact);
		f.fake.reset();
		const error = await failure(api('GET', 'contact_information/delete'));
		expect(error.message).toMatch(/^CRM\.COM refused GET contact_information\/delete: UNKNOWN_METHOD: Unknown Web API method/);
		expect(logins()).toBe(0);
	});

	it('continue on fail: one error item per failed input, in place', async () => {
		const params = (i: number) => api('GET', 'contact_information/show', { contact_information_identifier: `number=${i % 3 === 2 ? 'CI999999' : number(i)}` }, { options: { concurrency: 4 } });
		const output = await run(params, many(9), true);
		expect(output).toHaveLength(9);
		output.forEach((item, i) => {
			expect(item.pairedItem).toEqual({ item: i });
			if (i % 3 === 2) {
				expect(item.json).toEqual({
					error: 'CRM.COM refused GET contact_information/show: NOT_FOUND: Contact information not found — No contact information matches the specified identifier',
					httpCode: '200',
				});
			} else {
				expect(item.json.number).toBe(number(i));
			}
		});
		expect(logins()).toBe(1);
	});

	it('a token refused again right after a new login: one re-login, then CRM.COM\'s words', async () => {
		await run(contact);
		f.fake.reset();
		f.fake.clearLog();
		const refused = { status: 200, body: crmEnvelope(null, 'INVALID_TOKEN', 'Invalid token', 'The authentication token is not valid') };
		f.fake.fail({ path: CRMCOM_PATHS.contactShow, times: 2 }, refused);
		const error = await failure(api('GET', 'contact_information/show', { contact_information_identifier: 'number=CI000001' }));
		expect(error.message).toBe('CRM.COM refused the session token for GET contact_information/show even after logging in again: INVALID_TOKEN: Invalid token — The authentication token is not valid');
		expect(error.description).toMatch(/permissions/);
		expect(logins()).toBe(1);
		expect(f.fake.requestsTo(CRMCOM_PATHS.contactShow)).toHaveLength(2);
	});

	it('refuses a malformed action or JSON body before any request', async () => {
		const action = await failure(api('GET', 'https://evil.example.com/x'));
		expect(action).toBeInstanceOf(NodeOperationError);
		expect(action.message).toMatch(/"Resource and Action".*is not a CRM\.COM method/);
		const body = await failure(api('POST', 'contact_information/update', {}, { jsonBody: '{nope' }));
		expect(body.message).toBe('The "JSON Body" parameter is not a JSON object');
		expect(f.fake.requests).toHaveLength(0);
	});
});

describe('Token → Get', () => {
	it('outputs the session token and when it expires', async () => {
		const [got] = await run({ resource: 'token', operation: 'get' });
		const token = String(got.json.token);
		expect(f.fake.issuedTokens()).toContain(token);
		expect(got.json.expiresAt).toBe(new Date(Number(decodeJwtPayload(token).exp) * 1000).toISOString());
		expect(Number(got.json.expiresIn)).toBeGreaterThan(7100);
		expect(got.pairedItem).toEqual({ item: 0 });
		expect(logins()).toBe(1);
	});

	it('with a wrong pass code: the login message naming the field', async () => {
		store = credentialStore(credentialType, { ...f.byMethod.identifierPassCode, passCode: 'pc-wrong-999999' });
		const error = await failure({ resource: 'token', operation: 'get' });
		expect(error.message).toMatch(/INVALID_PASS_CODE.*Check "Pass Code"/);
		expect(error.message).not.toContain('pc-wrong-999999');
	});
});

describe('secrets never leak', () => {
	it('no key, pass code, identity JWT, authentication code or session token in outputs or errors', async () => {
		const seen: unknown[] = [];
		const collect = async (params: NodeParams, items: IDataObject[] = [{}]) => {
			for (const continueOnFail of [true, false]) {
				try {
					seen.push(await run(params, items, continueOnFail));
				} catch (error) {
					const e = error as NodeApiError;
					seen.push({ message: e.message, description: e.description, context: e.context, httpCode: e.httpCode });
				}
			}
		};
		const show = (value: string) => ({ resource: 'apiRequest', operation: 'request', method: 'GET', action: 'contact_information/show', parameters: { parameter: [{ name: 'contact_information_identifier', value }] } });
		const post = { resource: 'apiRequest', operation: 'request', method: 'POST', action: 'contact_information/update', jsonBody: { contact_information_identifier: { number: 'CI000001' }, notes: 'n' } };

		// Working runs, expiry and renewal, business errors.
		await collect(contact, many(3));
		f.fake.expireTokens();
		await collect(contact, many(3));
		f.fake.settings.authFailureMode = 'http401';
		f.fake.expireTokens();
		await collect(post);
		await collect(show('number=CI999999'));
		await collect({ ...post, jsonBody: { contact_information_identifier: { number: 'CI000001' }, email: 'bad' } });
		// Refused even after a new login, HTML and garbage answers, dropped connections.
		f.fake.fail({ path: CRMCOM_PATHS.contactShow, times: 4 }, { status: 401, body: crmEnvelope(null, 'INVALID_TOKEN', 'Invalid token') });
		await collect(show('number=CI000001'));
		f.fake.fail({ path: CRMCOM_PATHS.contactShow, times: 2 }, { kind: 'html', status: 200 });
		await collect(show('number=CI000001'));
		f.fake.fail({ path: CRMCOM_PATHS.contactShow, times: 2 }, { status: 404, body: '<html><body>Not here</body></html>' });
		await collect(show('number=CI000001'));
		f.fake.fail({ path: CRMCOM_PATHS.contactShow, times: 2 }, { kind: 'garbage' });
		await collect(show('number=CI000001'));
		f.fake.fail({ path: CRMCOM_PATHS.contactUpdate, times: 2 }, { kind: 'drop' });
		await collect(post);
		// Login failures of every kind, in every mode.
		const wrong = [
			{ ...f.credentials, consumerKey: 'ck-wrong-key-000000' },
			{ ...f.credentials, authenticationCode: 'ac-unknown-0000' },
			{ ...f.byMethod.identifierPassCode, passCode: 'pc-wrong-999999' },
			{ ...f.byMethod.identifierPassCode, consumerKey: '' },
			{ ...f.byMethod.jwt, organisation: '' },
			{ ...f.byMethod.jwt, organisation: 'no_such_org' },
			{ ...f.byMethod.jwt, jwt: `${f.identityJwt}x` },
			{ ...f.credentials, unit: '77' },
			{ ...f.credentials, serverUrl: 'http://127.0.0.1:9' },
		];
		for (const credentials of wrong) {
			store = credentialStore(credentialType, credentials);
			await collect(contact, many(2));
			await collect({ resource: 'token', operation: 'get' });
		}
		// CRM.COM echoing what it was sent: the login inputs, the session token.
		const echoes = {
			authenticationCode: `Unknown authentication code ${AUTH_CODE} for key ${CONSUMER_KEY}`,
			identifierPassCode: `Invalid pass code ${PASS_CODE} for key ${CONSUMER_KEY}`,
			jwt: `Invalid jwt ${f.identityJwt} for key ${CONSUMER_KEY}`,
		};
		for (const [method, echo] of Object.entries(echoes) as Array<[keyof typeof echoes, string]>) {
			store = credentialStore(credentialType, f.byMethod[method]);
			f.fake.fail({ path: CRMCOM_PATHS.login, times: 4 }, { status: 200, body: crmEnvelope(null, 'REFUSED', echo, echo) });
			await collect(contact);
			await collect({ resource: 'token', operation: 'get' });
		}
		store = credentialStore(credentialType, f.credentials);
		await run(contact);
		const live = String(store.data.sessionToken);
		f.fake.fail({ path: CRMCOM_PATHS.contactShow, times: 2 }, { status: 200, body: crmEnvelope(null, 'NOT_FOUND', `No contact for ${live}`, `Sent: ${live}`) });
		await collect(contact);
		f.fake.fail({ path: CRMCOM_PATHS.contactUpdate, times: 2 }, { status: 500, body: { message: `Internal error near ${live}` } });
		await collect(post);
		f.fake.fail({ path: CRMCOM_PATHS.login, times: 2 }, { kind: 'html', status: 200 });
		await collect(contact);
		f.fake.fail({ path: CRMCOM_PATHS.login, times: 2 }, { kind: 'garbage' });
		await collect(contact);

		const text = JSON.stringify(seen);
		expect(text).toContain('CRM.COM');
		expect(text).toContain('INVALID_PASS_CODE');
		const issued = f.fake.issuedTokens();
		expect(issued.length).toBeGreaterThan(3);
		for (const secret of [...f.secrets, ...issued, 'ck-wrong-key-000000', 'ac-unknown-0000', 'pc-wrong-999999', `${f.identityJwt}x`]) {
			expect(text).not.toContain(secret);
		}
		expect(text).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
	});
});
