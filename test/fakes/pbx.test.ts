import { afterEach, describe, expect, it } from 'vitest';
import { json, startFakeServer } from './common';
import type { FakeServer } from './common';
import {
	PBX_PATHS,
	PBX_STATS_CONCURRENT_MESSAGE,
	formatPbxDatetime,
	SUBSCRIPTION_LIMIT_ANSWERS,
	parsePbxDatetime,
	startFakePbx,
} from './pbx';
import type { FakePbx, FakePbxOptions } from './pbx';

const APP = {
	clientId: 'a80f1e618ddd4d4584e2bd48fd404194',
	clientSecret: 'a2423941f5be408c998d5f7207570990',
	redirectUris: ['https://crm.example/oauth/callback', 'https://crm.example/other?x=1'],
};
const REDIRECT = APP.redirectUris[0];
const API = PBX_PATHS.api;
const ALL_TIME = {
	start_datetime: '2000-01-01 00:00:00',
	end_datetime: formatPbxDatetime(Date.now() + 7 * 86_400_000),
};

let fake: FakePbx;
let receiver: FakeServer | undefined;
let offsetMs = 0;

async function start(options: Partial<FakePbxOptions> = {}): Promise<FakePbx> {
	offsetMs = 0;
	fake = await startFakePbx({ publicApps: [APP], now: () => Date.now() + offsetMs, ...options });
	return fake;
}

afterEach(async () => {
	await fake?.close();
	await receiver?.close();
	receiver = undefined;
});

interface Answer {
	status: number;
	headers: Headers;
	body: any;
	text: string;
	bytes: Buffer;
}

async function call(
	method: string,
	path: string,
	options: {
		json?: unknown;
		form?: Record<string, string>;
		raw?: string;
		token?: string;
		headers?: Record<string, string>;
		query?: Record<string, string | number>;
		absolute?: boolean;
	} = {},
): Promise<Answer> {
	const headers: Record<string, string> = { ...options.headers };
	let body: string | undefined = options.raw;
	if (options.json !== undefined) {
		body = JSON.stringify(options.json);
		headers['content-type'] ??= 'application/json';
	}
	if (options.form !== undefined) {
		body = new URLSearchParams(options.form).toString();
		headers['content-type'] ??= 'application/x-www-form-urlencoded';
	}
	if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
	const qs = options.query
		? `?${new URLSearchParams(Object.entries(options.query).map(([k, v]): [string, string] => [k, String(v)]))}`
		: '';
	const url = options.absolute ? path : `${fake.url}${path}${qs}`;
	const res = await fetch(url, { method, headers, body, redirect: 'manual' });
	const bytes = Buffer.from(await res.arrayBuffer());
	const text = bytes.toString('utf8');
	let parsed: unknown;
	try {
		parsed = JSON.parse(text);
	} catch {
		parsed = undefined;
	}
	return { status: res.status, headers: res.headers, body: parsed, text, bytes };
}

function authorize(params: Record<string, string>): Promise<Answer> {
	return call('GET', PBX_PATHS.authorize, { query: params });
}

const authParams = (extra: Record<string, string> = {}) => ({
	response_type: 'code',
	client_id: APP.clientId,
	redirect_uri: REDIRECT,
	scope: 'all',
	...extra,
});

async function getCode(extra: Record<string, string> = {}): Promise<string> {
	const answer = await authorize(authParams(extra));
	expect(answer.status).toBe(302);
	const code = new URL(answer.headers.get('location') as string).searchParams.get('code');
	expect(code).toBeTruthy();
	return code as string;
}

const tokenRequest = (form: Record<string, string>, headers?: Record<string, string>) =>
	call('POST', PBX_PATHS.token, { form, headers });

async function login(): Promise<{ access: string; refresh: string }> {
	const answer = await tokenRequest({
		grant_type: 'authorization_code',
		code: await getCode(),
		redirect_uri: REDIRECT,
		client_id: APP.clientId,
		client_secret: APP.clientSecret,
	});
	expect(answer.status).toBe(200);
	return { access: answer.body.access_token, refresh: answer.body.refresh_token };
}

async function trustedApp(access: string): Promise<{ id: string; secret: string }> {
	const created = await call('POST', `${API}/application/`, {
		token: access,
		json: { name: 'CRM sync', type: 'trusted' },
	});
	expect(created.status).toBe(201);
	return { id: created.body.id, secret: created.body.secret ?? created.body.client_secret };
}

async function trustedToken(app: { id: string; secret: string }): Promise<string> {
	const answer = await tokenRequest({
		grant_type: 'client_credentials',
		client_id: app.id,
		client_secret: app.secret,
	});
	expect(answer.status).toBe(200);
	return answer.body.access_token;
}

describe('OAuth2 authorization code flow', () => {
	it('authorize → 302 with a code and the state → token → /user/', async () => {
		await start();
		const answer = await authorize(authParams({ state: 'xyz 1/2' }));
		expect(answer.status).toBe(302);
		const location = new URL(answer.headers.get('location') as string);
		expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
		expect(location.searchParams.get('state')).toBe('xyz 1/2');
		const code = location.searchParams.get('code') as string;
		expect(code).toMatch(/^[A-Za-z0-9_-]{20,}$/);

		const token = await tokenRequest({
			grant_type: 'authorization_code',
			code,
			redirect_uri: REDIRECT,
			client_id: APP.clientId,
			client_secret: APP.clientSecret,
		});
		expect(token.status).toBe(200);
		expect(Object.keys(token.body).sort()).toEqual([
			'access_token',
			'expires_in',
			'refresh_token',
			'token_type',
		]);
		expect(token.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
		expect(token.headers.get('cache-control')).toBe('no-store');

		const me = await call('GET', `${API}/user/`, { token: token.body.access_token });
		expect(me.status).toBe(200);
		expect(Object.keys(me.body).sort()).toEqual(
			[
				'id',
				'login',
				'client_id',
				'dealer_id',
				'admin',
				'extension_id',
				'extension_group_id',
				'timezone',
				'access',
				'extra_params',
			].sort(),
		);
		expect(me.body).toMatchObject({ id: 20, login: 'client1', client_id: 12 });

		// single use
		const again = await tokenRequest({
			grant_type: 'authorization_code',
			code,
			redirect_uri: REDIRECT,
			client_id: APP.clientId,
			client_secret: APP.clientSecret,
		});
		expect(again.status).toBe(400);
		expect(again.body).toEqual({ error: 'invalid_grant' });
		expect(fake.counters.grants.authorization_code).toEqual({ attempted: 2, ok: 1 });
		expect(fake.counters.authorize).toEqual({ attempted: 1, ok: 1 });
	});

	it('keeps the registered redirect URI query and omits state when not sent', async () => {
		await start();
		const answer = await authorize(authParams({ redirect_uri: APP.redirectUris[1] }));
		const location = new URL(answer.headers.get('location') as string);
		expect(location.searchParams.get('x')).toBe('1');
		expect(location.searchParams.has('state')).toBe(false);
	});

	it('bad client or redirect URI → 400 JSON, never a redirect', async () => {
		await start();
		for (const params of [
			authParams({ client_id: 'nope' }),
			authParams({ redirect_uri: 'https://evil.example/cb' }),
			authParams({ redirect_uri: `${REDIRECT}/` }),
			{ response_type: 'code', client_id: APP.clientId, scope: 'all' },
		]) {
			const answer = await authorize(params);
			expect(answer.status).toBe(400);
			expect(answer.headers.get('location')).toBeNull();
			expect(answer.body.error).toMatch(/^invalid_(client|request)$/);
		}
		expect((await authorize(authParams({ client_id: 'nope' }))).body.error).toBe('invalid_client');
	});

	it('other errors redirect with error= and the state', async () => {
		await start();
		const cases: Array<[Record<string, string>, string]> = [
			[authParams({ response_type: 'token', state: 's' }), 'unsupported_response_type'],
			[authParams({ scope: 'read', state: 's' }), 'invalid_scope'],
		];
		for (const [params, error] of cases) {
			const answer = await authorize(params);
			expect(answer.status).toBe(302);
			const location = new URL(answer.headers.get('location') as string);
			expect(location.searchParams.get('error')).toBe(error);
			expect(location.searchParams.get('state')).toBe('s');
			expect(location.searchParams.has('code')).toBe(false);
		}
		fake.settings.denyAuthorization = true;
		const denied = await authorize(authParams());
		expect(new URL(denied.headers.get('location') as string).searchParams.get('error')).toBe(
			'access_denied',
		);
	});

	it('codes expire after 60 s and are bound to the redirect URI and the client', async () => {
		await start({
			publicApps: [APP, { clientId: 'other', clientSecret: 's2', redirectUris: [REDIRECT] }],
		});
		const exchange = (code: string, extra: Record<string, string> = {}) =>
			tokenRequest({
				grant_type: 'authorization_code',
				code,
				redirect_uri: REDIRECT,
				client_id: APP.clientId,
				client_secret: APP.clientSecret,
				...extra,
			});
		const old = await getCode();
		offsetMs = 61_000;
		expect((await exchange(old)).body).toEqual({ error: 'invalid_grant' });
		offsetMs = 0;
		const wrongUri = await getCode();
		const refused = await exchange(wrongUri, { redirect_uri: APP.redirectUris[1] });
		expect(refused.status).toBe(400);
		expect(refused.body).toEqual({ error: 'invalid_grant' });
		const otherClient = await getCode();
		expect((await exchange(otherClient, { client_id: 'other', client_secret: 's2' })).body).toEqual(
			{ error: 'invalid_grant' },
		);
		expect((await exchange(otherClient)).status).toBe(200);
	});
});

describe('token endpoint strictness', () => {
	it('form encoding only, credentials in the body only', async () => {
		await start();
		const code = await getCode();
		const form = {
			grant_type: 'authorization_code',
			code,
			redirect_uri: REDIRECT,
			client_id: APP.clientId,
			client_secret: APP.clientSecret,
		};
		const asJson = await call('POST', PBX_PATHS.token, { json: form });
		expect(asJson.status).toBe(400);
		expect(asJson.body).toEqual({ error: 'invalid_request' });

		for (const contentType of ['application/json', 'text/plain', 'multipart/form-data']) {
			const mislabelled = await call('POST', PBX_PATHS.token, {
				raw: new URLSearchParams(form).toString(),
				headers: { 'content-type': contentType },
			});
			expect(mislabelled.status, contentType).toBe(400);
			expect(mislabelled.body).toEqual({ error: 'invalid_request' });
		}

		const basic = `Basic ${Buffer.from(`${APP.clientId}:${APP.clientSecret}`).toString('base64')}`;
		const { client_id: _id, client_secret: _secret, ...withoutCreds } = form;
		const viaBasic = await tokenRequest(withoutCreds, { authorization: basic });
		expect(viaBasic.status).toBe(401);
		expect(viaBasic.body).toEqual({ error: 'invalid_client' });

		const wrongSecret = await tokenRequest({ ...form, client_secret: 'nope' });
		expect(wrongSecret.status).toBe(401);
		expect(wrongSecret.body).toEqual({ error: 'invalid_client' });

		const unsupported = await tokenRequest({ ...form, grant_type: 'password' });
		expect(unsupported.status).toBe(400);
		expect(unsupported.body).toEqual({ error: 'unsupported_grant_type' });

		const duplicated = await call('POST', PBX_PATHS.token, {
			raw: `${new URLSearchParams(form)}&code=again`,
			headers: { 'content-type': 'application/x-www-form-urlencoded' },
		});
		expect(duplicated.body).toEqual({ error: 'invalid_request' });

		// none of the refusals consumed the code
		expect((await tokenRequest(form)).status).toBe(200);
		expect(fake.counters.tokenRefusals).toEqual({
			invalid_request: 5,
			invalid_client: 2,
			unsupported_grant_type: 1,
		});
	});

	it('acceptBasicClientAuth: true allows a Basic header instead of body credentials', async () => {
		await start({ acceptBasicClientAuth: true });
		const basic = `Basic ${Buffer.from(`${APP.clientId}:${APP.clientSecret}`).toString('base64')}`;
		const answer = await tokenRequest(
			{ grant_type: 'authorization_code', code: await getCode(), redirect_uri: REDIRECT },
			{ authorization: basic },
		);
		expect(answer.status).toBe(200);
	});
});

describe('refresh tokens', () => {
	it('rotate: the old refresh token dies with 401 invalid_grant', async () => {
		await start({ tokenLifetimeSec: 120 });
		const first = await login();
		const refresh = (refreshToken: string) =>
			tokenRequest({
				grant_type: 'refresh_token',
				refresh_token: refreshToken,
				redirect_uri: REDIRECT,
				client_id: APP.clientId,
				client_secret: APP.clientSecret,
			});
		const second = await refresh(first.refresh);
		expect(second.status).toBe(200);
		expect(second.body).toMatchObject({ token_type: 'Bearer', expires_in: 120 });
		expect(second.body.refresh_token).not.toBe(first.refresh);
		expect(second.body.access_token).not.toBe(first.access);

		const replay = await refresh(first.refresh);
		expect(replay.status).toBe(401);
		expect(replay.body).toEqual({ error: 'invalid_grant' });
		expect((await refresh('unknown')).body).toEqual({ error: 'invalid_grant' });

		const third = await refresh(second.body.refresh_token);
		expect(third.status).toBe(200);
		expect((await call('GET', `${API}/user/`, { token: third.body.access_token })).status).toBe(
			200,
		);
		fake.revokeRefreshTokens();
		expect((await refresh(third.body.refresh_token)).status).toBe(401);
		expect(fake.counters.grants.refresh_token).toEqual({ attempted: 5, ok: 2 });
		expect(fake.issuedTokens().refresh).toHaveLength(3);
	});
});

describe('trusted application', () => {
	it('created via the API, then client_credentials without a refresh token', async () => {
		await start();
		const { access } = await login();
		const created = await call('POST', `${API}/application/`, {
			token: access,
			json: { name: 'CRM sync', type: 'trusted' },
		});
		expect(created.status).toBe(201);
		expect(Object.keys(created.body).sort()).toEqual(['id', 'name', 'secret', 'type']);
		expect(created.body).toMatchObject({ name: 'CRM sync', type: 'trusted' });
		expect(typeof created.body.id).toBe('string');

		const listed = await call('GET', `${API}/application/`, { token: access });
		expect(listed.body).toEqual([{ id: created.body.id, name: 'CRM sync', type: 'trusted' }]);
		expect(listed.text).not.toContain(created.body.secret);

		const token = await tokenRequest({
			grant_type: 'client_credentials',
			client_id: created.body.id,
			client_secret: created.body.secret,
		});
		expect(token.status).toBe(200);
		expect(Object.keys(token.body).sort()).toEqual(['access_token', 'expires_in', 'token_type']);
		const me = await call('GET', `${API}/user/`, { token: token.body.access_token });
		expect(me.body.login).toBe('client1');

		const wrong = await tokenRequest({
			grant_type: 'client_credentials',
			client_id: created.body.id,
			client_secret: 'x',
		});
		expect(wrong.status).toBe(401);
		expect(wrong.body).toEqual({ error: 'invalid_client' });
		const withScope = await tokenRequest({
			grant_type: 'client_credentials',
			client_id: created.body.id,
			client_secret: created.body.secret,
			scope: 'all',
		});
		expect(withScope.body).toEqual({ error: 'invalid_scope' });
		const publicApp = await tokenRequest({
			grant_type: 'client_credentials',
			client_id: APP.clientId,
			client_secret: APP.clientSecret,
		});
		expect(publicApp.status).toBe(400);
		expect(publicApp.body).toEqual({ error: 'unauthorized_client' });
		expect(fake.counters.grants.client_credentials).toEqual({ attempted: 4, ok: 1 });
		expect(fake.issuedTokens().secrets).toEqual([created.body.secret]);
	});

	it("secretField 'client_secret', reset_secret, and bad bodies", async () => {
		await start({ secretField: 'client_secret' });
		const { access } = await login();
		const app = await trustedApp(access);
		expect(app.secret).toMatch(/^[0-9a-f]{32}$/);
		const reset = await call('PUT', `${API}/application/${app.id}/reset_secret/`, {
			token: access,
		});
		expect(reset.status).toBe(200);
		expect(reset.body.client_secret).not.toBe(app.secret);
		const old = await tokenRequest({
			grant_type: 'client_credentials',
			client_id: app.id,
			client_secret: app.secret,
		});
		expect(old.status).toBe(401);
		await trustedToken({ id: app.id, secret: reset.body.client_secret });

		const bad = [
			[{ name: 'x', type: 'public' }, "type must be 'trusted'"],
			[{ type: 'trusted' }, 'name is required'],
		] as const;
		for (const [body, message] of bad) {
			const answer = await call('POST', `${API}/application/`, { token: access, json: body });
			expect(answer.status).toBe(400);
			expect(answer.body).toEqual({ message });
		}
		const form = await call('POST', `${API}/application/`, {
			token: access,
			form: { name: 'x', type: 'trusted' },
		});
		expect(form.body).toEqual({ message: 'Content-Type must be application/json' });
	});

	it('pre-registered trusted apps work without the code flow', async () => {
		await start({ trustedApps: [{ clientId: 't1', clientSecret: 's1' }] });
		const access = await trustedToken({ id: 't1', secret: 's1' });
		expect((await call('GET', `${API}/user/`, { token: access })).status).toBe(200);
	});
});

describe('Bearer tokens', () => {
	it('missing, unknown, expired → 401 {message}', async () => {
		await start({ tokenLifetimeSec: 60 });
		const { access } = await login();
		const missing = await call('GET', `${API}/user/`);
		expect(missing.status).toBe(401);
		expect(missing.body).toEqual({ message: 'Authentication credentials were not provided' });
		expect(missing.headers.get('www-authenticate')).toBe('Bearer');
		expect((await call('GET', `${API}/user/`, { token: 'nope' })).body).toEqual({
			message: 'Invalid token',
		});
		expect((await call('GET', `${API}/user/`, { token: access })).status).toBe(200);
		offsetMs = 61_000;
		expect((await call('GET', `${API}/user/`, { token: access })).body).toEqual({
			message: 'Token expired',
		});
		expect(fake.counters).toMatchObject({ apiRequests: 4, apiOk: 1, apiUnauthorized: 3 });
	});

	it('expireTokens() and expireTokensAfter(n)', async () => {
		await start();
		const { access } = await login();
		fake.expireTokens();
		expect((await call('GET', `${API}/user/`, { token: access })).status).toBe(401);
		const second = await login();
		fake.expireTokensAfter(2);
		expect((await call('GET', `${API}/user/`, { token: second.access })).status).toBe(200);
		expect((await call('GET', `${API}/user/`, { token: second.access })).status).toBe(200);
		expect((await call('GET', `${API}/user/`, { token: second.access })).status).toBe(401);
		expect(fake.issuedTokens().access).toEqual([access, second.access]);
	});

	it('unknown routes 404, wrong methods 405, other client ids 403', async () => {
		await start();
		const { access } = await login();
		expect((await call('GET', `${API}/nothing/`, { token: access })).body).toEqual({
			message: 'Not found',
		});
		const wrong = await call('DELETE', `${API}/user/`, { token: access });
		expect(wrong.status).toBe(405);
		expect(wrong.headers.get('allow')).toBe('GET');
		const other = await call('GET', `${API}/client/99/extension/`, { token: access });
		expect(other.status).toBe(403);
		expect(other.body).toEqual({ message: 'Access denied' });
		expect((await call('GET', `${API}/client/12/extension/`, { token: access })).status).toBe(200);
	});
});

describe('call history', () => {
	it('pages 5000 calls in 50 pages of 100: all unique, in order, then an empty page', async () => {
		await start();
		const access = await trustedToken(await trustedApp((await login()).access));
		const seen: string[] = [];
		let previous = '';
		for (let page = 1; page <= 51; page++) {
			const answer = await call('GET', `${API}/client/@me/call_history/`, {
				token: access,
				query: { ...ALL_TIME, page, per_page: 100, order: 'asc' },
			});
			expect(answer.status).toBe(200);
			expect(answer.body).toMatchObject({ page, per_page: 100, order: 'asc' });
			expect(answer.body.call_history).toHaveLength(page <= 50 ? 100 : 0);
			for (const c of answer.body.call_history) {
				expect(c.start_time_gmt >= previous).toBe(true);
				previous = c.start_time_gmt;
				seen.push(c.call_uuid);
			}
		}
		expect(new Set(seen).size).toBe(5000);
		expect(seen).toEqual(fake.allCalls().map((c) => c.call_uuid));
		expect(fake.counters.statsConcurrentRefusals).toBe(0);
		expect(fake.counters.statsMaxConcurrent).toBe(1);
	});

	it('calls are deterministic, realistic, and the last page is short', async () => {
		await start({ callCount: 250 });
		const first = fake.allCalls();
		await fake.close();
		await start({ callCount: 250 });
		expect(fake.allCalls().map((c) => c.call_uuid)).toEqual(first.map((c) => c.call_uuid));
		const { access } = await login();
		const page2 = await call('GET', `${API}/client/12/call_history`, {
			token: access,
			query: { ...ALL_TIME, page: 2, per_page: 200 },
		});
		expect(page2.body.order).toBe('desc');
		expect(page2.body.call_history).toHaveLength(50);
		const defaults = await call('GET', `${API}/client/12/call_history/`, {
			token: access,
			query: ALL_TIME,
		});
		expect(defaults.body).toMatchObject({ page: 1, per_page: 20, order: 'desc' });
		expect(defaults.body.call_history[0].call_uuid).toBe(first[first.length - 1].call_uuid);
		const flows = new Set(first.map((c) => c.flow));
		expect([...flows].sort()).toEqual(['in', 'internal', 'out']);
		for (const c of first) {
			expect(parsePbxDatetime(c.start_time_gmt)).toBeDefined();
			expect(parsePbxDatetime(c.end_time_gmt)).toBeLessThanOrEqual(Date.now());
			if (c.result === 'answered') {
				expect(c.cdr).toHaveLength(1);
				expect(c.cdr[0].record_uuid).toMatch(/^[0-9a-f-]{36}$/);
				expect(c.bridged_duration).toBeGreaterThan(0);
			} else {
				expect(c.cdr).toEqual([]);
				expect(c.answer_time_gmt).toBeNull();
			}
		}
	});

	it('window and filters', async () => {
		await start({ callCount: 300 });
		const { access } = await login();
		const calls = fake.allCalls();
		const from = calls[100].start_time_gmt;
		const to = calls[199].start_time_gmt;
		const answer = await call('GET', `${API}/client/@me/call_history/`, {
			token: access,
			query: { start_datetime: from, end_datetime: to, per_page: 500, order: 'asc' },
		});
		expect(answer.body.call_history.map((c: any) => c.call_uuid)).toEqual(
			calls
				.filter((c) => c.start_time_gmt >= from && c.start_time_gmt <= to)
				.map((c) => c.call_uuid),
		);
		const inbound = await call('GET', `${API}/client/@me/call_history/`, {
			token: access,
			query: { ...ALL_TIME, per_page: 500, flow: 'in', extension_id: 1002 },
		});
		expect(inbound.body.call_history.length).toBe(
			calls.filter((c) => c.flow === 'in' && c.extension_id === 1002).length,
		);
		expect(inbound.body.call_history.length).toBeGreaterThan(0);
		const target = calls[7].to_username;
		const byTo = await call('GET', `${API}/client/@me/call_history/`, {
			token: access,
			query: { ...ALL_TIME, per_page: 500, to_username: target },
		});
		expect(byTo.body.call_history.every((c: any) => c.to_username === target)).toBe(true);
	});

	it('refuses bad datetimes and paging parameters with 400 {message}', async () => {
		await start({ callCount: 10, statsDelayMs: 0 });
		const { access } = await login();
		const bad: Array<[Record<string, string | number>, RegExp]> = [
			[{ ...ALL_TIME, start_datetime: '2024-01-01T00:00:00Z' }, /start_datetime.*YYYY-MM-DD/],
			[{ ...ALL_TIME, start_datetime: '2024-02-30 00:00:00' }, /start_datetime/],
			[{ ...ALL_TIME, end_datetime: '2024-01-01' }, /end_datetime/],
			[{ end_datetime: ALL_TIME.end_datetime }, /start_datetime is required/],
			[{ start_datetime: '2024-01-02 00:00:00', end_datetime: '2024-01-01 00:00:00' }, /after/],
			[{ ...ALL_TIME, page: 0 }, /page/],
			[{ ...ALL_TIME, per_page: 501 }, /per_page.*500/],
			[{ ...ALL_TIME, per_page: 'ten' }, /per_page/],
			[{ ...ALL_TIME, order: 'up' }, /order/],
			[{ ...ALL_TIME, flow: 'inbound' }, /flow/],
		];
		for (const [query, message] of bad) {
			const answer = await call('GET', `${API}/client/@me/call_history/`, { token: access, query });
			expect(answer.status, JSON.stringify(query)).toBe(400);
			expect(answer.body.message).toMatch(message);
		}
	});

	it('one call by uuid, 404 otherwise', async () => {
		await start({ callCount: 20 });
		const { access } = await login();
		const target = fake.allCalls()[5];
		const one = await call('GET', `${API}/client/@me/call_history/${target.call_uuid}`, {
			token: access,
		});
		expect(one.body).toEqual(target);
		const missing = await call('GET', `${API}/client/@me/call_history/nope/`, { token: access });
		expect(missing.status).toBe(404);
		expect(missing.body).toEqual({ message: 'Not found' });
	});

	it('addCallsAt: direction, parties and result as given; listAtHangup lists a call once it ended; listInProgress from its start, without hangup time, with the duration so far', async () => {
		await start({ callCount: 0 });
		const { access } = await login();
		const t0 = Date.now() - 3_600_000;
		const [inbound, outbound, missed] = fake.addCallsAt([
			{ startMs: t0, durationSec: 600, flow: 'in', from: '+74950000001', result: 'answered' },
			{ startMs: t0 + 60_000, durationSec: 120, flow: 'out', to: '+74950000002', result: 'answered' },
			{ startMs: t0 + 120_000, durationSec: 20, flow: 'in', from: 'anonymous', result: 'noanswer' },
		]);
		expect(inbound).toMatchObject({ flow: 'in', from_username: '+74950000001', result: 'answered', duration: 600, hangup_cause: 'NORMAL_CLEARING' });
		expect(inbound.cdr).toHaveLength(1);
		expect(outbound).toMatchObject({ flow: 'out', to_username: '+74950000002', result: 'answered', did_number: null });
		expect(outbound.from_username).not.toMatch(/^\+/); // an extension
		expect(missed).toMatchObject({ from_username: 'anonymous', result: 'noanswer', answer_time_gmt: null, bridged_duration: 0, cdr: [], hangup_cause: 'NO_ANSWER' });
		const list = async () =>
			(await call('GET', `${API}/client/@me/call_history/`, { token: access, query: { ...ALL_TIME, per_page: 50, order: 'asc' } })).body.call_history as any[];
		expect((await list()).map((c) => c.call_uuid)).toEqual([inbound.call_uuid, outbound.call_uuid, missed.call_uuid]);

		// The clock at t0 + 150 s: the inbound call talks, the outbound one too, the missed one ended.
		offsetMs = t0 + 150_000 - Date.now();
		fake.listing.listAtHangup = true;
		expect((await list()).map((c) => c.call_uuid)).toEqual([missed.call_uuid]);
		fake.listing.listAtHangup = false;
		fake.listing.listInProgress = true;
		const shown = await list();
		expect(shown.map((c) => c.call_uuid)).toEqual([inbound.call_uuid, outbound.call_uuid, missed.call_uuid]);
		expect(shown[0]).toMatchObject({ end_time_gmt: null, result: null, hangup_cause: null, cdr: [], answer_time_gmt: inbound.answer_time_gmt });
		expect(shown[0].duration).toBeGreaterThanOrEqual(149);
		expect(shown[0].duration).toBeLessThan(600);
		expect(shown[2]).toEqual(missed);
		const one = await call('GET', `${API}/client/@me/call_history/${inbound.call_uuid}`, { token: access });
		expect(one.body).toMatchObject({ end_time_gmt: null, cdr: [] });
		const records = await call('GET', `${API}/client/@me/record/`, { token: access, query: { ...ALL_TIME, per_page: 50 } });
		expect(records.body.map((r: any) => r.call_uuid)).not.toContain(inbound.call_uuid);
		fake.listing.inProgressResult = 'in_progress';
		expect((await list())[0].result).toBe('in_progress');
		// Not yet started: not listed, not found.
		offsetMs = t0 + 30_000 - Date.now();
		expect((await list()).map((c) => c.call_uuid)).toEqual([inbound.call_uuid]);
		expect((await call('GET', `${API}/client/@me/call_history/${missed.call_uuid}`, { token: access })).status).toBe(404);
		// Once ended, the call is shown as it finished.
		offsetMs = t0 + 700_000 - Date.now();
		expect(await list()).toEqual([inbound, outbound, missed]);
	});

	it('addCalls(n) appends newer calls for incremental sync', async () => {
		await start({ callCount: 50 });
		const { access } = await login();
		const newest = fake.allCalls()[49];
		const added = fake.addCalls(3);
		expect(added).toHaveLength(3);
		const since = await call('GET', `${API}/client/@me/call_history/`, {
			token: access,
			query: {
				start_datetime: formatPbxDatetime((parsePbxDatetime(newest.start_time_gmt) ?? 0) + 1000),
				end_datetime: formatPbxDatetime(Date.now()),
				order: 'asc',
			},
		});
		expect(since.body.call_history.map((c: any) => c.call_uuid)).toEqual(
			added.map((c) => c.call_uuid),
		);
		expect(new Set(fake.allCalls().map((c) => c.call_uuid)).size).toBe(53);
	});
});

describe('one statistics request per client at a time', () => {
	it('concurrent statistics requests → 429 with the vendor message', async () => {
		await start({ callCount: 100, statsDelayMs: 300, statsRetryAfterSec: 2 });
		const { access } = await login();
		const list = () =>
			call('GET', `${API}/client/@me/call_history/`, { token: access, query: ALL_TIME });
		const records = () =>
			call('GET', `${API}/client/@me/record/`, { token: access, query: ALL_TIME });
		const answers = await Promise.all([list(), list(), records(), list()]);
		const statuses = answers.map((a) => a.status).sort();
		expect(statuses).toEqual([200, 429, 429, 429]);
		for (const refused of answers.filter((a) => a.status === 429)) {
			expect(refused.body).toEqual({ message: PBX_STATS_CONCURRENT_MESSAGE });
			expect(refused.headers.get('retry-after')).toBe('2');
		}
		expect(fake.counters.statsConcurrentRefusals).toBe(3);
		expect(fake.counters.statsMaxConcurrent).toBe(2);
		// other API calls are not statistics; after the slot frees, statistics work again
		const [user, history] = await Promise.all([
			call('GET', `${API}/user/`, { token: access }),
			list(),
		]);
		expect([user.status, history.status]).toEqual([200, 200]);
		expect((await list()).status).toBe(200);
	});

	it('statistics answers take statsDelayMs; no Retry-After by default', async () => {
		await start({ callCount: 10, statsDelayMs: 150 });
		const { access } = await login();
		const started = Date.now();
		const [a, b] = await Promise.all([
			call('GET', `${API}/client/@me/call_history/`, { token: access, query: ALL_TIME }),
			call('GET', `${API}/client/@me/call_history/`, { token: access, query: ALL_TIME }),
		]);
		expect(Date.now() - started).toBeGreaterThanOrEqual(140);
		const refused = a.status === 429 ? a : b;
		expect(refused.status).toBe(429);
		expect(refused.headers.get('retry-after')).toBeNull();
	});
});

describe('recordings', () => {
	it('list, storage URL without Bearer, direct download: the same deterministic bytes', async () => {
		await start({ callCount: 40 });
		const { access } = await login();
		const list = await call('GET', `${API}/client/@me/record/`, {
			token: access,
			query: { ...ALL_TIME, per_page: 500, order: 'asc' },
		});
		expect(list.status).toBe(200);
		const answered = fake.allCalls().filter((c) => c.cdr.length > 0);
		expect(list.body).toEqual(
			answered.map((c) => ({ call_uuid: c.call_uuid, record_uuid: c.cdr[0].record_uuid })),
		);
		const { record_uuid: recordUuid } = list.body[0];
		const audio = fake.audioOf(recordUuid);
		expect(audio.length).toBeGreaterThanOrEqual(20 * 1024);
		expect(audio.length).toBeLessThanOrEqual(60 * 1024);
		expect(audio.subarray(0, 3).toString()).toBe('ID3');

		const storage = await call('GET', `${API}/client/@me/record/${recordUuid}/storage_url/`, {
			token: access,
		});
		expect(Object.keys(storage.body)).toEqual(['record_url']);
		const url = new URL(storage.body.record_url);
		expect(url.pathname).toBe(`/storage/${recordUuid}.mp3`);
		const viaStorage = await call('GET', storage.body.record_url, { absolute: true });
		expect(viaStorage.status).toBe(200);
		expect(viaStorage.headers.get('content-type')).toBe('audio/mpeg');
		expect(viaStorage.bytes.equals(audio)).toBe(true);

		url.searchParams.set('signature', '0'.repeat(64));
		const forged = await call('GET', url.toString(), { absolute: true });
		expect(forged.status).toBe(403);
		expect(forged.body).toEqual({ message: 'Invalid signature' });

		const direct = await call('GET', `${API}/client/@me/record/${recordUuid}`, { token: access });
		expect(direct.status).toBe(200);
		expect(direct.headers.get('content-disposition')).toBe(
			`attachment; filename="${recordUuid}.mp3"`,
		);
		expect(direct.bytes.equals(audio)).toBe(true);
		expect((await call('GET', `${API}/client/@me/record/${recordUuid}`)).status).toBe(401);
		expect(
			(
				await call('GET', `${API}/client/@me/record/00000000-0000-4000-8000-000000000000`, {
					token: access,
				})
			).status,
		).toBe(404);
		expect(fake.counters).toMatchObject({ recordDownloads: 1, storageDownloads: 1 });
		expect(fake.audioOf(list.body[1].record_uuid).equals(audio)).toBe(false);
	});
});

describe('extensions and click-to-call', () => {
	it('lists extensions by type with paging', async () => {
		await start({ callCount: 0 });
		const { access } = await login();
		const all = await call('GET', `${API}/client/@me/extension/`, { token: access });
		expect(all.body).toHaveLength(6);
		expect(all.body[0]).toMatchObject({ id: 1001, name: '000012*101', type: 'phone' });
		const phones = await call('GET', `${API}/client/@me/extension/`, {
			token: access,
			query: { type: 'phone', page: 2, per_page: 2 },
		});
		expect(phones.body.map((e: any) => e.id)).toEqual([1003]);
		const bad = await call('GET', `${API}/client/@me/extension/`, {
			token: access,
			query: { type: 'sip' },
		});
		expect(bad.status).toBe(400);
	});

	it('callback validates and records every POST', async () => {
		await start({ callCount: 0 });
		const { access } = await login();
		const ok = await call('POST', `${API}/extension/1001/callback/`, {
			token: access,
			json: { src_num: ['101'], dst_num: '+74951112233', caller_id_name: 'CRM' },
		});
		expect(ok.status).toBe(200);
		expect(Object.keys(ok.body).sort()).toEqual(['call_api_id', 'call_id']);
		for (const body of [
			{ src_num: '101', dst_num: '+74951112233' },
			{ src_num: [], dst_num: '+74951112233' },
			{ src_num: ['101'] },
			{ src_num: ['101'], dst_num: 74951112233 },
			{ src_num: ['101'], dst_num: '+74951112233', caller_id_name: 5 },
		]) {
			const answer = await call('POST', `${API}/extension/1001/callback/`, {
				token: access,
				json: body,
			});
			expect(answer.status, JSON.stringify(body)).toBe(400);
			expect(typeof answer.body.message).toBe('string');
		}
		expect(
			(
				await call('POST', `${API}/extension/9/callback/`, {
					token: access,
					json: { src_num: ['101'], dst_num: '102' },
				})
			).status,
		).toBe(404);
		expect(fake.callbacks()).toHaveLength(1);
		expect(fake.callbacks()[0]).toMatchObject({
			extensionId: 1001,
			call_api_id: ok.body.call_api_id,
			body: { src_num: ['101'], dst_num: '+74951112233' },
		});
		expect(fake.counters.callbacks).toBe(1);
	});
});

describe('extension events', () => {
	async function startReceiver(status = 200): Promise<FakeServer> {
		receiver = await startFakeServer(({ res }) => json(res, status, { ok: true }));
		return receiver;
	}

	it('subscribe, list, fire form-encoded events, delete', async () => {
		await start({ callCount: 0 });
		const { access } = await login();
		const hook = await startReceiver();
		const created = await call('POST', `${API}/extension/1002/event/`, {
			token: access,
			json: { url: `${hook.url}/hook/abc`, event_type: 'hangup', method: 'POST' },
		});
		expect(created.status).toBe(201);
		expect(created.body).toEqual({
			id: expect.any(Number),
			url: `${hook.url}/hook/abc`,
			event_type: 'hangup',
			method: 'POST',
		});
		await call('POST', `${API}/extension/1002/event/`, {
			token: access,
			json: { url: `${hook.url}/hook/dial`, event_type: 'dial-in', method: 'POST' },
		});
		const listed = await call('GET', `${API}/extension/1002/event/`, { token: access });
		expect(listed.body.map((s: any) => s.event_type)).toEqual(['hangup', 'dial-in']);

		const before = BigInt(Date.now()) * 1000n;
		const deliveries = await fake.fireEvent(1002, 'hangup', {
			CallStatus: 'BUSY',
			RecID: undefined,
		});
		expect(deliveries).toEqual([
			{ subscriptionId: created.body.id, url: `${hook.url}/hook/abc`, status: 200 },
		]);
		expect(hook.requests).toHaveLength(1);
		const request = hook.requests[0];
		expect(request.path).toBe('/hook/abc');
		expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded');
		const fields = Object.fromEntries(new URLSearchParams(request.rawBody));
		expect(fields).toMatchObject({
			EventType: 'hangup',
			CallStatus: 'BUSY',
			CalledExtension: '000012*102',
			CalledExtensionID: '1002',
			CallFlow: 'in',
			Bridged: 'yes',
			Duration: '65000000',
		});
		expect(fields).not.toHaveProperty('RecID');
		for (const name of [
			'CallID',
			'SubCallID',
			'CallerIDNum',
			'CallerIDName',
			'CalledDID',
			'CalledNumber',
			'CallAPIID',
			'CallerExtension',
			'CallerExtensionID',
		]) {
			expect(fields, name).toHaveProperty(name);
		}
		expect(BigInt(fields.EventTime)).toBeGreaterThanOrEqual(before);
		expect(fields.EventTime).toMatch(/^\d{16}$/);

		await fake.fireEvent(1002, 'dial-in');
		const dial = Object.fromEntries(new URLSearchParams(hook.requests[1].rawBody));
		expect(dial).toMatchObject({ EventType: 'dial-in', CallStatus: 'CALLING' });
		expect(dial).not.toHaveProperty('Duration');
		expect(await fake.fireEvent(1001, 'hangup')).toEqual([]);

		const del = await call('DELETE', `${API}/extension/1002/event/${created.body.id}`, {
			token: access,
		});
		expect(del.status).toBe(204);
		expect(
			(await call('DELETE', `${API}/extension/1002/event/${created.body.id}`, { token: access }))
				.status,
		).toBe(404);
		expect(await fake.fireEvent(1002, 'hangup')).toEqual([]);
		expect(fake.counters).toMatchObject({
			subscriptionsCreated: 2,
			subscriptionsDeleted: 1,
			eventsDelivered: 2,
		});
	});

	it('reports receiver statuses and failures; fireRaw posts anywhere', async () => {
		await start({ callCount: 0, deliveryTimeoutMs: 1000 });
		const hook = await startReceiver(410);
		fake.addSubscription(1001, { url: `${hook.url}/gone`, event_type: 'answer' });
		fake.addSubscription(1001, { url: 'http://127.0.0.1:1/closed', event_type: 'answer' });
		const deliveries = await fake.fireEvent(1001, 'answer');
		expect(deliveries.map((d) => d.status)).toEqual([410, null]);
		expect(deliveries[1].error).toBeTruthy();
		expect(await fake.fireRaw(`${hook.url}/forged`, { EventType: 'hangup' })).toBe(410);
		expect(hook.requests[1].rawBody).toBe('EventType=hangup');
		expect(fake.subscriptions().map((s) => s.createdBy)).toEqual(['external', 'external']);
		expect(fake.counters.subscriptionsCreated).toBe(0);
	});

	it('validates subscriptions and caps them per extension', async () => {
		await start({ callCount: 0, maxSubscriptionsPerExtension: 3 });
		const { access } = await login();
		const subscribe = (body: unknown, ext = 1001) =>
			call('POST', `${API}/extension/${ext}/event/`, { token: access, json: body });
		const url = 'https://crm.example/hook';
		for (const [body, message] of [
			[{ url, event_type: 'ringing', method: 'POST' }, /event_type/],
			[{ url: 'not a url', event_type: 'hangup', method: 'POST' }, /url/],
			[{ url: 'ftp://x/y', event_type: 'hangup', method: 'POST' }, /url/],
			[{ url, event_type: 'hangup', method: 'GET' }, /method/],
		] as const) {
			const answer = await subscribe(body);
			expect(answer.status).toBe(400);
			expect(answer.body.message).toMatch(message);
		}
		fake.addSubscription(1001, { url: 'https://someone-else.example/x', event_type: 'hangup' });
		expect((await subscribe({ url, event_type: 'dial-in', method: 'POST' })).status).toBe(201);
		expect((await subscribe({ url, event_type: 'voicemail', method: 'POST' })).status).toBe(201);
		const capped = await subscribe({ url, event_type: 'answer', method: 'POST' });
		expect(capped.status).toBe(400);
		expect(capped.body).toEqual({ message: 'Subscription limit reached' });
		expect(() => fake.addSubscription(1001, { url, event_type: 'answer' })).toThrow(/limit/);
		expect((await subscribe({ url, event_type: 'answer', method: 'POST' }, 1002)).status).toBe(201);
		expect((await subscribe({ url, event_type: 'answer' }, 9999)).status).toBe(404);
		expect(fake.subscriptions()).toHaveLength(4);
		expect(fake.counters.subscriptionsRefused).toBe(1);
	});

	it('a cap over the whole account, and the refusal in each plausible shape', async () => {
		await start({ callCount: 0, maxSubscriptionsPerClient: 2 });
		const { access } = await login();
		const subscribe = (ext: number, event_type: string) =>
			call('POST', `${API}/extension/${ext}/event/`, { token: access, json: { url: 'https://crm.example/hook', event_type, method: 'POST' } });
		expect((await subscribe(1001, 'hangup')).status).toBe(201);
		expect((await subscribe(1002, 'hangup')).status).toBe(201);
		for (const answer of Object.values(SUBSCRIPTION_LIMIT_ANSWERS)) {
			fake.settings.subscriptionLimitAnswer = answer;
			const refused = await subscribe(1003, 'answer');
			expect(refused.status).toBe(answer.status);
			expect(refused.body).toEqual(answer.body);
		}
		expect(fake.counters.subscriptionsRefused).toBe(Object.keys(SUBSCRIPTION_LIMIT_ANSWERS).length);
		expect(fake.subscriptions()).toHaveLength(2);
	});
});

describe('faults, log and the HTTP control plane', () => {
	it('scripted faults from common apply to the token endpoint and the API', async () => {
		await start({ callCount: 0 });
		fake.fail(
			{ path: PBX_PATHS.token, method: 'POST' },
			{ status: 503, body: { message: 'busy' } },
		);
		const refused = await tokenRequest({ grant_type: 'client_credentials' });
		expect(refused.status).toBe(503);
		const { access } = await login();
		fake.fail({ path: /\/user\/$/, every: 2 }, { kind: 'html' });
		const statuses: number[] = [];
		for (let i = 0; i < 4; i++) {
			statuses.push((await call('GET', `${API}/user/`, { token: access })).status);
		}
		expect(statuses).toEqual([200, 502, 200, 502]);
		expect(fake.requestsTo(`${API}/user/`, 'GET')).toHaveLength(4);
	});

	it('GET /__fake/state and POST /__fake/control', async () => {
		await start({ callCount: 10 });
		const { access } = await login();
		const control = (body: unknown) => call('POST', PBX_PATHS.control, { json: body });
		const state = await call('GET', PBX_PATHS.state);
		expect(state.body).toMatchObject({ calls: 10, issued: { access: 1, refresh: 1, codes: 1 } });
		expect((await control({ action: 'addCalls', n: 5 })).body.calls).toBe(15);
		await control({ action: 'expireTokens' });
		expect((await call('GET', `${API}/user/`, { token: access })).status).toBe(401);
		await control({ action: 'latency', ms: 5 });
		expect(fake.latencyMs).toBe(5);
		await control({
			action: 'fail',
			match: { pathRegex: '^/api/ver1\\.0/user/?$', times: 2 },
			fault: { status: 500 },
		});
		expect(fake.pendingFaults).toBe(1);
		await control({ action: 'clearFaults' });
		expect(fake.pendingFaults).toBe(0);
		const reset = await control({ action: 'reset' });
		expect(reset.body.counters.apiRequests).toBe(0);
		expect(fake.requests.length).toBeGreaterThan(0);
		await control({ action: 'clearLog' });
		expect(fake.requests).toHaveLength(0);
		expect((await control({ action: 'nope' })).status).toBe(400);
		expect((await control({ action: 'addCalls', n: 0 })).status).toBe(400);
		expect(fake.requests).toHaveLength(0);
	});

	it('datetime helpers round-trip and reject impossible dates', () => {
		expect(formatPbxDatetime(Date.UTC(2024, 1, 29, 23, 5, 9))).toBe('2024-02-29 23:05:09');
		expect(parsePbxDatetime('2024-02-29 23:05:09')).toBe(Date.UTC(2024, 1, 29, 23, 5, 9));
		expect(parsePbxDatetime('2023-02-29 00:00:00')).toBeUndefined();
		expect(parsePbxDatetime('2024-02-29T00:00:00')).toBeUndefined();
	});
});
