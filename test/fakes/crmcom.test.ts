import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import {
	CRMCOM_GROUPS,
	CRMCOM_PATHS,
	decodeJwtPayload,
	generateContacts,
	isCrmEnvelope,
	signIdentityJwt,
	startFakeCrmCom,
} from './crmcom';
import type { FakeCrmCom, FakeCrmComOptions } from './crmcom';

const KEY = 'EE73C0AE64524371B5DDEFF5F7BB2192';
const CODE = 'p_kestora1!';
const IDENTITY_SECRET = 'identity-secret-for-tests';
const T0 = Date.UTC(2025, 5, 1, 12, 0, 0);

let fake: FakeCrmCom;
let clock = T0;

async function start(options: Partial<FakeCrmComOptions> = {}): Promise<FakeCrmCom> {
	clock = T0;
	fake = await startFakeCrmCom({
		consumerKeys: [KEY],
		authenticationCodes: { [CODE]: {}, 'code-unit-2': { unit: '2' } },
		identifiers: { 'user@example.com': { passCode: '1234' } },
		identityJwtSecret: IDENTITY_SECRET,
		organisations: ['ps_dev', 'other_org'],
		units: ['1', '2'],
		contactCount: 3000,
		now: () => clock,
		...options,
	});
	return fake;
}

afterEach(async () => {
	await fake?.close();
});

interface Answer {
	status: number;
	headers: Headers;
	body: any;
	text: string;
}

interface CallOptions {
	query?: Record<string, string>;
	body?: unknown;
	raw?: string;
	headers?: Record<string, string>;
	/** HTTP Basic `user:password`; `[KEY]` means key + empty password. */
	basic?: [string, string?];
}

async function call(method: string, path: string, options: CallOptions = {}): Promise<Answer> {
	const headers: Record<string, string> = { ...options.headers };
	let body: string | undefined = options.raw;
	if (options.body !== undefined) {
		body = JSON.stringify(options.body);
		headers['content-type'] ??= 'application/json';
	}
	if (options.basic) {
		const [user, password = ''] = options.basic;
		headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
	}
	const qs = options.query ? `?${new URLSearchParams(options.query).toString()}` : '';
	const res = await fetch(`${fake.url}${path}${qs}`, { method, headers, body });
	const text = await res.text();
	let parsed: unknown;
	try {
		parsed = JSON.parse(text);
	} catch {
		parsed = undefined;
	}
	return { status: res.status, headers: res.headers, body: parsed, text };
}

/** A GET with a body (fetch refuses to send one). */
function rawGet(path: string, body: string, contentType = 'application/json'): Promise<Answer> {
	return new Promise((resolve, reject) => {
		const req = httpRequest(
			`${fake.url}${path}`,
			{
				method: 'GET',
				headers: { 'content-type': contentType, 'content-length': Buffer.byteLength(body) },
			},
			(res) => {
				const chunks: Buffer[] = [];
				res.on('data', (c: Buffer) => chunks.push(c));
				res.on('end', () => {
					const text = Buffer.concat(chunks).toString('utf8');
					resolve({
						status: res.statusCode ?? 0,
						headers: new Headers(),
						body: JSON.parse(text) as unknown,
						text,
					});
				});
			},
		);
		req.on('error', reject);
		req.end(body);
	});
}

/** `basic` null: no Authorization header at all. */
const loginRaw = (body: unknown, basic: CallOptions['basic'] | null = [KEY]) =>
	call('POST', CRMCOM_PATHS.login, { body, basic: basic ?? undefined });

async function login(body: unknown = { access_token_identifier: { authentication_code: CODE } }) {
	const answer = await loginRaw(body);
	expect(answer.status).toBe(200);
	expect(answer.body.status.code).toBe('OK');
	return answer.body.data.token as string;
}

const get = (path: string, token: string | undefined, query: Record<string, string> = {}) =>
	call('GET', path, { query: token === undefined ? query : { token, ...query } });

const controlFake = (body: unknown) => call('POST', CRMCOM_PATHS.control, { body });

const showContact = (token: string, identifier: string, extra: Record<string, string> = {}) =>
	get(CRMCOM_PATHS.contactShow, token, { contact_information_identifier: identifier, ...extra });

describe('login: every mode', () => {
	it('authentication code with the key: the documented envelope and an HS256 JWT', async () => {
		await start();
		const answer = await loginRaw({
			access_token_identifier: { authentication_code: CODE },
			unit: '1',
		});
		expect(answer.status).toBe(200);
		expect(Object.keys(answer.body)).toEqual(['data', 'status']);
		expect(answer.body.status).toEqual({ code: 'OK', description: '', message: '' });
		const token: string = answer.body.data.token;
		expect(token.length).toBeGreaterThan(32);
		const [header] = token.split('.');
		expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({
			typ: 'JWT',
			alg: 'HS256',
		});
		const claims = decodeJwtPayload(token);
		expect(Object.keys(claims)).toEqual(['cii', 'usr', 'org', 'ari', 'oun', 'exp', 'iat', 'jti']);
		expect(typeof claims.exp).toBe('string');
		expect(typeof claims.iat).toBe('string');
		expect(claims.iat).toBe(String(T0 / 1000));
		expect(Number(claims.exp) - Number(claims.iat)).toBe(7200);
		expect(claims).toMatchObject({ org: 'ps_dev', oun: '1' });
		expect(fake.issuedTokens()).toEqual([token]);
	});

	it('authentication code without a key (R16.2); the code default unit; tokenLifetimeSec', async () => {
		await start({ tokenLifetimeSec: 60 });
		const answer = await loginRaw(
			{ access_token_identifier: { authentication_code: 'code-unit-2' } },
			null,
		);
		expect(fake.requests[0].headers.authorization).toBeUndefined();
		expect(answer.body.status.code).toBe('OK');
		const claims = decodeJwtPayload(answer.body.data.token);
		expect(claims.oun).toBe('2');
		expect(Number(claims.exp) - Number(claims.iat)).toBe(60);
		const overridden = decodeJwtPayload(
			await login({ access_token_identifier: { authentication_code: 'code-unit-2' }, unit: '1' }),
		);
		expect(overridden.oun).toBe('1');
	});

	it('identifier + pass_code with the key', async () => {
		await start();
		const token = await login({
			access_token_identifier: { identifier: 'user@example.com', pass_code: '1234' },
		});
		expect(decodeJwtPayload(token).usr).toBe('user@example.com');
	});

	it('jwt + organisation, with or without a key', async () => {
		await start();
		const jwt = signIdentityJwt(IDENTITY_SECRET, { sub: 'maytemplate' }, { now: clock });
		const withoutKey = await loginRaw({ jwt, organisation: 'other_org' }, null);
		expect(withoutKey.body.status.code).toBe('OK');
		expect(decodeJwtPayload(withoutKey.body.data.token)).toMatchObject({
			usr: 'maytemplate',
			org: 'other_org',
		});
		const withKey = await loginRaw({ jwt, organisation: 'ps_dev', unit: '2' });
		expect(withKey.body.status.code).toBe('OK');
		// String exp in the identity JWT is understood too.
		const stringExp = signIdentityJwt(
			IDENTITY_SECRET,
			{ exp: String(T0 / 1000 + 60) },
			{ now: clock },
		);
		expect((await loginRaw({ jwt: stringExp, organisation: 'ps_dev' })).body.status.code).toBe(
			'OK',
		);
	});

	it('R15: the key is mandatory in every mode; with it the code mode works', async () => {
		await start({ release: 'R15' });
		expect(
			(await loginRaw({ access_token_identifier: { authentication_code: CODE } })).body.status.code,
		).toBe('OK');
		const noKey = await loginRaw({ access_token_identifier: { authentication_code: CODE } }, null);
		expect(noKey.body.status.code).toBe('MISSING_CONSUMER_APPLICATION_KEY');
	});
});

describe('login: refusals', () => {
	const ati = (value: unknown) => ({ access_token_identifier: value });
	const validJwt = () => signIdentityJwt(IDENTITY_SECRET, {}, { now: clock });
	const cases: Array<{
		name: string;
		body: () => unknown;
		/** Default: the valid key with an empty password. */
		basic?: CallOptions['basic'] | 'none' | 'bearer';
		options?: Partial<FakeCrmComOptions>;
		code: string;
		message: RegExp;
	}> = [
		{
			name: 'invalid key',
			body: () => ati({ authentication_code: CODE }),
			basic: ['WRONGKEY'],
			code: 'INVALID_CONSUMER_APPLICATION_KEY',
			message: /Invalid consumer application key/,
		},
		{
			name: 'invalid key even where a key is optional (jwt mode)',
			body: () => ({ jwt: validJwt(), organisation: 'ps_dev' }),
			basic: ['WRONGKEY'],
			code: 'INVALID_CONSUMER_APPLICATION_KEY',
			message: /Invalid consumer application key/,
		},
		{
			name: 'non-empty Basic password',
			body: () => ati({ authentication_code: CODE }),
			basic: [KEY, 'secret'],
			code: 'NON_EMPTY_PASSWORD',
			message: /password must be left empty/,
		},
		{
			name: 'a Bearer header instead of Basic',
			body: () => ati({ authentication_code: CODE }),
			basic: 'bearer',
			code: 'MALFORMED_AUTHORIZATION',
			message: /Invalid Authorization header/,
		},
		{
			name: 'missing key with identifier + pass_code (R16.2)',
			body: () => ati({ identifier: 'user@example.com', pass_code: '1234' }),
			basic: 'none',
			code: 'MISSING_CONSUMER_APPLICATION_KEY',
			message: /consumer application key is mandatory/,
		},
		{
			name: 'missing key with an authentication code (R15)',
			body: () => ati({ authentication_code: CODE }),
			basic: 'none',
			options: { release: 'R15' },
			code: 'MISSING_CONSUMER_APPLICATION_KEY',
			message: /consumer application key is mandatory/,
		},
		{
			name: 'unknown authentication code',
			body: () => ati({ authentication_code: 'nope' }),
			code: 'UNKNOWN_AUTHENTICATION_CODE',
			message: /Access token not found/,
		},
		{
			name: 'unknown identifier',
			body: () => ati({ identifier: 'ghost@example.com', pass_code: '1234' }),
			code: 'UNKNOWN_IDENTIFIER',
			message: /Access token not found/,
		},
		{
			name: 'wrong pass code',
			body: () => ati({ identifier: 'user@example.com', pass_code: '9999' }),
			code: 'INVALID_PASS_CODE',
			message: /Invalid pass code/,
		},
		{
			name: 'identifier without pass_code',
			body: () => ati({ identifier: 'user@example.com' }),
			code: 'MISSING_PASS_CODE',
			message: /pass_code is mandatory/,
		},
		{
			name: 'authentication_code and identifier together',
			body: () =>
				ati({ authentication_code: CODE, identifier: 'user@example.com', pass_code: '1' }),
			code: 'MIXED_AUTHENTICATION_MODES',
			message: /Only one of authentication_code or identifier/,
		},
		{
			name: 'jwt and access_token_identifier together',
			body: () => ({
				...ati({ authentication_code: CODE }),
				jwt: validJwt(),
				organisation: 'ps_dev',
			}),
			code: 'MIXED_AUTHENTICATION_MODES',
			message: /Only one of access_token_identifier or jwt/,
		},
		{
			name: 'no mode at all',
			body: () => ({ unit: '1' }),
			code: 'MISSING_AUTHENTICATION_PARAMETERS',
			message: /access_token_identifier or jwt is mandatory/,
		},
		{
			name: 'access_token_identifier not an object',
			body: () => ati(CODE),
			code: 'INVALID_ACCESS_TOKEN_IDENTIFIER',
			message: /must be an object/,
		},
		{
			name: 'access_token_identifier empty',
			body: () => ati({}),
			code: 'INVALID_ACCESS_TOKEN_IDENTIFIER',
			message: /authentication_code or identifier is mandatory/,
		},
		{
			name: 'organisation without jwt',
			body: () => ({ ...ati({ authentication_code: CODE }), organisation: 'ps_dev' }),
			code: 'ORGANISATION_NOT_APPLICABLE',
			message: /only when jwt is specified/,
		},
		{
			name: 'jwt without organisation',
			body: () => ({ jwt: validJwt() }),
			code: 'ORGANISATION_MANDATORY',
			message: /^organisation is mandatory when jwt is specified$/,
		},
		{
			name: 'jwt signed with another secret',
			body: () => ({ jwt: signIdentityJwt('other', {}, { now: clock }), organisation: 'ps_dev' }),
			code: 'INVALID_JWT',
			message: /The jwt is invalid/,
		},
		{
			name: 'jwt that is not a JWT',
			body: () => ({ jwt: 'not-a-jwt', organisation: 'ps_dev' }),
			code: 'INVALID_JWT',
			message: /The jwt is invalid/,
		},
		{
			name: 'jwt with alg none',
			body: () => ({
				jwt: signIdentityJwt(IDENTITY_SECRET, {}, { now: clock, alg: 'none' }),
				organisation: 'ps_dev',
			}),
			code: 'INVALID_JWT',
			message: /The jwt is invalid/,
		},
		{
			name: 'expired jwt',
			body: () => ({
				jwt: signIdentityJwt(IDENTITY_SECRET, {}, { now: clock, expiresInSec: -1 }),
				organisation: 'ps_dev',
			}),
			code: 'JWT_EXPIRED',
			message: /The jwt has expired/,
		},
		{
			name: 'jwt before R16.2',
			body: () => ({ jwt: validJwt(), organisation: 'ps_dev' }),
			options: { release: 'R15' },
			code: 'JWT_NOT_SUPPORTED',
			message: /jwt is not supported/,
		},
		{
			name: 'unknown organisation',
			body: () => ({ jwt: validJwt(), organisation: 'nowhere' }),
			code: 'UNKNOWN_ORGANISATION',
			message: /Organisation not found/,
		},
		{
			name: 'unknown unit',
			body: () => ({ ...ati({ authentication_code: CODE }), unit: '99' }),
			code: 'UNKNOWN_UNIT',
			message: /Unit not found/,
		},
		{
			name: 'empty unit',
			body: () => ({ ...ati({ authentication_code: CODE }), unit: '' }),
			code: 'UNKNOWN_UNIT',
			message: /Unit not found/,
		},
		{
			name: 'an undocumented field (username/password login)',
			body: () => ({ username: 'u', password: 'p', organisation: 'ps_dev' }),
			code: 'UNKNOWN_PARAMETER',
			message: /Unknown parameter: username/,
		},
	];

	it.each(cases)(
		'$name → $code (HTTP 200 envelope)',
		async ({ body, basic, options, code, message }) => {
			await start(options);
			const answer = await call('POST', CRMCOM_PATHS.login, {
				body: body(),
				basic: basic === 'none' || basic === 'bearer' ? undefined : (basic ?? [KEY]),
				headers: basic === 'bearer' ? { authorization: `Bearer ${KEY}` } : {},
			});
			expect(answer.status).toBe(200);
			expect(isCrmEnvelope(answer.body)).toBe(true);
			expect(answer.body.data).toBeNull();
			expect(answer.body.status.code).toBe(code);
			expect(answer.body.status.message).toMatch(message);
			expect(answer.body.status.description).not.toBe('');
			expect(fake.counters).toMatchObject({
				loginAttempts: 1,
				loginOk: 0,
				loginFailures: { [code]: 1 },
			});
			expect(fake.issuedTokens()).toEqual([]);
		},
	);

	it('the distinct refusals have distinct codes', () => {
		const codes = new Set(cases.map((c) => c.code));
		expect(codes.size).toBeGreaterThanOrEqual(19);
	});

	it('loginErrorHttpStatus sets the HTTP status of refusals (not of successes)', async () => {
		await start({ loginErrorHttpStatus: 401 });
		const refused = await loginRaw({ access_token_identifier: { authentication_code: 'nope' } });
		expect(refused.status).toBe(401);
		expect(refused.body.status.code).toBe('UNKNOWN_AUTHENTICATION_CODE');
		expect(
			(await loginRaw({ access_token_identifier: { authentication_code: CODE } })).status,
		).toBe(200);
	});

	it('JSON only: other content types and broken JSON are 400 envelopes; GET is 405', async () => {
		await start();
		const form = await call('POST', CRMCOM_PATHS.login, {
			raw: 'access_token_identifier=x',
			headers: { 'content-type': 'application/x-www-form-urlencoded' },
			basic: [KEY],
		});
		expect(form.status).toBe(400);
		expect(form.body.status.code).toBe('INVALID_CONTENT_TYPE');
		const broken = await call('POST', CRMCOM_PATHS.login, {
			raw: '{"access_token_identifier":',
			headers: { 'content-type': 'application/json' },
			basic: [KEY],
		});
		expect(broken.status).toBe(400);
		expect(broken.body.status.code).toBe('INVALID_JSON');
		const viaGet = await call('GET', CRMCOM_PATHS.login, { basic: [KEY] });
		expect(viaGet.status).toBe(405);
		expect(viaGet.body.status.code).toBe('METHOD_NOT_ALLOWED');
		expect(fake.counters.loginFailures).toEqual({ INVALID_CONTENT_TYPE: 1, INVALID_JSON: 1 });
	});
});

describe('token placement', () => {
	it('GET takes the token from the query only; a header token is refused and counted', async () => {
		await start();
		const token = await login();
		expect((await showContact(token, 'number=CI000111')).body.status.code).toBe('OK');

		const header = await call('GET', CRMCOM_PATHS.contactShow, {
			query: { contact_information_identifier: 'number=CI000111' },
			headers: { authorization: `Bearer ${token}` },
		});
		expect(header.status).toBe(200);
		expect(header.body.status.code).toBe('MISSING_TOKEN');
		expect(header.body.data).toBeNull();

		// Even with the right query token, a copy in a header is a violation (and refused).
		const both = await call('GET', CRMCOM_PATHS.contactShow, {
			query: { token, contact_information_identifier: 'number=CI000111' },
			headers: { 'x-token': token },
		});
		expect(both.body.status.code).toBe('MISSING_TOKEN');

		const inBody = await rawGet(
			`${CRMCOM_PATHS.contactShow}?contact_information_identifier=number%3DCI000111`,
			JSON.stringify({ token }),
		);
		expect(inBody.body.status.code).toBe('MISSING_TOKEN');

		expect(fake.counters).toMatchObject({
			protectedRequests: 4,
			protectedOk: 1,
			protectedRefused: 3,
			protectedRefusals: { MISSING_TOKEN: 3 },
			placementViolations: 3,
			placementViolationsBy: { header: 2, query: 0, body: 1 },
		});
		expect(fake.placementLog.map((v) => [v.method, v.where, v.detail])).toEqual([
			['GET', 'header', 'authorization header'],
			['GET', 'header', 'x-token header'],
			['GET', 'body', 'token in the body of a GET'],
		]);
	});

	it('POST takes the token from the JSON body only; a query token is refused and counted', async () => {
		await start();
		const token = await login();
		const update = { contact_information_identifier: { number: 'CI000002' }, notes: 'VIP' };
		const ok = await call('POST', CRMCOM_PATHS.contactUpdate, { body: { token, ...update } });
		expect(ok.body.status.code).toBe('OK');
		expect(ok.body.data.notes).toBe('VIP');

		const query = await fetch(`${fake.url}${CRMCOM_PATHS.contactUpdate}?token=${token}`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify(update),
		});
		expect(((await query.json()) as any).status.code).toBe('MISSING_TOKEN');

		const header = await call('POST', CRMCOM_PATHS.contactUpdate, {
			body: { token, ...update },
			headers: { authorization: `Bearer ${token}` },
		});
		expect(header.body.status.code).toBe('MISSING_TOKEN');

		const renamed = await call('POST', CRMCOM_PATHS.contactUpdate, {
			body: { access_token: token, ...update },
		});
		expect(renamed.body.status.code).toBe('MISSING_TOKEN');

		expect(fake.counters).toMatchObject({
			protectedOk: 1,
			protectedRefused: 3,
			placementViolations: 3,
			placementViolationsBy: { header: 1, query: 1, body: 1 },
		});
		expect(fake.placementLog.map((v) => v.detail)).toEqual([
			'query parameter token',
			'authorization header',
			'body field access_token',
		]);
	});

	it('a GET with the token under another query name is a violation too', async () => {
		await start();
		const token = await login();
		const answer = await get(CRMCOM_PATHS.jobsList, undefined, { access_token: token });
		expect(answer.body.status.code).toBe('MISSING_TOKEN');
		expect(fake.counters.placementViolationsBy.query).toBe(1);
	});
});

describe('token expiry and failures', () => {
	it('envelope200 (default): missing, unknown, expired by the clock', async () => {
		await start();
		const token = await login();
		const missing = await get(CRMCOM_PATHS.jobsList, undefined);
		expect([missing.status, missing.body.status.code]).toEqual([200, 'MISSING_TOKEN']);
		const unknown = await get(CRMCOM_PATHS.jobsList, `${token}x`);
		expect([unknown.status, unknown.body.status.code]).toEqual([200, 'INVALID_TOKEN']);
		expect(unknown.body.status.message).toBe('Invalid token');

		clock = T0 + 7199_000;
		expect((await get(CRMCOM_PATHS.jobsList, token)).body.status.code).toBe('OK');
		clock = T0 + 7200_000;
		const expired = await get(CRMCOM_PATHS.jobsList, token);
		expect([expired.status, expired.body.status.code]).toEqual([200, 'TOKEN_EXPIRED']);
		expect(expired.body.status.message).toBe('Token expired');
		// Logging in again works.
		expect((await get(CRMCOM_PATHS.jobsList, await login())).body.status.code).toBe('OK');
		expect(fake.counters.protectedRefusals).toEqual({
			MISSING_TOKEN: 1,
			INVALID_TOKEN: 1,
			TOKEN_EXPIRED: 1,
		});
	});

	it('http401: the same envelopes with HTTP 401; configurable codes', async () => {
		await start({ authFailureMode: 'http401', tokenFailureCodes: { expired: 'SESSION_EXPIRED' } });
		const token = await login();
		fake.expireTokens();
		const expired = await get(CRMCOM_PATHS.jobsList, token);
		expect(expired.status).toBe(401);
		expect(expired.body.status.code).toBe('SESSION_EXPIRED');
		const missing = await get(CRMCOM_PATHS.jobsList, undefined);
		expect([missing.status, missing.body.status.code]).toEqual([401, 'MISSING_TOKEN']);
		// Login refusals are not affected by authFailureMode.
		expect((await loginRaw({ access_token_identifier: { authentication_code: 'x' } })).status).toBe(
			200,
		);
	});

	it('expireTokensAfter(n) expires every issued token after n accepted requests', async () => {
		await start();
		const token = await login();
		fake.expireTokensAfter(2);
		expect((await get(CRMCOM_PATHS.jobsList, token)).body.status.code).toBe('OK');
		expect((await get(CRMCOM_PATHS.jobsList, undefined)).body.status.code).toBe('MISSING_TOKEN');
		expect((await get(CRMCOM_PATHS.jobsList, token)).body.status.code).toBe('OK');
		expect((await get(CRMCOM_PATHS.jobsList, token)).body.status.code).toBe('TOKEN_EXPIRED');
		const fresh = await login();
		expect((await get(CRMCOM_PATHS.jobsList, fresh)).body.status.code).toBe('OK');
		expect(() => fake.expireTokensAfter(-1)).toThrow();
	});
});

describe('data methods', () => {
	it('contact_information/show by id, number, name, email and phone; fields_set', async () => {
		await start();
		const token = await login();
		const contact = fake.contacts[110];
		expect(contact.number).toBe('CI000111');
		expect(contact.phone).toMatch(/^\+3572200\d{4}$/);
		expect(contact.id).toMatch(/^[0-9A-F]{32}$/);
		for (const field of ['id', 'number', 'name', 'email', 'phone'] as const) {
			const answer = await showContact(token, `${field}=${contact[field]}`);
			expect(answer.body.status.code).toBe('OK');
			expect(answer.body.data).toEqual(contact);
		}
		const trimmed = await showContact(token, 'number=CI000111', { fields_set: 'id,email' });
		expect(trimmed.body.data).toEqual({ id: contact.id, email: contact.email });
		expect(new Set(fake.contacts.map((c) => c.name)).size).toBe(3000);
		expect(generateContacts(5)).toEqual(fake.contacts.slice(0, 5));
	});

	it('a raw + in a phone query decodes as a space: NOT_FOUND', async () => {
		await start();
		const token = await login();
		const phone = fake.contacts[0].phone;
		const answer = await fetch(
			`${fake.url}${CRMCOM_PATHS.contactShow}?token=${token}&contact_information_identifier=phone=${phone}`,
		);
		expect(((await answer.json()) as any).status.code).toBe('NOT_FOUND');
	});

	it('unknown, malformed and missing identifiers', async () => {
		await start();
		const token = await login();
		const unknown = await showContact(token, 'number=CI999999');
		expect([unknown.status, unknown.body.status.code]).toEqual([200, 'NOT_FOUND']);
		expect(unknown.body.status.message).toBe('Contact information not found');
		expect((await showContact(token, 'CI000111')).body.status.code).toBe('INVALID_PARAMETER');
		expect((await showContact(token, 'code=CI000111')).body.status.code).toBe('INVALID_PARAMETER');
		expect((await get(CRMCOM_PATHS.contactShow, token)).body.status.code).toBe(
			'MANDATORY_PARAMETER_MISSING',
		);
	});

	it('accounts_receivable/show with a contact reference and a balance', async () => {
		await start();
		const token = await login();
		const answer = await get(CRMCOM_PATHS.accountShow, token, {
			accounts_receivable_identifier: 'number=AR000111',
		});
		expect(answer.body.data).toMatchObject({
			number: 'AR000111',
			contact_information: { number: 'CI000111', id: fake.contacts[110].id },
		});
		expect(typeof answer.body.data.balance).toBe('number');
		const byName = await get(CRMCOM_PATHS.accountShow, token, {
			accounts_receivable_identifier: `name=${answer.body.data.name}`,
		});
		expect(byName.body.data.id).toBe(answer.body.data.id);
	});

	it('contact_information/update changes the stored contact; bad fields are refused', async () => {
		await start();
		const token = await login();
		const update = (body: Record<string, unknown>) =>
			call('POST', CRMCOM_PATHS.contactUpdate, { body: { token, ...body } });
		const ok = await update({
			contact_information_identifier: { number: 'CI000111' },
			emails_set: [{ action: 'ADD', type: 'BUSINESS', email_address: 'new@example.com' }],
			last_name: 'Newname',
		});
		expect(ok.body.status.code).toBe('OK');
		const shown = await showContact(token, 'email=new@example.com');
		expect(shown.body.data).toMatchObject({ number: 'CI000111', last_name: 'Newname' });
		expect(shown.body.data.emails.map((e: { email_address: string }) => e.email_address)).toEqual([expect.stringMatching(/@example\.com$/), 'new@example.com']);
		// The generated address is still found: show by email matches any of the contact's e-mails.
		expect((await showContact(token, `email=${shown.body.data.emails[0].email_address}`)).body.data.number).toBe('CI000111');
		expect(shown.body.data.name).toMatch(/ Newname$/);
		expect(
			(await update({ contact_information_identifier: { number: 'CI000111' }, id: 'x' })).body
				.status.code,
		).toBe('E_INVALID_PARAMETER');
		expect(
			(await update({ contact_information_identifier: 'number=CI000111', notes: 'x' })).body.status
				.code,
		).toBe('INVALID_PARAMETER');
		expect((await update({ notes: 'x' })).body.status.code).toBe('MANDATORY_PARAMETER_MISSING');
		expect(
			(await update({ contact_information_identifier: { number: 'CI999999' } })).body.status.code,
		).toBe('NOT_FOUND');
		const form = await call('POST', CRMCOM_PATHS.contactUpdate, {
			raw: `token=${token}`,
			headers: { 'content-type': 'application/x-www-form-urlencoded' },
		});
		expect([form.status, form.body.status.code]).toEqual([400, 'INVALID_CONTENT_TYPE']);
	});

	it('contact_information/create: strict fields, udf types, a new contact shown afterwards; writes counted', async () => {
		await start();
		const token = await login();
		const create = (body: Record<string, unknown>) =>
			call('POST', CRMCOM_PATHS.contactCreate, { body: { token, ...body } });
		const ok = await create({
			first_name: 'Eleni',
			last_name: 'Kallis',
			phones_set: [{ action: 'ADD', type: 'MOBILE', number: '+35799000001' }],
			udf_string_1: 'inbound',
			udf_float_2: 42.5,
			udf_date_3: '2024-05-31T14:05:00Z',
		});
		expect(ok.body.status.code).toBe('OK');
		expect(ok.body.data).toMatchObject({ number: 'CI003001', type: 'PERSON', name: 'Eleni Kallis', email: null, emails: [], phone: '+35799000001', udf_float_2: 42.5 });
		expect(ok.body.data.phones).toEqual([{ phone_identifier: expect.any(String), type: 'MOBILE', number: '+35799000001' }]);
		expect((await showContact(token, 'phone=+35799000001')).body.data).toMatchObject({ number: 'CI003001', udf_string_1: 'inbound' });
		const company = await create({ type: 'COMPANY', company_name: 'Kestora Ltd' });
		expect(company.body.data).toMatchObject({ number: 'CI003002', name: 'Kestora Ltd' });
		const refusals: Array<[Record<string, unknown>, string, RegExp]> = [
			[{ last_name: 'X', nickname: 'y' }, 'E_INVALID_PARAMETER', /^Unknown parameter: nickname$/],
			[{ last_name: 'X', phone: '+35799000002' }, 'E_INVALID_PARAMETER', /^Unknown parameter: phone$/],
			[{ last_name: 'X', email: 'a@example.com' }, 'E_INVALID_PARAMETER', /^Unknown parameter: email$/],
			[{ last_name: 'X', phones_set: { action: 'ADD' } }, 'INVALID_PARAMETER', /phones_set must be a list/],
			[{ last_name: 'X', phones_set: ['+35799000002'] }, 'INVALID_PARAMETER', /phones_set\[0\] must be an object/],
			[{ last_name: 'X', phones_set: [{ type: 'MOBILE', number: '+35799000002' }] }, 'MANDATORY_PARAMETER_MISSING', /phones_set\[0\]\.action is mandatory/],
			[{ last_name: 'X', phones_set: [{ action: 'APPEND', type: 'MOBILE', number: '+35799000002' }] }, 'INVALID_PARAMETER', /action must be ADD, UPDATE or REMOVE/],
			[{ last_name: 'X', phones_set: [{ action: 'ADD', number: '+35799000002' }] }, 'MANDATORY_PARAMETER_MISSING', /phones_set\[0\]\.type is mandatory/],
			[{ last_name: 'X', phones_set: [{ action: 'ADD', type: 'CELL', number: '+35799000002' }] }, 'INVALID_PARAMETER', /type must be one of LANDLINE, MOBILE, FAX, CUSTOM1/],
			[{ last_name: 'X', phones_set: [{ action: 'ADD', type: 'MOBILE' }] }, 'MANDATORY_PARAMETER_MISSING', /phones_set\[0\]\.number is mandatory/],
			[{ last_name: 'X', phones_set: [{ action: 'ADD', type: 'MOBILE', number: '12-34' }] }, 'INVALID_PARAMETER', /number is not a valid phone number/],
			[{ last_name: 'X', phones_set: [{ action: 'ADD', type: 'MOBILE', number: '+35799000002', phone: 'x' }] }, 'E_INVALID_PARAMETER', /Unknown parameter: phones_set\[0\]\.phone$/],
			[{ last_name: 'X', phones_set: [{ action: 'UPDATE', phone_identifier: 'nope', number: '+35799000002' }] }, 'INVALID_PARAMETER', /names no phone of this contact/],
			[{ last_name: 'X', phones_set: [{ action: 'REMOVE' }] }, 'MANDATORY_PARAMETER_MISSING', /phone_identifier is mandatory/],
			[{ last_name: 'X', emails_set: [{ action: 'ADD', type: 'WORK', email_address: 'a@example.com' }] }, 'INVALID_PARAMETER', /type must be one of PERSONAL, BUSINESS/],
			[{ last_name: 'X', emails_set: [{ action: 'ADD', type: 'PERSONAL', email_address: 'nope' }] }, 'INVALID_PARAMETER', /not a valid email address/],
			[{ last_name: 'X', emails_set: [{ action: 'ADD', type: 'PERSONAL', email: 'a@example.com' }] }, 'E_INVALID_PARAMETER', /Unknown parameter: emails_set\[0\]\.email$/],
			[{ last_name: 'X', udf_float_1: '3.5' }, 'INVALID_PARAMETER', /udf_float_1 must be a number/],
			[{ last_name: 'X', udf_date_1: '2024-02-31' }, 'INVALID_PARAMETER', /udf_date_1 must be a date/],
			[{ last_name: 'X', udf_string_21: 'a' }, 'INVALID_PARAMETER', /Unknown user-defined field/],
			[{ last_name: 'X', udf_text_1: 'a' }, 'E_INVALID_PARAMETER', /Unknown parameter: udf_text_1/],
			[{ first_name: 'Only' }, 'MANDATORY_PARAMETER_MISSING', /last_name is mandatory/],
			[{ type: 'COMPANY' }, 'MANDATORY_PARAMETER_MISSING', /company_name is mandatory/],
			[{ type: 'ROBOT', last_name: 'X' }, 'INVALID_PARAMETER', /type must be PERSON or COMPANY/],
			[{ last_name: 'X', contact_information_identifier: { number: 'CI000001' } }, 'INVALID_PARAMETER', /not applicable/],
		];
		for (const [body, code, message] of refusals) {
			const answer = await create(body);
			expect([answer.status, answer.body.status.code], JSON.stringify(body)).toEqual([200, code]);
			expect(answer.body.status.message).toMatch(message);
		}
		const query = await fetch(`${fake.url}${CRMCOM_PATHS.contactCreate}?token=${token}`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ last_name: 'Q' }),
		});
		expect(((await query.json()) as any).status.code).toBe('MISSING_TOKEN');
		expect(fake.counters).toMatchObject({ contactWrites: 2, contactCreates: 2, contactUpdates: 0, writesByContact: { CI003001: 1, CI003002: 1 } });
		expect(fake.contacts).toHaveLength(3002);
	});

	it('contact_information/update: null clears (not names), udf fields, writes counted per contact', async () => {
		await start();
		const token = await login();
		const update = (body: Record<string, unknown>) =>
			call('POST', CRMCOM_PATHS.contactUpdate, { body: { token, contact_information_identifier: { number: 'CI000005' }, ...body } });
		expect((await update({ notes: 'x', udf_string_2: 'answered', udf_float_1: 3 })).body.status.code).toBe('OK');
		const email = fake.contacts[4].emails[0];
		const cleared = await update({ notes: null, udf_string_2: null, emails_set: [{ action: 'REMOVE', email_identifier: email.email_identifier }], company_name: 'Acme' });
		expect(cleared.body.data).toMatchObject({ notes: null, udf_string_2: null, email: null, emails: [], udf_float_1: 3, company_name: 'Acme' });
		// Phones: UPDATE by identifier, ADD a second, a number already on the contact refused.
		const phone = fake.contacts[4].phones[0];
		const phones = await update({ phones_set: [{ action: 'UPDATE', phone_identifier: phone.phone_identifier, type: 'LANDLINE' }, { action: 'ADD', type: 'MOBILE', number: '+35799000077' }] });
		expect(phones.body.data.phones).toEqual([{ ...phone, type: 'LANDLINE' }, { phone_identifier: expect.any(String), type: 'MOBILE', number: '+35799000077' }]);
		expect(phones.body.data.phone).toBe(phone.number);
		expect((await showContact(token, 'phone=+35799000077')).body.data.number).toBe('CI000005');
		const twice = await update({ notes: 'y', phones_set: [{ action: 'ADD', type: 'MOBILE', number: '+35799000077' }] });
		expect([twice.body.status.code, twice.body.status.message]).toEqual(['INVALID_PARAMETER', 'phones_set[0]: the phone number +35799000077 is already on the contact']);
		expect(fake.contacts[4].notes).toBeNull(); // a refused write changes nothing
		expect((await update({ last_name: null })).body.status.message).toBe('last_name cannot be null');
		expect((await update({ udf_float_1: 'x' })).body.status.code).toBe('INVALID_PARAMETER');
		expect(fake.writesTo('CI000005')).toBe(3);
		expect(fake.counters).toMatchObject({ contactWrites: 3, contactUpdates: 3 });
		expect(fake.writeLog.map((w) => [w.seq, w.kind, w.contact])).toEqual([[1, 'update', 'CI000005'], [2, 'update', 'CI000005'], [3, 'update', 'CI000005']]);
		expect(fake.writeLog[0].body).toEqual({ contact_information_identifier: { number: 'CI000005' }, notes: 'x', udf_string_2: 'answered', udf_float_1: 3 });
	});

	it('writeDelaysMs: writes sent at once are applied in the order their delays make (the first slowest → applied last); refuseWrite refuses one record only', async () => {
		await start();
		const token = await login();
		const update = (udf: string) =>
			call('POST', CRMCOM_PATHS.contactUpdate, { body: { token, contact_information_identifier: { number: 'CI000007' }, udf_date_1: udf } });
		fake.writeDelaysMs = [300, 150, 0];
		const answers = await Promise.all(['2024-05-01T12:15:00Z', '2024-05-01T12:35:00Z', '2024-05-01T12:55:00Z'].map(update));
		expect(answers.map((a) => a.body.status.code)).toEqual(['OK', 'OK', 'OK']);
		expect(fake.writeLog.map((w) => w.body.udf_date_1)).toEqual(['2024-05-01T12:55:00Z', '2024-05-01T12:35:00Z', '2024-05-01T12:15:00Z']);
		expect(fake.contacts[6].udf_date_1).toBe('2024-05-01T12:15:00Z'); // what parallel writes to one record do
		expect(fake.writeDelaysMs).toEqual([]);
		// Sent one after another, the same delays keep the order.
		fake.writeDelaysMs = [300, 150, 0];
		fake.clearLog();
		for (const udf of ['2024-05-02T12:15:00Z', '2024-05-02T12:35:00Z', '2024-05-02T12:55:00Z']) await update(udf);
		expect(fake.contacts[6].udf_date_1).toBe('2024-05-02T12:55:00Z');

		fake.refuseWrite = (body) => ((body.contact_information_identifier as { number?: string }).number === 'CI000008' ? { code: 'E_INVALID_PARAMETER', message: 'udf_date_1 is locked for this contact' } : undefined);
		const refused = await call('POST', CRMCOM_PATHS.contactUpdate, { body: { token, contact_information_identifier: { number: 'CI000008' }, udf_date_1: '2024-05-03T00:00:00Z' } });
		expect([refused.status, refused.body.status.code, refused.body.status.message]).toEqual([200, 'E_INVALID_PARAMETER', 'udf_date_1 is locked for this contact']);
		expect(fake.contacts[7].udf_date_1).toBeUndefined();
		expect((await update('2024-05-04T00:00:00Z')).body.status.code).toBe('OK');
		expect(fake.counters).toMatchObject({ writeRefusals: 1 });
		fake.refuseWrite = undefined;
	});

	it('a create with a phone number another contact has is carried out (not documented as unique) and counted', async () => {
		await start();
		const token = await login();
		const number = fake.contacts[0].phone!;
		const answer = await call('POST', CRMCOM_PATHS.contactCreate, { body: { token, last_name: 'Twin', phones_set: [{ action: 'ADD', type: 'MOBILE', number }] } });
		expect(answer.body.status.code).toBe('OK');
		expect(fake.counters.duplicatePhoneCreates).toBe(1);
		expect(fake.contacts.filter((c) => c.phones.some((p) => p.number === number))).toHaveLength(2);
	});

	it.each(['envelope', 'http500'] as const)('writeFailure %s: writes refused and not applied; dropAfterWrites applies, then drops', async (mode) => {
		await start({ writeFailure: mode });
		const token = await login();
		const body = { token, contact_information_identifier: { number: 'CI000009' }, notes: 'x' };
		const failed = await call('POST', CRMCOM_PATHS.contactUpdate, { body });
		expect([failed.status, failed.body.status.code]).toEqual(mode === 'envelope' ? [200, 'SAVE_FAILED'] : [500, 'INTERNAL_ERROR']);
		expect(failed.body.status.message).not.toMatch(/token|session|auth|login|credential|forbidden|expired/i);
		expect(fake.contacts[8].notes).toBeNull();
		expect(fake.counters).toMatchObject({ contactWrites: 0, writeFailures: 1 });

		expect((await controlFake({ action: 'writeFailure', mode: 'off' })).status).toBe(200);
		expect((await controlFake({ action: 'dropAfterWrites', n: 1 })).status).toBe(200);
		await expect(call('POST', CRMCOM_PATHS.contactUpdate, { body })).rejects.toThrow();
		expect(fake.contacts[8].notes).toBe('x');
		expect(fake.writesTo('CI000009')).toBe(1);
		expect((await call('POST', CRMCOM_PATHS.contactUpdate, { body })).body.status.code).toBe('OK');
		expect(fake.writesTo('CI000009')).toBe(2);
		expect((await controlFake({ action: 'writeFailure', mode: 'sometimes' })).status).toBe(400);
	});

	it('contactListMethod removes the list method (bare 404 or 200 UNKNOWN_METHOD); notFoundShape shapes show\'s misses', async () => {
		await start({ contactListMethod: 'http404' });
		const token = await login();
		const bare = await get(CRMCOM_PATHS.contactList, token);
		expect([bare.status, bare.text]).toEqual([404, 'Not Found']);
		await controlFake({ action: 'contactListMethod', mode: 'envelope200' });
		const envelope = await get(CRMCOM_PATHS.contactList, token);
		expect([envelope.status, envelope.body.status.code]).toEqual([200, 'UNKNOWN_METHOD']);
		await controlFake({ action: 'contactListMethod', mode: 'present' });
		expect((await get(CRMCOM_PATHS.contactList, token, { number_of_results: '1' })).body.data).toHaveLength(1);

		const miss = async () => await showContact(token, 'number=CI999999');
		expect([(await miss()).status, (await miss()).body.status.code]).toEqual([200, 'NOT_FOUND']);
		await controlFake({ action: 'notFoundShape', shape: 'http404' });
		expect([(await miss()).status, (await miss()).body.status.code]).toEqual([404, 'NOT_FOUND']);
		await controlFake({ action: 'notFoundShape', shape: 'okEmpty' });
		expect((await miss()).body).toEqual({ data: null, status: { code: 'OK', description: '', message: '' } });
		expect((await showContact(token, 'number=CI000001')).body.data.number).toBe('CI000001');
	});

	it('unknown methods and wrong HTTP methods', async () => {
		await start();
		const token = await login();
		const unknown = await get('/crmapi/rest/v2/contact_information/delete', token);
		expect([unknown.status, unknown.body.status.code]).toEqual([404, 'UNKNOWN_METHOD']);
		expect((await get('/crmapi/rest/v2//jobs/list', token)).status).toBe(404);
		const wrong = await call('POST', CRMCOM_PATHS.jobsList, { body: { token } });
		expect([wrong.status, wrong.body.status.code]).toEqual([405, 'METHOD_NOT_ALLOWED']);
		await fake.close();
		await start({ unknownMethodHttpStatus: 200 });
		const as200 = await get('/crmapi/rest/v2/nothing/here', await login());
		expect([as200.status, as200.body.status.code]).toEqual([200, 'UNKNOWN_METHOD']);
	});
});

describe('offset paging', () => {
	async function pageAll(
		token: string,
		path: string,
		pageSize: number,
		query: Record<string, string> = {},
	): Promise<{ items: any[]; requests: number }> {
		const items: any[] = [];
		let requests = 0;
		for (let offset = 0; ; offset += pageSize) {
			const answer = await get(path, token, {
				...query,
				number_of_results: String(pageSize),
				offset: String(offset),
			});
			requests++;
			expect(answer.body.status.code).toBe('OK');
			expect(answer.body.total_records).toBeUndefined();
			items.push(...answer.body.data);
			if (answer.body.data.length < pageSize) break;
		}
		return { items, requests };
	}

	it('2500 group members in 50-per-page requests: 2500 unique, stable order', async () => {
		await start();
		const token = await login();
		const identifier = { accounts_receivable_identifier: `number=${CRMCOM_GROUPS.big}` };
		const { items, requests } = await pageAll(token, CRMCOM_PATHS.groupMembers, 50, identifier);
		expect(items).toHaveLength(2500);
		expect(requests).toBe(51);
		expect(new Set(items.map((m) => m.id)).size).toBe(2500);
		expect(items[0].number).toBe('AR000001');
		expect(items[2499].number).toBe('AR002500');
		expect(items[0]).toMatchObject({ funding_scope: 'FULLY_FUNDED', life_cycle_state: 'ACTIVE' });
		const again = await pageAll(token, CRMCOM_PATHS.groupMembers, 500, identifier);
		expect(again.items.map((m) => m.id)).toEqual(items.map((m) => m.id));
		expect(again.requests).toBe(6);
	});

	it('default page size 50, max 500, bad values refused, fields_set, funding_scope', async () => {
		await start();
		const token = await login();
		const q = (extra: Record<string, string>) =>
			get(CRMCOM_PATHS.groupMembers, token, {
				accounts_receivable_identifier: `number=${CRMCOM_GROUPS.big}`,
				...extra,
			});
		expect((await q({})).body.data).toHaveLength(50);
		expect((await q({ number_of_results: '500' })).body.data).toHaveLength(500);
		const tooMany = await q({ number_of_results: '501' });
		expect([tooMany.status, tooMany.body.status.code]).toEqual([200, 'NUMBER_OF_RESULTS_EXCEEDED']);
		expect(tooMany.body.status.message).toBe('number_of_results cannot exceed 500');
		const bads: Array<Record<string, string>> = [
			{ number_of_results: '0' },
			{ number_of_results: 'ten' },
			{ offset: '-1' },
		];
		for (const bad of bads) {
			expect((await q(bad)).body.status.code).toBe('INVALID_PARAMETER');
		}
		expect((await q({ offset: '2500' })).body.data).toEqual([]);
		const trimmed = await q({ number_of_results: '2', fields_set: 'number' });
		expect(trimmed.body.data).toEqual([{ number: 'AR000001' }, { number: 'AR000002' }]);
		const partial = await q({ funding_scope: 'PARTIALLY_FUNDED', number_of_results: '500' });
		expect(partial.body.data).toHaveLength(250);
		const small = await get(CRMCOM_PATHS.groupMembers, token, {
			accounts_receivable_identifier: `number=${CRMCOM_GROUPS.small}`,
		});
		expect(small.body.data.map((m: any) => m.number)).toEqual(
			Array.from({ length: 7 }, (_, i) => `AR00${2994 + i}`),
		);
		const notGroup = await get(CRMCOM_PATHS.groupMembers, token, {
			accounts_receivable_identifier: 'number=AR000001',
		});
		expect(notGroup.body.data).toEqual([]);
	});

	it('jobs/list over 1234 jobs; includeTotal; jobs/show', async () => {
		await start({ includeTotal: true });
		const token = await login();
		const sizes: number[] = [];
		const ids = new Set<string>();
		for (let offset = 0; ; offset += 500) {
			const answer = await get(CRMCOM_PATHS.jobsList, token, {
				number_of_results: '500',
				offset: String(offset),
			});
			expect(answer.body.total_records).toBe(1234);
			sizes.push(answer.body.data.length);
			for (const job of answer.body.data) ids.add(job.id);
			if (answer.body.data.length < 500) break;
		}
		expect(sizes).toEqual([500, 500, 234]);
		expect(ids.size).toBe(1234);
		const job = await get(CRMCOM_PATHS.jobShow, token, { job_identifier: 'number=J000001' });
		expect(job.body.data).toMatchObject({
			number: 'J000001',
			accounts_receivable: { number: 'AR000001' },
		});
		expect(
			(await get(CRMCOM_PATHS.jobShow, token, { job_identifier: 'number=J999999' })).body.status
				.code,
		).toBe('NOT_FOUND');
	});
});

describe('faults', () => {
	it('5xx, garbage JSON, HTML, slow, drop and every-Nth via common', async () => {
		await start();
		const token = await login();
		fake.fail({ path: CRMCOM_PATHS.jobsList }, { status: 503, body: 'busy' });
		expect((await get(CRMCOM_PATHS.jobsList, token)).status).toBe(503);
		expect((await get(CRMCOM_PATHS.jobsList, token)).status).toBe(200);

		fake.fail({ method: 'POST', path: CRMCOM_PATHS.login }, { kind: 'garbage' });
		const garbage = await loginRaw({ access_token_identifier: { authentication_code: CODE } });
		expect(garbage.body).toBeUndefined();
		expect(garbage.text).toBe('{"access_tok');

		fake.fail({ path: /jobs\/list$/ }, { kind: 'html', status: 504 });
		const html = await get(CRMCOM_PATHS.jobsList, token);
		expect(html.status).toBe(504);
		expect(html.text).toContain('<html>');

		fake.fail({ path: CRMCOM_PATHS.jobsList }, { kind: 'slow', ms: 200 });
		const t = Date.now();
		expect((await get(CRMCOM_PATHS.jobsList, token)).body.status.code).toBe('OK');
		expect(Date.now() - t).toBeGreaterThanOrEqual(190);

		fake.fail({ path: CRMCOM_PATHS.jobsList }, { kind: 'drop' });
		await expect(get(CRMCOM_PATHS.jobsList, token)).rejects.toThrow();

		fake.fail({ method: 'GET', every: 3 }, { status: 500 });
		const statuses: number[] = [];
		for (let i = 0; i < 6; i++) statuses.push((await get(CRMCOM_PATHS.jobsList, token)).status);
		expect(statuses).toEqual([200, 200, 500, 200, 200, 500]);
		fake.clearFaults();
		// Faulted requests never reached the vendor logic: no token check was counted for them.
		expect(fake.counters.protectedRequests).toBe(6);
	});
});

describe('control plane', () => {
	it('GET /__fake/state and POST /__fake/control drive the fake over HTTP', async () => {
		await start();
		const token = await login();
		const control = (body: unknown) => call('POST', '/__fake/control', { body });
		const state = await call('GET', '/__fake/state');
		expect(state.body).toMatchObject({
			counters: { loginAttempts: 1, loginOk: 1 },
			issuedTokens: 1,
			settings: { release: 'R16.2', authFailureMode: 'envelope200', loginErrorHttpStatus: 200 },
		});

		expect((await control({ action: 'authFailureMode', mode: 'http401' })).status).toBe(200);
		expect((await control({ action: 'expireTokens' })).status).toBe(200);
		const expired = await get(CRMCOM_PATHS.jobsList, token);
		expect([expired.status, expired.body.status.code]).toEqual([401, 'TOKEN_EXPIRED']);
		expect((await control({ action: 'authFailureMode', mode: 'bogus' })).status).toBe(400);

		const fresh = await login();
		await control({ action: 'expireTokensAfter', n: 1 });
		expect((await get(CRMCOM_PATHS.jobsList, fresh)).status).toBe(200);
		expect((await get(CRMCOM_PATHS.jobsList, fresh)).status).toBe(401);
		expect((await control({ action: 'expireTokensAfter', n: -2 })).status).toBe(400);

		expect((await control({ action: 'latency', ms: 20 })).body.latencyMs).toBe(20);
		expect(fake.latencyMs).toBe(20);
		await control({ action: 'fail', match: { path: CRMCOM_PATHS.login }, fault: { status: 502 } });
		expect(fake.pendingFaults).toBe(1);
		await control({ action: 'clearFaults' });
		expect(fake.pendingFaults).toBe(0);
		await control({ action: 'fail', match: { pathRegex: 'token$' }, fault: { status: 502 } });
		expect(
			(await loginRaw({ access_token_identifier: { authentication_code: CODE } })).status,
		).toBe(502);

		const reset = await control({ action: 'reset' });
		expect(reset.body.counters).toEqual({
			loginAttempts: 0,
			loginOk: 0,
			loginFailures: {},
			protectedRequests: 0,
			protectedOk: 0,
			protectedRefused: 0,
			protectedRefusals: {},
			placementViolations: 0,
			placementViolationsBy: { header: 0, query: 0, body: 0 },
			contactWrites: 0,
			contactCreates: 0,
			contactUpdates: 0,
			writesByContact: {},
			writeFailures: 0,
			writeRefusals: 0,
			duplicatePhoneCreates: 0,
		});
		expect(fake.requests.length).toBeGreaterThan(0);
		await control({ action: 'clearLog' });
		expect(fake.requests).toHaveLength(0);
		expect((await control({ action: 'bogus' })).status).toBe(400);
		expect((await call('GET', '/__fake/nothing')).status).toBe(404);
		// Control calls are not logged.
		expect(fake.requests).toHaveLength(0);
	});

	it('rejects impossible data sizes at construction', async () => {
		await expect(
			startFakeCrmCom({ consumerKeys: [], contactCount: 10, groupMemberCount: 11 }),
		).rejects.toThrow(/groupMemberCount/);
	});
});
