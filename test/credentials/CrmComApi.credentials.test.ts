import type { ICredentialDataDecryptedObject, IDataObject, IHttpRequestOptions } from 'n8n-workflow';
import { describe, expect, it } from 'vitest';

import { CrmComApi, TEST_CONTACT_NUMBER, TOKEN_REFUSAL_CODES, crmComAuthenticate } from '../../credentials/CrmComApi.credentials';
import { crmComFingerprint } from '../../nodes/CrmCom/auth';
import { CRMCOM_PATHS, decodeJwtPayload } from '../fakes/crmcom';
import { useCrmComFixture } from '../support/crmcom';
import { testHttpRequest } from '../support/http';

const type = new CrmComApi();
const authenticate = crmComAuthenticate as (c: ICredentialDataDecryptedObject, r: IHttpRequestOptions) => Promise<IHttpRequestOptions>;

/** An `={{ … }}` credential expression, evaluated as n8n's expression engine would (plain JS). */
function evaluate(expression: string, credentials: ICredentialDataDecryptedObject): string {
	const match = /^=\{\{([\s\S]*)\}\}$/.exec(expression);
	if (!match) return expression;
	return String(new Function('$credentials', `return (${match[1]});`)(credentials));
}

async function preAuthenticate(credentials: ICredentialDataDecryptedObject): Promise<IDataObject> {
	return (await type.preAuthentication!.call({ helpers: { httpRequest: testHttpRequest } } as never, { ...credentials, sessionToken: '' })) as IDataObject;
}

/**
 * The declarative Test as n8n runs it: preAuthentication (forced), authenticate, the request,
 * then the rules. Returns n8n's verdict.
 */
async function credentialTest(credentials: ICredentialDataDecryptedObject): Promise<{ status: 'OK' | 'Error'; message: string; body?: unknown }> {
	let merged: ICredentialDataDecryptedObject;
	try {
		merged = { ...credentials, ...((await preAuthenticate(credentials)) as ICredentialDataDecryptedObject) };
	} catch (error) {
		return { status: 'Error', message: (error as Error).message };
	}
	const request = type.test.request;
	const options = await authenticate(merged, {
		...request,
		baseURL: evaluate(String(request.baseURL), merged),
		url: String(request.url),
		json: true,
	} as IHttpRequestOptions);
	const body = await testHttpRequest(options);
	for (const rule of type.test.rules ?? []) {
		if (rule.type !== 'responseSuccessBody') continue;
		const { key, value, message } = rule.properties;
		// lodash get, as n8n's credential tester reads rule keys.
		const found = key.split('.').reduce<unknown>((at, part) => (typeof at === 'object' && at !== null ? (at as IDataObject)[part] : undefined), body);
		if (found === value) return { status: 'Error', message, body };
	}
	return { status: 'OK', message: 'Connection tested successfully', body };
}

describe('CRM.COM API credential', () => {
	const f = useCrmComFixture({ tokenLifetimeSec: 3600 });

	it('has one hidden expirable token property, first among hidden ones, and password-typed secrets', () => {
		const hidden = type.properties.filter((p) => p.type === 'hidden');
		expect(hidden[0].name).toBe('sessionToken');
		expect(hidden.filter((p) => p.typeOptions?.expirable).map((p) => p.name)).toEqual(['sessionToken']);
		expect(hidden.map((p) => p.name).sort()).toEqual(['expiresAt', 'inputsFingerprint', 'sessionToken']);
		for (const name of ['consumerKey', 'authenticationCode', 'passCode', 'jwt', 'sessionToken']) {
			expect(type.properties.find((p) => p.name === name)?.typeOptions?.password).toBe(true);
		}
	});

	it.each(['authenticationCode', 'identifierPassCode', 'jwt'] as const)('preAuthentication (%s) returns sessionToken, expiresAt, inputsFingerprint', async (method) => {
		const credentials = f.byMethod[method];
		const output = await preAuthenticate(credentials);
		expect(Object.keys(output).sort()).toEqual(['expiresAt', 'inputsFingerprint', 'sessionToken']);
		expect(f.fake.issuedTokens()).toContain(output.sessionToken);
		expect(output.expiresAt).toBe(Number(decodeJwtPayload(String(output.sessionToken)).exp) * 1000);
		expect(output.inputsFingerprint).toBe(crmComFingerprint(credentials));
		expect(f.fake.counters.loginOk).toBe(1);
	});

	it('preAuthentication fails with the field to check', async () => {
		await expect(preAuthenticate({ ...f.credentials, consumerKey: 'ck-wrong-key-000000' })).rejects.toThrow(/INVALID_CONSUMER_APPLICATION_KEY.*Check "Consumer Application Key"/);
		await expect(preAuthenticate({ ...f.byMethod.jwt, organisation: '' })).rejects.toThrow(/"Organisation" field is empty/);
		expect(f.fake.counters.loginAttempts).toBe(1);
	});

	it.each(['authenticationCode', 'identifierPassCode', 'jwt'] as const)(
		'preAuthentication (%s) never repeats a secret CRM.COM echoed (the Test button shows this message as is)',
		async (method) => {
			const echo = `Refused ${f.secrets.join(' / ')}`;
			f.fake.fail({ path: CRMCOM_PATHS.login }, { status: 401, body: { data: null, status: { code: 'REFUSED', message: echo, description: echo } } });
			const error = await preAuthenticate(f.byMethod[method]).then(
				() => undefined,
				(e: unknown) => e as Error,
			);
			expect(error?.message).toMatch(/^CRM\.COM refused the login \(HTTP 401 Unauthorized\): "REFUSED: Refused /);
			const inputs = [f.byMethod[method].consumerKey, f.byMethod[method].authenticationCode, f.byMethod[method].passCode, f.byMethod[method].jwt];
			for (const secret of inputs) if (typeof secret === 'string') expect(error?.message).not.toContain(secret);
		},
	);

	it('authenticate puts the token in the query of a GET, without touching the caller\'s objects', async () => {
		const qs = { offset: 0 };
		const headers = { 'X-Other': '1' };
		const request: IHttpRequestOptions = { url: 'https://acme.crm.com/crmapi/rest/v2/jobs/list', method: 'GET', qs, headers };
		const out = await authenticate({ ...f.credentials, sessionToken: 'tok-123456' }, request);
		expect(out.qs).toEqual({ offset: 0, token: 'tok-123456' });
		expect(out.body).toBeUndefined();
		expect(out.headers).toEqual({ 'X-Other': '1' });
		expect(qs).toEqual({ offset: 0 });
		expect(request.qs).toBe(qs);
		// No method means GET; no qs at all still gets one.
		const bare = await authenticate({ ...f.credentials, sessionToken: 'tok-123456' }, { url: 'https://acme.crm.com/x/y' });
		expect(bare.qs).toEqual({ token: 'tok-123456' });
		expect(bare.body).toBeUndefined();
	});

	it('authenticate puts the token in the JSON body of a POST, never in its query', async () => {
		const body = { contact_information_identifier: { number: 'CI000001' }, notes: 'x' };
		const qs = { a: '1' };
		const request: IHttpRequestOptions = { url: 'https://acme.crm.com/crmapi/rest/v2/contact_information/update', method: 'POST', body, qs };
		const out = await authenticate({ ...f.credentials, sessionToken: 'tok-123456' }, request);
		expect(out.body).toEqual({ ...body, token: 'tok-123456' });
		expect(out.qs).toEqual({ a: '1' });
		expect(body).not.toHaveProperty('token');
		expect(qs).toEqual({ a: '1' });
		const empty = await authenticate({ ...f.credentials, sessionToken: 'tok-123456' }, { url: 'https://acme.crm.com/a/b', method: 'POST' });
		expect(empty.body).toEqual({ token: 'tok-123456' });
		expect(empty.qs).toBeUndefined();
	});

	it.each(['', '/', '/crmapi/rest/v2', '/crmapi/rest/v2/'])('the Test (server URL + %j) logs in, then looks up a contact that does not exist: NOT_FOUND passes', async (suffix) => {
		const verdict = await credentialTest({ ...f.credentials, serverUrl: `${f.fake.url}${suffix}` });
		expect(verdict.status, verdict.message).toBe('OK');
		expect(verdict.body).toMatchObject({ data: null, status: { code: 'NOT_FOUND' } });
		const [show] = f.fake.requestsTo(CRMCOM_PATHS.contactShow, 'GET');
		expect(show.query).toMatchObject({ contact_information_identifier: `number=${TEST_CONTACT_NUMBER}`, fields_set: 'id' });
		expect(f.fake.issuedTokens()).toContain(show.query.token);
		expect(f.fake.requestsTo(CRMCOM_PATHS.contactList)).toHaveLength(0);
		expect(f.fake.counters.placementViolations).toBe(0);
		expect(f.fake.counters).toMatchObject({ loginOk: 1, protectedOk: 1 });
	});

	it.each(['http404', 'envelope200'] as const)('the Test passes on a server without contact_information/list (%s) and whatever shape "not found" takes', async (mode) => {
		f.fake.settings.contactListMethod = mode;
		try {
			for (const shape of ['envelope200', 'http404', 'okEmpty'] as const) {
				f.fake.settings.notFoundShape = shape;
				const verdict = await credentialTest(f.credentials);
				expect(verdict.status, `${shape}: ${verdict.message}`).toBe('OK');
			}
			// The fake really has no list method now.
			const token = String((await preAuthenticate(f.credentials)).sessionToken);
			const list = await testHttpRequest({ url: `${f.fake.url}${CRMCOM_PATHS.contactList}`, qs: { token }, ignoreHttpStatusErrors: true, returnFullResponse: true });
			expect((list as { statusCode: number }).statusCode).toBe(mode === 'http404' ? 404 : 200);
		} finally {
			f.fake.settings.contactListMethod = 'present';
			f.fake.settings.notFoundShape = 'envelope200';
		}
	});

	it('the Test fails with the login message, or the rule message when the token is refused', async () => {
		const wrong = await credentialTest({ ...f.byMethod.identifierPassCode, passCode: 'pc-wrong-999999' });
		expect(wrong).toMatchObject({ status: 'Error' });
		expect(wrong.message).toMatch(/INVALID_PASS_CODE.*Check "Pass Code"/);
		expect(wrong.message).not.toContain('pc-wrong-999999');

		const key = await credentialTest({ ...f.credentials, consumerKey: 'ck-wrong-key-000000' });
		expect(key.message).toMatch(/INVALID_CONSUMER_APPLICATION_KEY.*Check "Consumer Application Key"/);

		for (const [status, code] of [[200, 'INVALID_TOKEN'], [401, 'TOKEN_EXPIRED'], [403, 'PERMISSION_DENIED']] as const) {
			f.fake.fail({ path: CRMCOM_PATHS.contactShow }, { status, body: { data: null, status: { code, message: 'No', description: '' } } });
			const refused = await credentialTest(f.credentials);
			expect(refused.status).toBe('Error');
			expect(refused.message).toBe(
				`CRM.COM accepted the login but refused the new session token on a contact lookup (contact_information/show answered ${code}). Check that the access token may read contacts, and the "Unit" field if you set one.`,
			);
		}
		f.fake.fail({ path: CRMCOM_PATHS.contactShow }, { kind: 'html', status: 404 });
		const html = await credentialTest(f.credentials);
		expect(html.status).toBe('Error');
		expect(html.message).toMatch(/^CRM\.COM accepted the login, but answered a contact lookup .* not a Web API answer\. Check the "Server URL" field/);
	});

	it('every token refusal code has its own rule and message', () => {
		const rules = (type.test.rules ?? []).filter((r) => r.type === 'responseSuccessBody' && r.properties.key === 'status.code');
		expect(rules.map((r) => (r.properties as { value: unknown }).value)).toEqual([...TOKEN_REFUSAL_CODES]);
		for (const code of ['NOT_FOUND', 'OK', 'UNKNOWN_METHOD', 'INVALID_PARAMETER']) expect(TOKEN_REFUSAL_CODES as readonly string[]).not.toContain(code);
	});
});
