import type { ICredentialDataDecryptedObject, IHttpRequestOptions } from 'n8n-workflow';
import { afterEach, describe, expect, it } from 'vitest';

import {
	SESSION_LIFETIME_MS,
	acquireCrmComSession,
	crmComFingerprint,
	loginCrmCom,
	normalizeCrmComBase,
	readCrmComLogin,
} from '../../../nodes/CrmCom/auth';
import { isCrmComAuthFailure } from '../../../nodes/CrmCom/transport';
import { TokenError } from '../../../nodes/shared/errors';
import { startFakeServer } from '../../fakes/common';
import { CRMCOM_PATHS, crmEnvelope, decodeJwtPayload, signIdentityJwt } from '../../fakes/crmcom';
import {
	AUTH_CODE,
	CONSUMER_KEY,
	IDENTIFIER,
	IDENTITY_SECRET,
	ORGANISATION,
	PASS_CODE,
	useCrmComFixture,
	type CrmComFixture,
} from '../../support/crmcom';
import { failureOf, thrownBy } from '../../support/failure';
import { testHttpRequest } from '../../support/http';

const tokenError = (fn: () => unknown): TokenError => thrownBy(TokenError, fn);
const refusal = async (promise: Promise<unknown>): Promise<TokenError> => await failureOf(TokenError, promise);

const code = (overrides: Record<string, unknown> = {}): ICredentialDataDecryptedObject => ({
	serverUrl: 'https://acme.crm.com',
	consumerKey: CONSUMER_KEY,
	loginMethod: 'authenticationCode',
	authenticationCode: AUTH_CODE,
	...overrides,
});

describe('server URL', () => {
	it.each([
		'https://acme.crm.com',
		'https://acme.crm.com/',
		'https://acme.crm.com///',
		'https://acme.crm.com/crmapi/rest/v2',
		'https://acme.crm.com/crmapi/rest/v2/',
		'  https://acme.crm.com/CRMAPI/rest/v2/  ',
		'https://acme.crm.com/crmapi',
		'https://acme.crm.com/crmapi/rest/',
	])('accepts %j', (value) => {
		expect(normalizeCrmComBase(value)).toBe('https://acme.crm.com/crmapi/rest/v2');
	});

	it('keeps a path prefix in front of the API path', () => {
		expect(normalizeCrmComBase('http://127.0.0.1:8080/tenant/crmapi/rest/v2/')).toBe('http://127.0.0.1:8080/tenant/crmapi/rest/v2');
	});

	it.each([
		['', /is empty/],
		['acme.crm.com', /not an http\(s\) URL/],
		['ftp://acme.crm.com', /not an http\(s\) URL/],
		['https://acme.crm.com/?x=1', /must not contain "\?"/],
	])('refuses %j naming "Server URL"', (value, pattern) => {
		const error = tokenError(() => normalizeCrmComBase(value));
		expect(error.kind).toBe('input');
		expect(error.field).toBe('Server URL');
		expect(error.message).toContain('"Server URL"');
		expect(error.message).toMatch(pattern);
	});
});

describe('login inputs', () => {
	it('builds the body of each login method; unit only when given', () => {
		expect(readCrmComLogin(code()).body).toEqual({ access_token_identifier: { authentication_code: AUTH_CODE } });
		expect(readCrmComLogin(code({ unit: ' 2 ' })).body).toEqual({ access_token_identifier: { authentication_code: AUTH_CODE }, unit: '2' });
		expect(readCrmComLogin(code({ loginMethod: 'identifierPassCode', identifier: IDENTIFIER, passCode: PASS_CODE })).body).toEqual({
			access_token_identifier: { identifier: IDENTIFIER, pass_code: PASS_CODE },
		});
		expect(readCrmComLogin(code({ loginMethod: 'jwt', jwt: 'a.b.c', organisation: ORGANISATION })).body).toEqual({ jwt: 'a.b.c', organisation: ORGANISATION });
	});

	it.each([
		[code({ authenticationCode: '' }), 'Authentication Code'],
		[code({ loginMethod: 'identifierPassCode', identifier: '', passCode: PASS_CODE }), 'Identifier'],
		[code({ loginMethod: 'identifierPassCode', identifier: IDENTIFIER, passCode: ' ' }), 'Pass Code'],
		[code({ loginMethod: 'identifierPassCode', consumerKey: '', identifier: IDENTIFIER, passCode: PASS_CODE }), 'Consumer Application Key'],
		[code({ loginMethod: 'jwt', jwt: '' , organisation: ORGANISATION }), 'Identity JWT'],
		[code({ loginMethod: 'jwt', jwt: 'a.b.c', organisation: '' }), 'Organisation'],
		[code({ loginMethod: 'magic' }), 'Login Method'],
		[code({ serverUrl: 'nope' }), 'Server URL'],
	])('refuses %o naming "%s"', (credentials, field) => {
		const error = tokenError(() => readCrmComLogin(credentials));
		expect(error.kind).toBe('input');
		expect(error.field).toBe(field);
		expect(error.message).toContain(`"${field}"`);
	});

	it('a JWT without organisation is refused before any request', async () => {
		let requests = 0;
		const http = async () => {
			requests++;
			return {};
		};
		const error = await refusal(loginCrmCom(code({ loginMethod: 'jwt', jwt: 'a.b.c', organisation: '' }), http));
		expect(error.message).toMatch(/"Organisation" field is empty.*identity JWT/);
		await refusal(loginCrmCom(code({ authenticationCode: '' }), http));
		expect(requests).toBe(0);
	});

	it('the fingerprint follows the inputs, not a trailing slash', () => {
		const base = crmComFingerprint(code());
		expect(crmComFingerprint(code({ serverUrl: 'https://acme.crm.com/' }))).toBe(base);
		expect(crmComFingerprint(code({ authenticationCode: 'other-code' }))).not.toBe(base);
		expect(crmComFingerprint(code({ unit: '2' }))).not.toBe(base);
		expect(base).not.toContain(AUTH_CODE);
	});
});

describe('the refused-token rule', () => {
	const answer = (statusCode: number, body: unknown) => ({ statusCode, headers: {}, body });
	it.each([
		[answer(401, crmEnvelope(null, 'INVALID_TOKEN', 'Invalid token')), true],
		[answer(403, 'Forbidden'), true],
		[answer(200, crmEnvelope(null, 'TOKEN_EXPIRED', 'Token expired')), true],
		[answer(200, crmEnvelope(null, 'MISSING_TOKEN', 'token is mandatory')), true],
		[answer(200, crmEnvelope(null, 'E1001', 'Session has expired')), true],
		[answer(200, crmEnvelope(null, 'NOT_FOUND', 'Contact information not found', 'No contact information matches the specified identifier')), false],
		[answer(200, crmEnvelope(null, 'NOT_FOUND', 'Contact information not found', 'No contact named "Auth Session Ltd"')), false],
		[answer(200, crmEnvelope(null, 'ACCOUNTS_RECEIVABLE_NOT_FOUND', 'Account "Token Traders" not found')), false],
		[answer(200, crmEnvelope(null, 'TOKEN_NOT_FOUND', 'Unknown token')), true],
		[answer(200, crmEnvelope(null, 'SESSION_NOT_FOUND', 'Log in again')), true],
		[answer(200, crmEnvelope(null, 'INVALID_PARAMETER', 'email is not a valid email address')), false],
		[answer(200, crmEnvelope({ id: 1 })), false],
		[answer(404, crmEnvelope(null, 'UNKNOWN_METHOD', 'Unknown Web API method')), false],
	])('%o → %s', (response, refused) => {
		expect(isCrmComAuthFailure(response)).toBe(refused);
	});
});

describe('against the fake CRM.COM', () => {
	const f = useCrmComFixture({ tokenLifetimeSec: 3600 });
	afterEach(() => {
		f.fake.settings.loginErrorHttpStatus = 200;
	});

	const loginRequests = () => f.fake.requestsTo(CRMCOM_PATHS.login, 'POST');

	it('authentication code: key as Basic username with an empty password', async () => {
		const session = await loginCrmCom(f.credentials, testHttpRequest);
		expect(f.fake.issuedTokens()).toContain(session.sessionToken);
		const [sent] = loginRequests();
		expect(sent.headers.authorization).toBe(`Basic ${Buffer.from(`${CONSUMER_KEY}:`).toString('base64')}`);
		expect(JSON.parse(sent.rawBody)).toEqual({ access_token_identifier: { authentication_code: AUTH_CODE } });
		expect(decodeJwtPayload(session.sessionToken)).toMatchObject({ oun: '1', usr: `code:${AUTH_CODE}` });
	});

	it('authentication code without a key (R16.2): no Authorization header', async () => {
		const session = await loginCrmCom({ ...f.credentials, consumerKey: '' }, testHttpRequest);
		expect(session.sessionToken).toBeTruthy();
		expect(loginRequests()[0].headers.authorization).toBeUndefined();
	});

	it('identifier + pass code', async () => {
		const session = await loginCrmCom(f.byMethod.identifierPassCode, testHttpRequest);
		expect(decodeJwtPayload(session.sessionToken).usr).toBe(IDENTIFIER);
		expect(JSON.parse(loginRequests()[0].rawBody)).toEqual({ access_token_identifier: { identifier: IDENTIFIER, pass_code: PASS_CODE } });
	});

	it('identity JWT + organisation, with or without a key', async () => {
		const withKey = await loginCrmCom({ ...f.byMethod.jwt, organisation: 'other_org' }, testHttpRequest);
		expect(decodeJwtPayload(withKey.sessionToken)).toMatchObject({ usr: 'identity-user-7', org: 'other_org' });
		const withoutKey = await loginCrmCom({ ...f.byMethod.jwt, consumerKey: '' }, testHttpRequest);
		expect(decodeJwtPayload(withoutKey.sessionToken).org).toBe(ORGANISATION);
		const [first, second] = loginRequests();
		expect(JSON.parse(first.rawBody)).toEqual({ jwt: f.identityJwt, organisation: 'other_org' });
		expect(second.headers.authorization).toBeUndefined();
	});

	it.each(['authenticationCode', 'identifierPassCode', 'jwt'] as const)('%s with the optional unit', async (method) => {
		const session = await loginCrmCom({ ...f.byMethod[method], unit: '2' }, testHttpRequest);
		expect(decodeJwtPayload(session.sessionToken).oun).toBe('2');
		expect(JSON.parse(loginRequests()[0].rawBody).unit).toBe('2');
	});

	it('reads the session token\'s string exp claim as the expiry', async () => {
		const before = Date.now();
		const session = await acquireCrmComSession(f.credentials, testHttpRequest);
		const claims = decodeJwtPayload(session.sessionToken);
		expect(typeof claims.exp).toBe('string');
		expect(session.expiresAt).toBe(Number(claims.exp) * 1000);
		// The fake's tokens live one hour here, not the documented two: the claim was read.
		expect(session.expiresAt - before).toBeLessThan(SESSION_LIFETIME_MS - 30 * 60_000);
		expect(session.expiresAt - before).toBeGreaterThan(3500_000);
		expect(session.inputsFingerprint).toBe(crmComFingerprint(f.credentials));
	});

	it('accepts the server URL with or without /crmapi/rest/v2 and a trailing slash', async () => {
		for (const serverUrl of [f.fake.url, `${f.fake.url}/`, `${f.fake.url}/crmapi/rest/v2`, `${f.fake.url}/crmapi/rest/v2/`]) {
			const session = await loginCrmCom({ ...f.credentials, serverUrl }, testHttpRequest);
			expect(session.sessionToken).toBeTruthy();
		}
		expect(loginRequests()).toHaveLength(4);
		expect(f.fake.counters.loginOk).toBe(4);
	});

	const refusals: Array<[string, (f: CrmComFixture) => ICredentialDataDecryptedObject, RegExp, string]> = [
		['a wrong consumer key', (x) => ({ ...x.credentials, consumerKey: 'ck-wrong-key-000000' }), /INVALID_CONSUMER_APPLICATION_KEY/, 'Consumer Application Key'],
		['a wrong pass code', (x) => ({ ...x.byMethod.identifierPassCode, passCode: 'pc-wrong-999999' }), /INVALID_PASS_CODE/, 'Pass Code'],
		['an unknown identifier', (x) => ({ ...x.byMethod.identifierPassCode, identifier: 'nobody@example.com' }), /UNKNOWN_IDENTIFIER/, 'Identifier'],
		['an unknown authentication code', (x) => ({ ...x.credentials, authenticationCode: 'ac-unknown-0000' }), /UNKNOWN_AUTHENTICATION_CODE/, 'Authentication Code'],
		['an unknown organisation', (x) => ({ ...x.byMethod.jwt, organisation: 'no_such_org' }), /UNKNOWN_ORGANISATION/, 'Organisation'],
		['an unknown unit', (x) => ({ ...x.credentials, unit: '99' }), /UNKNOWN_UNIT/, 'Unit'],
		[
			'an expired identity JWT',
			(x) => ({ ...x.byMethod.jwt, jwt: signIdentityJwt(IDENTITY_SECRET, {}, { now: Date.now() - 3600_000, expiresInSec: 60 }) }),
			/JWT_EXPIRED/,
			'Identity JWT',
		],
		['an identity JWT signed by someone else', (x) => ({ ...x.byMethod.jwt, jwt: signIdentityJwt('not-the-secret', {}) }), /INVALID_JWT/, 'Identity JWT'],
	];

	it.each([200, 401])('distinct refusals, each naming its field, quoting CRM.COM, without secrets (HTTP %i)', async (status) => {
		f.fake.settings.loginErrorHttpStatus = status;
		const messages: string[] = [];
		for (const [, make, pattern, field] of refusals) {
			const credentials = make(f);
			const error = await refusal(loginCrmCom(credentials, testHttpRequest));
			expect(error.kind).toBe('vendor');
			expect(error.message).toMatch(/^CRM\.COM refused the login/);
			expect(error.message).toContain(`HTTP ${status}`);
			expect(error.message).toMatch(pattern);
			expect(error.message).toContain(`Check "${field}"`);
			for (const secret of [CONSUMER_KEY, AUTH_CODE, PASS_CODE, f.identityJwt, credentials.passCode, credentials.jwt, credentials.authenticationCode]) {
				if (typeof secret === 'string' && secret !== '') expect(error.message).not.toContain(secret);
			}
			messages.push(error.message);
		}
		expect(new Set(messages).size).toBe(refusals.length);
		expect(f.fake.counters.loginOk).toBe(0);
	});

	it('R15: an identity JWT is not offered by the server; the key is mandatory', async () => {
		f.fake.settings.release = 'R15';
		try {
			const jwt = await refusal(loginCrmCom(f.byMethod.jwt, testHttpRequest));
			expect(jwt.message).toMatch(/JWT_NOT_SUPPORTED.*does not accept identity JWTs.*choose another "Login Method"/);
			expect(jwt.message).not.toContain('may have expired');
			const noKey = await refusal(loginCrmCom({ ...f.credentials, consumerKey: '' }, testHttpRequest));
			expect(noKey.message).toMatch(/MISSING_CONSUMER_APPLICATION_KEY.*Check "Consumer Application Key"/);
			expect((await loginCrmCom(f.credentials, testHttpRequest)).sessionToken).toBeTruthy();
		} finally {
			f.fake.settings.release = 'R16.2';
		}
	});

	it('an unreachable server names the "Server URL" field', async () => {
		const error = await refusal(loginCrmCom({ ...f.credentials, serverUrl: 'http://127.0.0.1:9' }, testHttpRequest));
		expect(error.kind).toBe('network');
		expect(error.field).toBe('Server URL');
		expect(error.message).toMatch(/Could not reach CRM\.COM at 127\.0\.0\.1:9: the connection was refused.*"Server URL"/);
	});

	it('a server that is not CRM.COM: HTML, garbage, other JSON, a wrong path', async () => {
		f.fake.fail({ path: CRMCOM_PATHS.login }, { kind: 'html', status: 200 });
		const html = await refusal(loginCrmCom(f.credentials, testHttpRequest));
		expect(html.message).toMatch(/"Server URL" does not look like a CRM\.COM Web API.*HTML page/);

		f.fake.fail({ path: CRMCOM_PATHS.login }, { kind: 'garbage' });
		const garbage = await refusal(loginCrmCom(f.credentials, testHttpRequest));
		expect(garbage.message).toMatch(/"Server URL" does not look like a CRM\.COM Web API.*not JSON/);

		const other = await startFakeServer((request) => {
			request.res.writeHead(404, { 'content-type': 'application/json' });
			request.res.end(JSON.stringify({ message: 'Not Found', path: request.path }));
		});
		try {
			const json = await refusal(loginCrmCom({ ...f.credentials, serverUrl: other.url }, testHttpRequest));
			expect(json.message).toMatch(/"Server URL" does not look like a CRM\.COM Web API.*HTTP 404.*JSON without a status/);
		} finally {
			await other.close();
		}

		// The CRM.COM host, but a wrong path in front of the API: the fake says UNKNOWN_METHOD (404).
		const wrongPath = await refusal(loginCrmCom({ ...f.credentials, serverUrl: `${f.fake.url}/wrong/prefix` }, testHttpRequest));
		expect(wrongPath.message).toMatch(/HTTP 404/);
		expect(wrongPath.message).toContain('Check the "Server URL" field');
		expect(wrongPath.message).not.toContain('Consumer Application Key');
		for (const e of [html, garbage, wrongPath]) expect(e.message).not.toContain(CONSUMER_KEY);
	});

	it('an OK answer without a token says which fields came back', async () => {
		f.fake.fail({ path: CRMCOM_PATHS.login }, { status: 200, body: crmEnvelope({ session: 'x' }) });
		const error = await refusal(loginCrmCom(f.credentials, testHttpRequest));
		expect(error.message).toMatch(/status OK but without a token \(fields received: session\)/);
	});

	it('sends what it was told to the login endpoint only (nothing else is called)', async () => {
		const seen: IHttpRequestOptions[] = [];
		await loginCrmCom(f.credentials, async (options) => {
			seen.push(options);
			return await testHttpRequest(options);
		});
		expect(seen).toHaveLength(1);
		expect(seen[0].url).toBe(`${f.fake.url}/crmapi/rest/v2/authentication/consumer_application_key/token`);
		expect(seen[0].method).toBe('POST');
	});
});
