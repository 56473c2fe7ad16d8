import type { IHttpRequestOptions } from 'n8n-workflow';
import { describe, expect, it } from 'vitest';

import { TokenError } from '../../../nodes/shared/errors';
import {
	DEFAULT_TOKEN_LIFETIME_MS,
	acquireTrustedAppToken,
	normalizePbxHost,
	requestTrustedAppToken,
	trustedExpiresAt,
	trustedFingerprint,
} from '../../../nodes/VirtualPbx/auth';
import { json, send, startFakeServer, type FakeServer } from '../../fakes/common';
import { PBX_PATHS } from '../../fakes/pbx';
import { failure, failureOf, thrownBy } from '../../support/failure';
import { testHttpRequest } from '../../support/http';
import { PUBLIC_APP, usePbxFixture } from '../../support/pbx';

const f = usePbxFixture({ callCount: 10 });

/** testHttpRequest, counting the requests made. */
function countingHttp() {
	const sent: IHttpRequestOptions[] = [];
	const http = async (options: IHttpRequestOptions) => {
		sent.push(options);
		return await testHttpRequest(options);
	};
	return { sent, http };
}

async function tokenFailure(credentials: Record<string, unknown>): Promise<TokenError> {
	return await failureOf(TokenError, requestTrustedAppToken(credentials as never, testHttpRequest));
}

describe('host input', () => {
	it.each([
		['https://apiproxy.telphin.ru', 'https://apiproxy.telphin.ru'],
		['  https://apiproxy.telphin.ru///  ', 'https://apiproxy.telphin.ru'],
		['https://pbx.example.com/api/ver1.0/', 'https://pbx.example.com'],
		['http://127.0.0.1:8080', 'http://127.0.0.1:8080'],
	])('accepts %s', (input, expected) => {
		expect(normalizePbxHost(input)).toBe(expected);
	});

	it.each(['', 'apiproxy.telphin.ru', 'ftp://pbx.example.com', 'https://pbx.example.com/?x=1', 'https://pbx.example.com/#a', 42])(
		'refuses %o naming "Host URL"',
		(input) => {
			const caught = thrownBy(TokenError, () => normalizePbxHost(input));
			expect(caught.field).toBe('Host URL');
			expect(caught.kind).toBe('input');
			expect(caught.message).toContain('"Host URL"');
		},
	);
});

describe('client_credentials token', () => {
	it('is one form-encoded POST with client_id and client_secret in the body, no scope, no Basic header', async () => {
		const { sent, http } = countingHttp();
		const before = Date.now();
		const token = await requestTrustedAppToken(f.credentials, http);
		expect(sent).toHaveLength(1);
		const [logged] = f.fake.requestsTo(PBX_PATHS.token, 'POST');
		expect(f.fake.requests).toHaveLength(1);
		expect(String(logged.headers['content-type'])).toMatch(/^application\/x-www-form-urlencoded/);
		expect(logged.headers.authorization).toBeUndefined();
		const form = Object.fromEntries(new URLSearchParams(logged.rawBody));
		expect(form).toEqual({ grant_type: 'client_credentials', client_id: f.trusted.id, client_secret: f.trusted.secret });
		expect(Object.keys(logged.query)).toEqual([]);
		expect(f.fake.counters.grants.client_credentials).toEqual({ attempted: 1, ok: 1 });
		expect(f.fake.issuedTokens().access).toContain(token.accessToken);
		expect(token.expiresAt).toBeGreaterThanOrEqual(before + 3600_000);
		expect(token.expiresAt).toBeLessThanOrEqual(Date.now() + 3600_000);
	});

	it('accepts a host typed with the API prefix and trailing slashes', async () => {
		const token = await requestTrustedAppToken({ ...f.credentials, host: `${f.fake.url}/api/ver1.0/` }, testHttpRequest);
		expect(f.fake.issuedTokens().access).toContain(token.accessToken);
	});

	it('acquireTrustedAppToken adds the fingerprint of the inputs it used', async () => {
		const out = await acquireTrustedAppToken(f.credentials, testHttpRequest);
		expect(Object.keys(out).sort()).toEqual(['accessToken', 'expiresAt', 'inputsFingerprint']);
		expect(out.inputsFingerprint).toBe(trustedFingerprint(f.credentials));
		expect(trustedExpiresAt(out as never)).toBe(out.expiresAt);
	});

	it('the fingerprint follows every input but not a trailing slash, and shows no secret', () => {
		const base = trustedFingerprint(f.credentials);
		expect(trustedFingerprint({ ...f.credentials, host: `${f.fake.url}/` })).toBe(base);
		for (const change of [{ host: 'https://other.example.com' }, { appId: 'other' }, { appSecret: 'other-secret' }] as Array<Record<string, string>>) {
			expect(trustedFingerprint({ ...f.credentials, ...change })).not.toBe(base);
		}
		expect(base).not.toContain(f.trusted.secret);
		expect(base).toMatch(/^[0-9a-f]{32}$/);
	});

	it('uses the PBX default lifetime when the answer has no expires_in', async () => {
		const server = await startFakeServer(({ res }) => json(res, 200, { access_token: 'tok-without-expiry', token_type: 'Bearer' }));
		try {
			const before = Date.now();
			const token = await requestTrustedAppToken({ ...f.credentials, host: server.url }, testHttpRequest);
			expect(token.accessToken).toBe('tok-without-expiry');
			expect(token.expiresAt - before).toBeGreaterThanOrEqual(DEFAULT_TOKEN_LIFETIME_MS - 1000);
			expect(token.expiresAt - before).toBeLessThanOrEqual(DEFAULT_TOKEN_LIFETIME_MS + 1000);
		} finally {
			await server.close();
		}
	});
});

describe('refusals name the field to fix and never echo a secret', () => {
	it('wrong secret → "App ID" and "App Secret"', async () => {
		const error = await tokenFailure({ ...f.credentials, appSecret: 'wrong-secret-123456' });
		expect(error.kind).toBe('vendor');
		expect(error.vendorStatus).toBe(401);
		expect(error.message).toMatch(/HTTP 401 Unauthorized/);
		expect(error.message).toContain('"App ID"');
		expect(error.message).toContain('"App Secret"');
		expect(error.message).not.toContain('wrong-secret-123456');
		expect(error.message).not.toContain(f.trusted.secret);
		expect(f.fake.counters.tokenRefusals.invalid_client).toBe(1);
	});

	it('unknown app id → "App ID" and "App Secret"', async () => {
		const error = await tokenFailure({ ...f.credentials, appId: 'no-such-app' });
		expect(error.message).toContain('"App ID"');
		expect(error.message).toContain('"App Secret"');
		expect(error.message).not.toContain(f.trusted.secret);
	});

	it('a public application\'s id and secret → "not a trusted application"', async () => {
		const error = await tokenFailure({ ...f.credentials, appId: PUBLIC_APP.clientId, appSecret: PUBLIC_APP.clientSecret });
		expect(error.message).toMatch(/unauthorized_client/);
		expect(error.message).toMatch(/is not a trusted application/);
		expect(error.message).not.toContain(PUBLIC_APP.clientSecret);
	});

	it('any other refusal quotes the PBX, asks to check every field, and removes a secret it echoes back', async () => {
		f.fake.fail(
			{ path: PBX_PATHS.token },
			{ status: 400, body: { error: 'invalid_request', error_description: `parameter value ${f.trusted.secret} is malformed` } },
		);
		const error = await tokenFailure(f.credentials);
		expect(error.message).toMatch(/HTTP 400 Bad Request\): "invalid_request: parameter value \[redacted\] is malformed"\. Check every field/);
		expect(error.message).not.toContain(f.trusted.secret);
	});

	it('a web site (HTML) instead of the API → "Host URL"', async () => {
		const site = await startFakeServer(({ res }) =>
			send(res, 200, '<!DOCTYPE html><html><body>Welcome</body></html>', { 'content-type': 'text/html' }),
		);
		try {
			const error = await tokenFailure({ ...f.credentials, host: site.url });
			expect(error.field).toBe('Host URL');
			expect(error.message).toContain('"Host URL"');
			expect(error.message).toMatch(/HTML/);
		} finally {
			await site.close();
		}
	});

	it('a proxy\'s HTML error page at /oauth/token → "Host URL"', async () => {
		// Retried as a transient failure (4 tries): it must persist to be reported.
		f.fake.fail({ path: PBX_PATHS.token, times: 4 }, { kind: 'html', status: 502 });
		const error = await tokenFailure(f.credentials);
		expect(error.message).toContain('"Host URL"');
		expect(error.message).toMatch(/HTTP 502/);
	});

	it('a server without /oauth/token (plain 404) → "Host URL"', async () => {
		const site = await startFakeServer(({ res }) => send(res, 404, '', { 'content-type': 'text/plain' }));
		try {
			const error = await tokenFailure({ ...f.credentials, host: site.url });
			expect(error.message).toContain('"Host URL"');
			expect(error.message).toMatch(/HTTP 404/);
		} finally {
			await site.close();
		}
	});

	it('nothing listening → "Host URL", as a network error', async () => {
		const gone: FakeServer = await startFakeServer(({ res }) => json(res, 200, {}));
		const url = gone.url;
		await gone.close();
		const error = await tokenFailure({ ...f.credentials, host: url });
		expect(error.kind).toBe('network');
		expect(error.field).toBe('Host URL');
		expect(error.message).toMatch(/connection was refused/);
		expect(error.message).not.toContain(f.trusted.secret);
	});

	it('an answer without access_token lists the fields received, not their values', async () => {
		const server = await startFakeServer(({ res }) => json(res, 200, { token: 'sekrit-token-value', expires_in: 3600 }));
		try {
			const error = await tokenFailure({ ...f.credentials, host: server.url });
			expect(error.message).toMatch(/fields received: token, expires_in/);
			expect(error.message).not.toContain('sekrit-token-value');
		} finally {
			await server.close();
		}
	});

	it.each([
		[{ host: '' }, 'Host URL'],
		[{ host: 'pbx.example.com' }, 'Host URL'],
		[{ appId: '' }, 'App ID'],
		[{ appId: '   ' }, 'App ID'],
		[{ appSecret: '' }, 'App Secret'],
		[{ appId: undefined }, 'App ID'],
	])('%o → an input error naming "%s", and no request at all', async (override, field) => {
		const { sent, http } = countingHttp();
		const error = await failure<TokenError>(acquireTrustedAppToken({ ...f.credentials, ...override } as never, http));
		expect(error).toBeInstanceOf(TokenError);
		expect(error.kind).toBe('input');
		expect(error.field).toBe(field);
		expect(error.message).toContain(`"${field}"`);
		expect(sent).toHaveLength(0);
		expect(f.fake.requests).toHaveLength(0);
	});
});
