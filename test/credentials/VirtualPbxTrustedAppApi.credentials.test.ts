import type { ICredentialDataDecryptedObject, IHttpRequestOptions } from 'n8n-workflow';
import { describe, expect, it } from 'vitest';

import { VirtualPbxOAuth2Api } from '../../credentials/VirtualPbxOAuth2Api.credentials';
import { VirtualPbxTrustedAppApi, trustedAppAuthenticate } from '../../credentials/VirtualPbxTrustedAppApi.credentials';
import { trustedFingerprint } from '../../nodes/VirtualPbx/auth';
import { PBX_PATHS } from '../fakes/pbx';
import { createExecuteContext, credentialStore } from '../support/context';
import { failure } from '../support/failure';
import { testHttpRequest } from '../support/http';
import { PUBLIC_APP, REDIRECT_URI, usePbxFixture } from '../support/pbx';

const trustedType = new VirtualPbxTrustedAppApi();
const oauthType = new VirtualPbxOAuth2Api();

type Authenticate = (credentials: ICredentialDataDecryptedObject, request: IHttpRequestOptions) => Promise<IHttpRequestOptions>;
const authenticate = trustedAppAuthenticate as Authenticate;

/**
 * Evaluates a credential expression of the simple kind these credentials use (`={{ JS }}`
 * followed by literal text) the way n8n would, with `$self` / `$credentials` bound to `data`.
 */
function evaluate(expression: unknown, data: Record<string, unknown>): string {
	const text = String(expression);
	expect(text.startsWith('={{')).toBe(true);
	const end = text.indexOf('}}');
	const code = text.slice(3, end);
	// eslint-disable-next-line @typescript-eslint/no-implied-eval
	const value = new Function('$self', '$credentials', `return (${code});`)(data, data) as unknown;
	return `${String(value)}${text.slice(end + 2)}`;
}

const f = usePbxFixture({ callCount: 10 });

describe('Virtual PBX Trusted App API credential', () => {
	it('has the inputs, one hidden expirable token (password-typed), and hidden expiry and fingerprint', () => {
		const byName = Object.fromEntries(trustedType.properties.map((p) => [p.name, p]));
		expect(trustedType.name).toBe('virtualPbxTrustedAppApi');
		expect(byName.host.displayName).toBe('Host URL');
		expect(byName.appId.displayName).toBe('App ID');
		expect(byName.appSecret.displayName).toBe('App Secret');
		expect(byName.appSecret.typeOptions?.password).toBe(true);
		const hidden = trustedType.properties.filter((p) => p.type === 'hidden');
		expect(hidden.find((p) => p.typeOptions?.expirable)?.name).toBe('accessToken');
		expect(hidden.filter((p) => p.typeOptions?.expirable)).toHaveLength(1);
		expect(byName.accessToken.typeOptions?.password).toBe(true);
		expect(byName.expiresAt.type).toBe('hidden');
		expect(byName.inputsFingerprint.type).toBe('hidden');
	});

	it('preAuthentication gets a token (one client_credentials grant) and returns what n8n must persist', async () => {
		const output = (await trustedType.preAuthentication.call({ helpers: { httpRequest: testHttpRequest } } as never, {
			...f.credentials,
			accessToken: '',
		})) as Record<string, unknown>;
		expect(Object.keys(output).sort()).toEqual(['accessToken', 'expiresAt', 'inputsFingerprint']);
		expect(f.fake.issuedTokens().access).toContain(output.accessToken);
		expect(output.inputsFingerprint).toBe(trustedFingerprint(f.credentials));
		expect(f.fake.counters.grants.client_credentials).toEqual({ attempted: 1, ok: 1 });
	});

	it('preAuthentication refuses a wrong secret with a sentence naming "App ID"/"App Secret"', async () => {
		const error = await failure(
			trustedType.preAuthentication.call({ helpers: { httpRequest: testHttpRequest } } as never, {
				...f.credentials,
				appSecret: 'not-the-secret-000',
				accessToken: '',
			}),
		);
		expect(error.message).toMatch(/"App ID".*"App Secret"/);
		expect(error.message).not.toContain('not-the-secret-000');
	});

	it('authenticate adds the Bearer header and nothing else, without touching the caller\'s objects', async () => {
		const headers = { 'X-Other': '1' };
		const request: IHttpRequestOptions = { url: `${f.fake.url}/api/ver1.0/user/`, headers, qs: { a: 1 } };
		const out = await authenticate({ ...f.credentials, accessToken: 'tok-abc' }, request);
		expect(out.headers).toEqual({ 'X-Other': '1', Authorization: 'Bearer tok-abc' });
		expect(headers).toEqual({ 'X-Other': '1' });
		expect(out.qs).toEqual({ a: 1 });
		expect(out.body).toBeUndefined();
	});

	it('the Test request reads /api/ver1.0/user/ on the host, with a token obtained first', async () => {
		const { request } = trustedType.test;
		expect(request.url).toBe('/api/ver1.0/user/');
		expect(request.method).toBe('GET');
		expect(evaluate(request.baseURL, { host: ' https://pbx.example.com// ' })).toBe('https://pbx.example.com');
		// As n8n runs it: preAuthentication (forced), authenticate, the request.
		const store = credentialStore(trustedType, f.credentials);
		const ctx = createExecuteContext({ store, params: {} });
		const answer = (await ctx.helpers.httpRequestWithAuthentication.call(ctx, trustedType.name, {
			method: 'GET',
			baseURL: evaluate(request.baseURL, { ...f.credentials, host: `${f.fake.url}/` }),
			url: request.url as string,
			json: true,
		})) as Record<string, unknown>;
		expect(answer).toMatchObject({ client_id: f.fake.user.client_id, login: f.fake.user.login });
		expect(store.preAuthentications).toBe(1);
		expect(f.fake.counters.apiOk).toBe(1);
	});

	it('the Test request with a wrong secret fails with the credential\'s sentence, never the secret', async () => {
		const store = credentialStore(trustedType, { ...f.credentials, appSecret: 'wrong-secret-42424242' });
		const ctx = createExecuteContext({ store, params: {} });
		const error = await failure(
			ctx.helpers.httpRequestWithAuthentication.call(ctx, trustedType.name, {
				method: 'GET',
				baseURL: f.fake.url,
				url: trustedType.test.request.url as string,
				json: true,
			}),
		);
		expect(error.message).toMatch(/HTTP 401 Unauthorized.*"App ID" and "App Secret"/);
		expect(JSON.stringify(error)).not.toContain('wrong-secret-42424242');
		expect(f.fake.counters.apiRequests).toBe(0);
	});
});

describe('Virtual PBX OAuth2 API credential (description only: n8n runs the flow)', () => {
	const byName = Object.fromEntries(oauthType.properties.map((p) => [p.name, p]));

	it('extends oAuth2Api with OAuth2 in its names', () => {
		expect(oauthType.extends).toEqual(['oAuth2Api']);
		expect(oauthType.name).toBe('virtualPbxOAuth2Api');
		expect(oauthType.name).toContain('OAuth2');
		expect(oauthType.displayName).toContain('OAuth2');
		expect(oauthType.constructor.name).toContain('OAuth2');
	});

	it('authorization code, scope "all", client id and secret in the body, all hidden', () => {
		expect(byName.grantType).toMatchObject({ type: 'hidden', default: 'authorizationCode' });
		expect(byName.scope).toMatchObject({ type: 'hidden', default: 'all' });
		expect(byName.authentication).toMatchObject({ type: 'hidden', default: 'body' });
		expect(byName.authQueryParameters).toMatchObject({ type: 'hidden', default: '' });
		expect(byName.host).toMatchObject({ type: 'string', required: true });
	});

	it.each([
		['https://apiproxy.telphin.ru', 'https://apiproxy.telphin.ru'],
		[' https://pbx.example.com/ ', 'https://pbx.example.com'],
		['http://127.0.0.1:8080//', 'http://127.0.0.1:8080'],
	])('authUrl and accessTokenUrl are expressions derived from host %o', (host, base) => {
		expect(byName.authUrl.type).toBe('hidden');
		expect(byName.accessTokenUrl.type).toBe('hidden');
		expect(evaluate(byName.authUrl.default, { host })).toBe(`${base}/oauth/authorize`);
		expect(evaluate(byName.accessTokenUrl.default, { host })).toBe(`${base}/oauth/token`);
	});

	it('the URLs it derives run the PBX\'s code flow (authorize → token with id/secret in the form body)', async () => {
		const data = { host: `${f.fake.url}/` };
		const authorize = new URL(evaluate(byName.authUrl.default, data));
		authorize.search = new URLSearchParams({
			response_type: 'code',
			client_id: PUBLIC_APP.clientId,
			redirect_uri: REDIRECT_URI,
			scope: String(byName.scope.default),
		}).toString();
		const redirect = await fetch(authorize, { redirect: 'manual' });
		const code = new URL(String(redirect.headers.get('location'))).searchParams.get('code');
		expect(code).toBeTruthy();
		const token = await fetch(evaluate(byName.accessTokenUrl.default, data), {
			method: 'POST',
			headers: { 'content-type': 'application/x-www-form-urlencoded' },
			body: new URLSearchParams({
				grant_type: 'authorization_code',
				code: String(code),
				redirect_uri: REDIRECT_URI,
				client_id: PUBLIC_APP.clientId,
				client_secret: PUBLIC_APP.clientSecret,
			}).toString(),
		});
		expect(token.status).toBe(200);
		expect(f.fake.counters.grants.authorization_code.ok).toBe(1);
		expect(f.fake.requestsTo(PBX_PATHS.token)).toHaveLength(1);
	});

	it('has a test request on /api/ver1.0/user/ of the host', () => {
		const { request } = oauthType.test;
		expect(request.url).toBe('/api/ver1.0/user/');
		expect(request.method ?? 'GET').toBe('GET');
		expect(evaluate(request.baseURL, { host: 'https://pbx.example.com/' })).toBe('https://pbx.example.com');
	});
});
