import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, UnsecuredJWT, decodeJwt, importPKCS8 } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { B2COPY_PATHS, signB2CopyAssertion, startFakeB2Copy } from './b2copy';
import type { B2CopyAssertionOptions, FakeB2Copy, FakeB2CopyOptions } from './b2copy';
import { REQUEST_LOG_CAP, startFakeServer, json } from './common';
import type { FakeServer } from './common';
import {
	encryptedPkcs8Pem,
	generateEcKeyPair,
	generateP384Pem,
	generateRsaPem,
	publicPemOf,
} from './keys';
import type { EcKeyPair } from './keys';
import { callFake, type Answer, type CallOptions } from '../support/fetch';

const IP = '203.0.113.10';
let pair: EcKeyPair;
let otherPair: EcKeyPair;
let fake: FakeB2Copy;

beforeAll(() => {
	pair = generateEcKeyPair();
	otherPair = generateEcKeyPair();
});

async function start(options: Partial<FakeB2CopyOptions> = {}): Promise<FakeB2Copy> {
	fake = await startFakeB2Copy({
		keys: { 'key-1': pair.publicPem },
		admins: { 'admin-1': { allowedIps: [IP] }, '42': { allowedIps: [IP, '198.51.100.7'] } },
		...options,
	});
	return fake;
}

afterEach(async () => {
	await fake?.close();
});

const call = (method: string, path: string, options: Pick<CallOptions, 'body' | 'headers' | 'token' | 'raw'> = {}): Promise<Answer> =>
	callFake(fake.url, method, path, options);

const sign = (options: B2CopyAssertionOptions = {}, pem = pair.privatePkcs8Pem) =>
	signB2CopyAssertion(pem, options);
const exchange = (token: string) =>
	call('POST', B2COPY_PATHS.exchange, { body: { external_token: token } });

async function login(): Promise<{ access: string; refresh: string }> {
	const answer = await exchange(await sign());
	expect(answer.status).toBe(200);
	return { access: answer.body.access_token, refresh: answer.body.refresh_token };
}

describe('exchange: happy path', () => {
	it('snake shape (default) with a JWT access token', async () => {
		await start();
		const before = Math.floor(Date.now() / 1000);
		const answer = await exchange(await sign());
		expect(answer.status).toBe(200);
		expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
		expect(Object.keys(answer.body).sort()).toEqual([
			'access_token',
			'expires_in',
			'refresh_token',
			'token_type',
		]);
		expect(answer.body.token_type).toBe('Bearer');
		expect(answer.body.expires_in).toBe(60);
		const claims = decodeJwt(answer.body.access_token);
		expect(claims.admin_id).toBe('admin-1');
		expect(claims.exp).toBeGreaterThanOrEqual(before + 60);
		expect(claims.exp).toBeLessThanOrEqual(before + 61);
		expect(answer.body.refresh_token).toMatch(/^[A-Za-z0-9_-]{40,}$/);
		expect(fake.issuedTokens()).toEqual({
			access: [answer.body.access_token],
			refresh: [answer.body.refresh_token],
		});
	});

	it('camel shape', async () => {
		await start({ responseShape: 'camel', accessTokenTtlSec: 900 });
		const answer = await exchange(await sign());
		expect(Object.keys(answer.body).sort()).toEqual(['accessToken', 'expiresIn', 'refreshToken']);
		expect(answer.body.expiresIn).toBe(900);
		const ok = await call('GET', B2COPY_PATHS.echo, { token: answer.body.accessToken });
		expect(ok.status).toBe(200);
	});

	it('camelObject shape with ISO dates', async () => {
		await start({ responseShape: 'camelObject', accessTokenTtlSec: 120, refreshTokenTtlSec: 7200 });
		const answer = await exchange(await sign());
		const { accessToken, refreshToken } = answer.body;
		expect(Object.keys(accessToken).sort()).toEqual(['createdAt', 'expiresAt', 'token']);
		const created = Date.parse(accessToken.createdAt);
		expect(accessToken.createdAt).toBe(new Date(created).toISOString());
		expect(Date.parse(accessToken.expiresAt) - created).toBeGreaterThan(119_000);
		expect(Date.parse(accessToken.expiresAt) - created).toBeLessThanOrEqual(120_000);
		expect(Date.parse(refreshToken.expiresAt) - created).toBe(7_200_000);
		expect(decodeJwt(accessToken.token).admin_id).toBe('admin-1');
		expect(typeof refreshToken.token).toBe('string');
	});

	it('wrapped shape', async () => {
		await start({ responseShape: 'wrapped' });
		const answer = await exchange(await sign());
		expect(Object.keys(answer.body)).toEqual(['data']);
		expect(answer.body.data.token_type).toBe('Bearer');
		expect(answer.body.data.expires_in).toBe(60);
		expect(typeof answer.body.data.access_token).toBe('string');
	});

	it.each(['snake', 'camel', 'camelObject', 'wrapped'] as const)(
		'includeExpiry false omits every expiry field (%s), the JWT still carries exp',
		async (shape) => {
			await start({ responseShape: shape, includeExpiry: false });
			const answer = await exchange(await sign());
			expect(answer.status).toBe(200);
			expect(answer.text).not.toMatch(/expires/i);
			const access = answer.text.match(/"(eyJ[^"]+)"/)?.[1];
			expect(access).toBeDefined();
			expect(typeof decodeJwt(access as string).exp).toBe('number');
		},
	);

	it('accepts a numeric admin_id against a string registration', async () => {
		await start();
		const answer = await exchange(await sign({ adminId: 42, deviceIp: '198.51.100.7' }));
		expect(answer.status).toBe(200);
		expect(decodeJwt(answer.body.access_token).admin_id).toBe('42');
	});

	it('accepts an assertion expired within the clock skew', async () => {
		await start({ clockSkewSec: 120 });
		const now = Math.floor(Date.now() / 1000);
		expect((await exchange(await sign({ iat: now - 300, exp: now - 60 }))).status).toBe(200);
	});

	it('key id from header only, claim only, or both', async () => {
		await start({ keyIdFrom: 'either' });
		expect((await exchange(await sign({ keyIdClaim: false }))).status).toBe(200);
		expect((await exchange(await sign({ kidHeader: false }))).status).toBe(200);
		expect(await exchange(await sign())).toMatchObject({ status: 200 });
	});
});

describe('exchange: refusals', () => {
	beforeEach(async () => {
		await start();
	});

	const now = () => Math.floor(Date.now() / 1000);
	/** Valid claims, without jti. */
	const claims = () => ({ admin_id: 'admin-1', device_ip: IP, key_id: 'key-1', exp: now() + 60 });
	/** The claims signed with an algorithm the fake refuses (it accepts ES256 only). */
	const signedWith = async (alg: string, key: Parameters<SignJWT['sign']>[0]) =>
		await new SignJWT(claims()).setProtectedHeader({ alg, kid: 'key-1' }).sign(key);
	const UNSUPPORTED = 'Unsupported token algorithm; ES256 is required';

	const cases: Array<[string, () => Promise<string>, number, string, string]> = [
		[
			'malformed (not a JWS)',
			async () => 'definitely-not-a-jwt',
			401,
			'malformed_token',
			'Malformed token',
		],
		[
			'malformed (bad base64 parts)',
			async () => 'eyJ.eyJ.sig',
			401,
			'malformed_token',
			'Malformed token',
		],
		['unsupported alg (HS256)', () => signedWith('HS256', new Uint8Array(32)), 401, 'unsupported_alg', UNSUPPORTED],
		['unsupported alg (none)', async () => new UnsecuredJWT(claims()).encode(), 401, 'unsupported_alg', UNSUPPORTED],
		['unsupported alg (RS256 with an RSA key)', async () => signedWith('RS256', await importPKCS8(generateRsaPem(), 'RS256')), 401, 'unsupported_alg', UNSUPPORTED],
		['unsupported alg (ES384 with a P-384 key)', async () => signedWith('ES384', await importPKCS8(generateP384Pem(), 'ES384')), 401, 'unsupported_alg', UNSUPPORTED],
		['unknown key id', () => sign({ keyId: 'key-9' }), 401, 'unknown_key_id', 'Unknown key id'],
		[
			'invalid signature (another key)',
			() => sign({}, otherPair.privatePkcs8Pem),
			401,
			'invalid_signature',
			'Invalid token signature',
		],
		[
			'invalid signature (tampered payload)',
			async () => {
				const [h, , s] = (await sign()).split('.');
				const forged = Buffer.from(JSON.stringify({ ...claims(), jti: 'x' })).toString('base64url');
				return `${h}.${forged}.${s}`;
			},
			401,
			'invalid_signature',
			'Invalid token signature',
		],
		[
			'expired assertion',
			() => sign({ iat: now() - 900, exp: now() - 300 }),
			401,
			'assertion_expired',
			'Token has expired',
		],
		['missing exp', () => sign({ exp: null }), 401, 'exp_missing', 'Token has no exp claim'],
		[
			'non-numeric exp',
			() => sign({ exp: null, claims: { exp: 'tomorrow' } }),
			401,
			'exp_missing',
			'Token has no exp claim',
		],
		[
			'exp too far in the future',
			() => sign({ exp: now() + 3600 + 120 }),
			401,
			'exp_too_far',
			'Token exp is too far in the future',
		],
		[
			'iat in the future',
			() => sign({ iat: now() + 600 }),
			401,
			'iat_in_future',
			'Token iat is in the future',
		],
		[
			'nbf in the future',
			() => sign({ claims: { nbf: now() + 600 } }),
			401,
			'not_yet_valid',
			'Token is not yet valid',
		],
		['unknown admin', () => sign({ adminId: 'admin-2' }), 403, 'unknown_admin', 'Unknown admin'],
		[
			'device IP not allowed',
			() => sign({ deviceIp: '192.0.2.99' }),
			403,
			'device_ip_not_allowed',
			'Device IP is not allowed for this admin',
		],
		[
			'device IP allowed for another admin only',
			() => sign({ adminId: 'admin-1', deviceIp: '198.51.100.7' }),
			403,
			'device_ip_not_allowed',
			'Device IP is not allowed for this admin',
		],
		[
			'missing admin_id',
			() => sign({ claims: { admin_id: undefined } }),
			400,
			'missing_claims',
			'Missing required claims: admin_id',
		],
		[
			'missing device_ip and admin_id',
			() => sign({ claims: { admin_id: undefined, device_ip: undefined } }),
			400,
			'missing_claims',
			'Missing required claims: admin_id, device_ip',
		],
		[
			'no key id anywhere',
			() => sign({ kidHeader: false, keyIdClaim: false }),
			400,
			'missing_claims',
			'Missing required claims: key_id claim or kid header',
		],
		[
			'header kid and key_id claim disagree',
			() => sign({ kidHeader: 'key-1', keyIdClaim: 'key-2' }),
			401,
			'key_id_mismatch',
			'Key id in the token header and key_id claim differ',
		],
	];

	it.each(cases)('%s', async (_name, makeToken, status, code, message) => {
		const answer = await exchange(await makeToken());
		expect(answer.status).toBe(status);
		expect(answer.body).toEqual({ code, message });
		expect(fake.counters.exchangesOk).toBe(0);
		expect(fake.counters.refusals).toEqual({ [code]: 1 });
		expect(fake.issuedTokens().access).toHaveLength(0);
	});

	it('replayed assertion (same jti, different token)', async () => {
		expect((await exchange(await sign({ jti: 'fixed' }))).status).toBe(200);
		const again = await exchange(await sign({ jti: 'fixed', iat: now() - 30 }));
		expect(again.status).toBe(401);
		expect(again.body).toEqual({
			code: 'replayed_assertion',
			message: 'Token has already been used',
		});
	});

	it('replayed assertion without jti (same token string)', async () => {
		const token = await sign({ jti: null });
		expect((await exchange(token)).status).toBe(200);
		expect((await exchange(token)).body.code).toBe('replayed_assertion');
		// A different token without jti is fine.
		expect((await exchange(await sign({ jti: null, iat: now() - 10 }))).status).toBe(200);
	});

	it('a refused assertion does not consume its jti', async () => {
		fake.settings.admins = {};
		const token = await sign({ jti: 'later' });
		expect((await exchange(token)).status).toBe(403);
		fake.settings.admins = { 'admin-1': { allowedIps: [IP] } };
		expect((await exchange(token)).status).toBe(200);
	});

	it.each([
		[
			'form content type',
			{ 'content-type': 'application/x-www-form-urlencoded' },
			'external_token=abc',
			'bad_content_type',
		],
		['no content type', {}, '{"external_token":"abc"}', 'bad_content_type'],
		['invalid JSON', { 'content-type': 'application/json' }, '{"external_token":', 'invalid_json'],
		['JSON array', { 'content-type': 'application/json' }, '["abc"]', 'invalid_json'],
		['empty body', { 'content-type': 'application/json' }, '', 'missing_external_token'],
		[
			'missing field',
			{ 'content-type': 'application/json' },
			'{"token":"abc"}',
			'missing_external_token',
		],
		[
			'non-string field',
			{ 'content-type': 'application/json' },
			'{"external_token":1}',
			'missing_external_token',
		],
	])('400 for %s', async (_name, headers, raw, code) => {
		const answer = await call('POST', B2COPY_PATHS.exchange, { headers, raw });
		expect(answer.status).toBe(400);
		expect(answer.body.code).toBe(code);
		expect(typeof answer.body.message).toBe('string');
	});

	it('405 for GET, 404 for a sloppy path', async () => {
		expect((await call('GET', B2COPY_PATHS.exchange)).status).toBe(405);
		const token = await sign();
		for (const path of [
			`/${B2COPY_PATHS.exchange}`,
			`${B2COPY_PATHS.exchange}/`,
			'/api/admin/auth/v2/authexternalcrm',
		]) {
			const answer = await call('POST', path, { body: { external_token: token } });
			expect(answer.status).toBe(404);
		}
	});
});

describe('exchange: key id placement', () => {
	it.each([
		['header', 'claim', { kidHeader: false }, 'kid header', { keyIdClaim: 'whatever' }],
		['claim', 'header', { keyIdClaim: false }, 'key_id claim', { kidHeader: 'whatever' }],
	] as const)("keyIdFrom '%s' ignores the %s", async (keyIdFrom, _ignored, without, missing, otherWrong) => {
		await start({ keyIdFrom });
		const answer = await exchange(await sign(without));
		expect(answer.status).toBe(400);
		expect(answer.body.message).toBe(`Missing required claims: ${missing}`);
		expect((await exchange(await sign(otherWrong))).status).toBe(200);
	});

	it('maxAssertionLifetimeSec is configurable', async () => {
		await start({ maxAssertionLifetimeSec: 60 });
		const now = Math.floor(Date.now() / 1000);
		expect((await exchange(await sign({ exp: now + 300 }))).body.code).toBe('exp_too_far');
		expect((await exchange(await sign({ exp: now + 55 }))).status).toBe(200);
	});
});

describe('refresh', () => {
	it('rotates: new pair, old refresh token dead, no Bearer needed', async () => {
		await start();
		const first = await login();
		const answer = await call('POST', B2COPY_PATHS.refresh, {
			body: { refresh_token: first.refresh },
		});
		expect(answer.status).toBe(200);
		expect(answer.body.access_token).not.toBe(first.access);
		expect(answer.body.refresh_token).not.toBe(first.refresh);
		expect((await call('GET', B2COPY_PATHS.echo, { token: answer.body.access_token })).status).toBe(
			200,
		);

		const reused = await call('POST', B2COPY_PATHS.refresh, {
			body: { refresh_token: first.refresh },
		});
		expect(reused.status).toBe(401);
		expect(reused.body).toEqual({
			code: 'invalid_refresh_token',
			message: 'Invalid refresh token',
		});

		const next = await call('POST', B2COPY_PATHS.refresh, {
			body: { refresh_token: answer.body.refresh_token },
		});
		expect(next.status).toBe(200);
		expect(fake.counters).toMatchObject({
			refreshes: 3,
			refreshesOk: 2,
			refusals: { refresh_reused: 1 },
		});
		expect(fake.issuedTokens().refresh).toHaveLength(3);
	});

	it('answers in the configured shape', async () => {
		await start({ responseShape: 'camelObject' });
		const answer = await exchange(await sign());
		const refreshed = await call('POST', B2COPY_PATHS.refresh, {
			body: { refresh_token: answer.body.refreshToken.token },
		});
		expect(refreshed.status).toBe(200);
		expect(typeof refreshed.body.accessToken.token).toBe('string');
	});

	it('an expired Bearer header does not get in the way', async () => {
		await start();
		const first = await login();
		fake.expireAccessTokens();
		const answer = await call('POST', B2COPY_PATHS.refresh, {
			body: { refresh_token: first.refresh },
			token: first.access,
		});
		expect(answer.status).toBe(200);
	});

	it('unknown, revoked and expired refresh tokens are refused alike', async () => {
		let clock = Date.now();
		await start({ refreshTokenTtlSec: 100, now: () => clock });
		const unknown = await call('POST', B2COPY_PATHS.refresh, { body: { refresh_token: 'nope' } });
		expect(unknown.status).toBe(401);
		expect(unknown.body.message).toBe('Invalid refresh token');

		const a = await login();
		fake.revokeRefreshTokens();
		const revoked = await call('POST', B2COPY_PATHS.refresh, {
			body: { refresh_token: a.refresh },
		});
		expect(revoked.body).toEqual({
			code: 'invalid_refresh_token',
			message: 'Invalid refresh token',
		});

		const b = await login();
		clock += 101_000;
		const expired = await call('POST', B2COPY_PATHS.refresh, {
			body: { refresh_token: b.refresh },
		});
		expect(expired.status).toBe(401);
		expect(fake.counters.refusals).toEqual({
			refresh_unknown: 1,
			refresh_revoked: 1,
			refresh_expired: 1,
		});
	});

	it('400 without a refresh_token', async () => {
		await start();
		const answer = await call('POST', B2COPY_PATHS.refresh, { body: { refreshToken: 'x' } });
		expect(answer.status).toBe(400);
		expect(answer.body.code).toBe('missing_refresh_token');
	});
});

describe('protected routes', () => {
	it('Bearer: missing, unknown, expired', async () => {
		await start();
		const missing = await call('GET', B2COPY_PATHS.echo);
		expect(missing.status).toBe(401);
		expect(missing.body.message).toBe('Missing access token');
		const basic = await call('GET', B2COPY_PATHS.echo, {
			headers: { authorization: 'Basic YTpi' },
		});
		expect(basic.body.message).toBe('Missing access token');
		const unknown = await call('GET', B2COPY_PATHS.echo, { token: 'eyJhbGciOiJIUzI1NiJ9.e30.x' });
		expect(unknown.status).toBe(401);
		expect(unknown.body.message).toBe('Invalid access token');

		const { access, refresh } = await login();
		expect((await call('GET', B2COPY_PATHS.echo, { token: access })).status).toBe(200);
		fake.expireAccessTokens();
		const expired = await call('GET', B2COPY_PATHS.echo, { token: access });
		expect(expired.status).toBe(401);
		expect(expired.body).toEqual({ code: 'access_token_expired', message: 'Access token expired' });
		// A refresh token given as a Bearer token is not an access token.
		expect((await call('GET', B2COPY_PATHS.echo, { token: refresh })).body.message).toBe(
			'Invalid access token',
		);
		// Tokens issued after the expiry are fine.
		const fresh = await login();
		expect((await call('GET', B2COPY_PATHS.echo, { token: fresh.access })).status).toBe(200);
		expect(fake.counters).toMatchObject({ protectedRequests: 7, protectedOk: 2 });
	});

	it('access tokens expire with the clock after accessTokenTtlSec', async () => {
		let clock = Date.now();
		await start({ accessTokenTtlSec: 30, now: () => clock });
		const { access } = await login();
		clock += 29_000;
		expect((await call('GET', B2COPY_PATHS.echo, { token: access })).status).toBe(200);
		clock += 2_000;
		expect((await call('GET', B2COPY_PATHS.echo, { token: access })).body.message).toBe(
			'Access token expired',
		);
	});

	it('expireAccessTokensAfter(n) expires mid-run', async () => {
		await start();
		const { access } = await login();
		fake.expireAccessTokensAfter(2);
		expect((await call('GET', B2COPY_PATHS.echo, { token: access })).status).toBe(200);
		expect((await call('GET', B2COPY_PATHS.echo, { token: access })).status).toBe(200);
		expect((await call('GET', B2COPY_PATHS.echo, { token: access })).status).toBe(401);
		const fresh = await login();
		expect((await call('GET', B2COPY_PATHS.echo, { token: fresh.access })).status).toBe(200);
		expect((await call('GET', B2COPY_PATHS.echo, { token: fresh.access })).status).toBe(200);
	});

	it('echo GET returns the query, POST the body', async () => {
		await start();
		const { access } = await login();
		const get = await call('GET', `${B2COPY_PATHS.echo}?a=1&b=x&b=y`, { token: access });
		expect(get.body).toEqual({ ok: true, admin_id: 'admin-1', query: { a: '1', b: ['x', 'y'] } });
		const post = await call('POST', B2COPY_PATHS.echo, {
			token: access,
			body: { n: 1, nested: { s: 'v' } },
		});
		expect(post.body).toEqual({
			ok: true,
			admin_id: 'admin-1',
			body: { n: 1, nested: { s: 'v' } },
		});
		expect((await call('DELETE', B2COPY_PATHS.echo, { token: access })).status).toBe(405);
	});

	it('fee: PENDING, PENDING, SUCCESS, idempotent by request_id', async () => {
		await start();
		const { access } = await login();
		const body = { account_login: '123456', request_id: 'withdrawal_req_789' };
		const statuses: number[] = [];
		for (let i = 0; i < 4; i++) {
			const answer = await call('POST', B2COPY_PATHS.fee, { token: access, body });
			expect(answer.status).toBe(200);
			expect(answer.body).toMatchObject(body);
			statuses.push(answer.body.status);
		}
		expect(statuses).toEqual([1, 1, 2, 2]);
		expect(fake.feePolls('withdrawal_req_789')).toBe(4);
		const other = await call('POST', B2COPY_PATHS.fee, {
			token: access,
			body: { ...body, request_id: 'r2' },
		});
		expect(other.body.status).toBe(1);
	});

	it('fee: scripted ERROR after the pending polls; feePendingPolls 0', async () => {
		await start({ feePendingPolls: 0 });
		const { access } = await login();
		fake.scriptFeeError('bad', 'Insufficient funds');
		const err = await call('POST', B2COPY_PATHS.fee, {
			token: access,
			body: { account_login: '1', request_id: 'bad' },
		});
		expect(err.body).toEqual({
			account_login: '1',
			request_id: 'bad',
			status: 3,
			message: 'Insufficient funds',
		});
		const ok = await call('POST', B2COPY_PATHS.fee, {
			token: access,
			body: { account_login: '1', request_id: 'good' },
		});
		expect(ok.body.status).toBe(2);
	});

	it('fee: 409 on a request_id reused with another account, 400 on bad fields, 401 without token', async () => {
		await start();
		const { access } = await login();
		await call('POST', B2COPY_PATHS.fee, {
			token: access,
			body: { account_login: '1', request_id: 'r' },
		});
		const conflict = await call('POST', B2COPY_PATHS.fee, {
			token: access,
			body: { account_login: '2', request_id: 'r' },
		});
		expect(conflict.status).toBe(409);
		expect(typeof conflict.body.message).toBe('string');
		for (const body of [
			{ request_id: 'r' },
			{ account_login: 123456, request_id: 'r' },
			{ account_login: '1', request_id: '' },
		]) {
			expect((await call('POST', B2COPY_PATHS.fee, { token: access, body })).status).toBe(400);
		}
		const noToken = await call('POST', B2COPY_PATHS.fee, {
			body: { account_login: '1', request_id: 'r' },
		});
		expect(noToken.status).toBe(401);
		expect(fake.feePolls('r')).toBe(1);
	});
});

describe('faults', () => {
	beforeEach(async () => {
		await start();
	});

	it('status fault with Retry-After, once by default, before the vendor logic', async () => {
		fake.fail(
			{ path: B2COPY_PATHS.exchange },
			{ status: 429, headers: { 'Retry-After': '2' }, body: { message: 'Slow down' } },
		);
		const token = await sign();
		const first = await exchange(token);
		expect(first.status).toBe(429);
		expect(first.headers.get('retry-after')).toBe('2');
		expect(first.body).toEqual({ message: 'Slow down' });
		expect(fake.counters.exchanges).toBe(0);
		expect((await exchange(token)).status).toBe(200);
		expect(fake.requests.map((r) => r.fault)).toEqual(['status', undefined]);
	});

	it('garbage JSON', async () => {
		fake.fail({ method: 'POST', path: B2COPY_PATHS.exchange }, { kind: 'garbage' });
		const res = await fetch(`${fake.url}${B2COPY_PATHS.exchange}`, { method: 'POST' });
		expect(res.status).toBe(200);
		expect(res.headers.get('content-type')).toBe('application/json');
		await expect(res.json()).rejects.toThrow();
	});

	it('HTML error page', async () => {
		fake.fail({ path: /refreshtoken$/ }, { kind: 'html' });
		fake.fail({ path: /refreshtoken$/ }, { kind: 'html', status: 503 });
		const a = await call('POST', B2COPY_PATHS.refresh, { body: {} });
		expect(a.status).toBe(502);
		expect(a.headers.get('content-type')).toBe('text/html');
		expect(a.text).toMatch(/<html>/);
		// The first rule was used up; the second now fires.
		expect((await call('POST', B2COPY_PATHS.refresh, { body: {} })).status).toBe(503);
		expect((await call('POST', B2COPY_PATHS.refresh, { body: {} })).status).toBe(400);
	});

	it('slow answers after the delay, then normally', async () => {
		const { access } = await login();
		fake.fail({ path: B2COPY_PATHS.echo }, { kind: 'slow', ms: 300 });
		const started = Date.now();
		const answer = await call('GET', B2COPY_PATHS.echo, { token: access });
		expect(Date.now() - started).toBeGreaterThanOrEqual(290);
		expect(answer.status).toBe(200);
		expect(answer.body.ok).toBe(true);
		fake.fail({}, { kind: 'slow', ms: 500 });
		await expect(
			fetch(`${fake.url}${B2COPY_PATHS.echo}`, { signal: AbortSignal.timeout(100) }),
		).rejects.toThrow();
	});

	it('drop makes fetch reject', async () => {
		fake.fail({ path: B2COPY_PATHS.exchange }, { kind: 'drop' });
		await expect(exchange(await sign())).rejects.toThrow(TypeError);
		expect((await exchange(await sign())).status).toBe(200);
	});

	it('every third request, skip and times', async () => {
		const { access } = await login();
		fake.fail(
			{ path: B2COPY_PATHS.echo, every: 3 },
			{ status: 429, headers: { 'retry-after': '0' } },
		);
		const statuses: number[] = [];
		for (let i = 0; i < 7; i++)
			statuses.push((await call('GET', B2COPY_PATHS.echo, { token: access })).status);
		expect(statuses).toEqual([200, 200, 429, 200, 200, 429, 200]);
		fake.clearFaults();
		fake.fail({ method: 'get', skip: 1, times: 2 }, { status: 500 });
		statuses.length = 0;
		for (let i = 0; i < 5; i++)
			statuses.push((await call('GET', B2COPY_PATHS.echo, { token: access })).status);
		expect(statuses).toEqual([200, 500, 500, 200, 200]);
		expect(fake.pendingFaults).toBe(0);
	});

	it('a method filter leaves other methods alone', async () => {
		fake.fail({ method: 'GET', path: B2COPY_PATHS.exchange }, { status: 500 });
		expect((await exchange(await sign())).status).toBe(200);
		expect(fake.pendingFaults).toBe(1);
	});

	it('global latency delays every answer', async () => {
		fake.latencyMs = 200;
		const started = Date.now();
		await call('GET', '/nowhere');
		expect(Date.now() - started).toBeGreaterThanOrEqual(190);
	});
});

describe('log, counters and the HTTP control plane', () => {
	it('logs requests (not control calls) with parsed parts', async () => {
		await start();
		const { access } = await login();
		await call('GET', `${B2COPY_PATHS.echo}?x=1`, { token: access });
		await call('GET', '/__fake/state');
		expect(fake.requests).toHaveLength(2);
		const [ex, echo] = fake.requests;
		expect(ex).toMatchObject({ method: 'POST', path: B2COPY_PATHS.exchange, query: {} });
		expect(JSON.parse(ex.rawBody).external_token).toMatch(/^eyJ/);
		expect(echo.headers.authorization).toBe(`Bearer ${access}`);
		expect(echo.query).toEqual({ x: '1' });
		expect(echo.at).toBeGreaterThan(Date.now() - 10_000);
		expect(fake.requestsTo(B2COPY_PATHS.echo, 'get')).toHaveLength(1);
		fake.clearLog();
		expect(fake.requests).toHaveLength(0);
		expect(REQUEST_LOG_CAP).toBe(20_000);
	});

	it('GET /__fake/state and POST /__fake/control drive the fake from another process', async () => {
		await start();
		const { access, refresh } = await login();
		const state = await call('GET', '/__fake/state');
		expect(state.body.counters).toMatchObject({ exchanges: 1, exchangesOk: 1 });

		const control = (body: unknown) => call('POST', '/__fake/control', { body });
		expect((await control({ action: 'expireAccessTokens' })).status).toBe(200);
		expect((await call('GET', B2COPY_PATHS.echo, { token: access })).body.message).toBe(
			'Access token expired',
		);
		expect((await control({ action: 'revokeRefreshTokens' })).status).toBe(200);
		expect(
			(await call('POST', B2COPY_PATHS.refresh, { body: { refresh_token: refresh } })).status,
		).toBe(401);

		const latency = await control({ action: 'latency', ms: 25 });
		expect(latency.body.latencyMs).toBe(25);
		expect(fake.latencyMs).toBe(25);

		await control({
			action: 'fail',
			match: { path: B2COPY_PATHS.exchange },
			fault: { status: 503 },
		});
		expect((await exchange(await sign())).status).toBe(503);

		const reset = await control({ action: 'reset' });
		expect(reset.body.counters).toEqual({
			exchanges: 0,
			exchangesOk: 0,
			refreshes: 0,
			refreshesOk: 0,
			protectedRequests: 0,
			protectedOk: 0,
			refusals: {},
		});
		expect((await control({ action: 'bogus' })).status).toBe(400);
		expect((await call('GET', '/__fake/nothing')).status).toBe(404);
	});

	it('counters count attempts, successes and refusals by cause', async () => {
		await start();
		await exchange(await sign());
		await exchange(await sign({ adminId: 'x' }));
		await exchange('junk');
		await call('GET', B2COPY_PATHS.echo);
		expect(fake.counters).toEqual({
			exchanges: 3,
			exchangesOk: 1,
			refreshes: 0,
			refreshesOk: 0,
			protectedRequests: 1,
			protectedOk: 0,
			refusals: { unknown_admin: 1, malformed_token: 1, missing_access_token: 1 },
		});
		const snapshot = fake.counters;
		snapshot.refusals.x = 1;
		expect(fake.counters.refusals.x).toBeUndefined();
		fake.reset();
		expect(fake.counters.exchanges).toBe(0);
	});
});

describe('common and keys', () => {
	let server: FakeServer | undefined;
	afterEach(async () => {
		await server?.close();
		server = undefined;
	});

	it('startFakeServer listens on 127.0.0.1 and close() does not hang on keep-alive sockets', async () => {
		server = await startFakeServer(({ res, method, rawBody }) =>
			json(res, 201, { method, rawBody }),
		);
		expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
		const res = await fetch(`${server.url}/x`, { method: 'PUT', body: 'abc' });
		expect(res.status).toBe(201);
		expect(await res.json()).toEqual({ method: 'PUT', rawBody: 'abc' });
		const started = Date.now();
		await server.close();
		expect(Date.now() - started).toBeLessThan(1000);
		await expect(fetch(`http://127.0.0.1:${server.port}/x`)).rejects.toThrow();
	});

	it('a throwing handler answers 500 JSON', async () => {
		server = await startFakeServer(() => {
			throw new Error('boom');
		});
		const res = await fetch(`${server.url}/`);
		expect(res.status).toBe(500);
		expect(((await res.json()) as { message: string }).message).toMatch(/boom/);
	});

	it('key helpers produce the expected PEM kinds', () => {
		expect(pair.privatePkcs8Pem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
		expect(pair.privateSec1Pem).toMatch(/^-----BEGIN EC PRIVATE KEY-----/);
		expect(pair.publicPem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
		expect(publicPemOf(pair.privateSec1Pem)).toBe(pair.publicPem);
		expect(encryptedPkcs8Pem('pw')).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
		expect(generateRsaPem()).toMatch(/^-----BEGIN PRIVATE KEY-----/);
		expect(generateP384Pem()).toMatch(/^-----BEGIN PRIVATE KEY-----/);
	});

	it('startFakeB2Copy refuses a non-P-256 public key', async () => {
		const rsaPublic = generateKeyPairSync('rsa', { modulusLength: 2048 })
			.publicKey.export({ type: 'spki', format: 'pem' })
			.toString();
		await expect(startFakeB2Copy({ keys: { k: rsaPublic }, admins: {} })).rejects.toThrow(
			/not a P-256 public key/,
		);
		await expect(
			startFakeB2Copy({ keys: { k: publicPemOf(generateP384Pem()) }, admins: {} }),
		).rejects.toThrow(/P-256/);
	});
});
