/**
 * `http://` is refused for hosts that are not loopback or private unless the credential's
 * "Allow Insecure HTTP" is ticked (issue 13, item 4): for every credential, before any request,
 * with a message naming the field.
 */
import { describe, expect, it } from 'vitest';

import { B2CopyExternalCrmApi } from '../../../credentials/B2CopyExternalCrmApi.credentials';
import { CrmComApi } from '../../../credentials/CrmComApi.credentials';
import { INSECURE_OAUTH_SCHEME, VirtualPbxOAuth2Api } from '../../../credentials/VirtualPbxOAuth2Api.credentials';
import { VirtualPbxTrustedAppApi } from '../../../credentials/VirtualPbxTrustedAppApi.credentials';
import { B2Copy } from '../../../nodes/B2Copy/B2Copy.node';
import { normalizeHost } from '../../../nodes/B2Copy/auth';
import { CrmCom } from '../../../nodes/CrmCom/CrmCom.node';
import { normalizeCrmComBase } from '../../../nodes/CrmCom/auth';
import { VirtualPbx } from '../../../nodes/VirtualPbx/VirtualPbx.node';
import { normalizePbxHost } from '../../../nodes/VirtualPbx/auth';
import { isLocalOrPrivateHost } from '../../../nodes/shared/host';
import { createExecuteContext, credentialStore } from '../../support/context';

const PUBLIC = 'http://203.0.113.10';

describe('isLocalOrPrivateHost', () => {
	it.each(['localhost', '127.0.0.1', '127.8.9.10', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.20', '169.254.1.1', '[::1]', '::1', 'fd12:3456::1', 'fe80::1', '::ffff:10.0.0.1', 'api.localhost'])('%s is local or private', (host) => {
		expect(isLocalOrPrivateHost(host)).toBe(true);
	});
	it.each(['203.0.113.10', '8.8.8.8', '172.32.0.1', '172.15.0.1', '192.169.0.1', 'example.com', '2001:db8::1', 'localhost.example.com', '::ffff:8.8.8.8'])('%s is public', (host) => {
		expect(isLocalOrPrivateHost(host)).toBe(false);
	});
});

describe('the host normalisers', () => {
	const cases: Array<[string, (value: string, allow: boolean) => string, string]> = [
		['B2COPY', (v, a) => normalizeHost(v, 'Host URL', a), 'Host URL'],
		['CRM.COM', (v, a) => normalizeCrmComBase(v, a), 'Server URL'],
		['Virtual PBX', (v, a) => normalizePbxHost(v, a), 'Host URL'],
	];
	for (const [vendor, normalise, field] of cases) {
		it(`${vendor}: http:// to a public host is refused naming "${field}" and the option`, () => {
			expect(() => normalise(PUBLIC, false)).toThrow(`The "${field}" field uses http://, which would send the credential unencrypted to 203.0.113.10. Use https://, or tick "Allow Insecure HTTP" in the credential if this server can only be reached over http.`);
		});
		it(`${vendor}: accepted with the option ticked, for https://, and for private or loopback http://`, () => {
			expect(() => normalise(PUBLIC, true)).not.toThrow();
			expect(() => normalise('https://203.0.113.10', false)).not.toThrow();
			expect(() => normalise('http://192.168.0.5:8080', false)).not.toThrow();
			expect(() => normalise('http://127.0.0.1:9', false)).not.toThrow();
		});
	}
});

describe('through the nodes: refused before any request', () => {
	const cases = [
		{ vendor: 'B2COPY', node: new B2Copy(), type: new B2CopyExternalCrmApi(), data: { host: PUBLIC, adminId: '1', deviceIp: '203.0.113.10', keyId: 'k', privateKey: 'x' }, params: { resource: 'apiRequest', operation: 'request', method: 'GET', path: '/api/x' }, field: 'Host URL' },
		{ vendor: 'CRM.COM', node: new CrmCom(), type: new CrmComApi(), data: { serverUrl: PUBLIC, loginMethod: 'authenticationCode', authenticationCode: 'code-123456' }, params: { resource: 'apiRequest', operation: 'request', method: 'GET', action: 'contact_information/list' }, field: 'Server URL' },
		{ vendor: 'PBX trusted', node: new VirtualPbx(), type: new VirtualPbxTrustedAppApi(), data: { host: PUBLIC, appId: 'a', appSecret: 'secret-123456' }, params: { authentication: 'trustedApp', resource: 'user', operation: 'getMe' }, field: 'Host URL' },
		{ vendor: 'PBX OAuth2', node: new VirtualPbx(), type: new VirtualPbxOAuth2Api(), data: { host: PUBLIC, oauthTokenData: { access_token: 'oauth-token-123456' } }, params: { authentication: 'oAuth2', resource: 'user', operation: 'getMe' }, field: 'Host URL' },
	];
	for (const c of cases) {
		it(`${c.vendor}: the run fails naming "${c.field}", nothing is sent`, async () => {
			const ctx = createExecuteContext({ store: credentialStore(c.type, c.data as never), params: c.params });
			const error = await c.node.execute.call(ctx).then(
				() => undefined,
				(e: unknown) => e as Error,
			);
			expect(error?.message).toContain(`The "${c.field}" field uses http://`);
			expect(ctx.sent).toEqual([]);
		});
	}
});

/** Evaluates a credential expression (`={{ … }}` + rest) the way n8n would for these simple ones. */
function evaluate(expression: string, host: string, allowInsecureHttp?: boolean): string {
	const match = /^=\{\{(.*)\}\}(.*)$/.exec(expression);
	if (!match) throw new Error(`not an expression: ${expression}`);
	const data = { host, allowInsecureHttp };
	const value = new Function('$credentials', '$self', `return (${match[1]});`)(data, data) as string;
	return `${value}${match[2]}`;
}

describe('the PBX OAuth2 URLs (n8n\'s own connect and refresh never run the package\'s host check)', () => {
	const oauth = new VirtualPbxOAuth2Api();
	const prop = (name: string) => String(oauth.properties.find((p) => p.name === name)?.default);
	const urls = (host: string, allowInsecureHttp?: boolean) => [
		evaluate(prop('authUrl'), host, allowInsecureHttp),
		evaluate(prop('accessTokenUrl'), host, allowInsecureHttp),
		evaluate(oauth.test.request.baseURL as string, host, allowInsecureHttp),
	];
	const hosts = [
		'203.0.113.10',
		'pbx.example.com',
		'127.0.0.1',
		'127.9.8.7:8080',
		'localhost:5678',
		'pbx.localhost',
		'10.0.0.5',
		'172.16.0.1',
		'172.31.255.255',
		'172.32.0.1',
		'172.15.0.1',
		'192.168.1.20:81',
		'192.169.1.20',
		'169.254.1.1',
		'[::1]:8080',
		'[fd12:3456::1]',
		'[fe80::1]',
		'[2001:db8::1]',
		'11.0.0.1',
		'localhost.example.com',
	];
	it.each(hosts)('http://%s: refused exactly when the nodes refuse it, naming "Host URL" in the scheme n8n reports', (host) => {
		const url = `http://${host}/`;
		const local = isLocalOrPrivateHost(new URL(url).hostname);
		let nodes: string | undefined;
		try {
			normalizePbxHost(url);
		} catch (error) {
			nodes = (error as Error).message;
		}
		expect(nodes === undefined).toBe(local);
		const [authorize, token, test] = urls(url);
		if (local) {
			expect([authorize, token, test]).toEqual([`http://${host}/oauth/authorize`, `http://${host}/oauth/token`, `http://${host}`]);
		} else {
			for (const u of [authorize, token, test]) {
				expect(u.startsWith(`${INSECURE_OAUTH_SCHEME}:`)).toBe(true);
				// What n8n's validateOAuthUrl shows: "Invalid protocol: <scheme>:".
				expect(new URL(u).protocol).toBe(`${INSECURE_OAUTH_SCHEME}:`);
				expect(u).not.toContain(host);
			}
			expect(INSECURE_OAUTH_SCHEME).toMatch(/host-url/);
			expect(INSECURE_OAUTH_SCHEME).toMatch(/allow-insecure-http/);
			// Ticking "Allow Insecure HTTP" lets it through, as in the nodes.
			expect(urls(url, true)).toEqual([`http://${host}/oauth/authorize`, `http://${host}/oauth/token`, `http://${host}`]);
			expect(() => normalizePbxHost(url, true)).not.toThrow();
		}
	});

	it('https:// is never touched', () => {
		expect(urls('https://203.0.113.10/api/ver1.0/')).toEqual(['https://203.0.113.10/oauth/authorize', 'https://203.0.113.10/oauth/token', 'https://203.0.113.10']);
	});
});

describe('one normalisation for credentials, Test and OAuth2 URLs', () => {
	const pbxHosts = ['https://pbx.example', 'https://pbx.example/', ' https://pbx.example/api/ver1.0', 'https://pbx.example/api/ver1.0/'];
	it.each(pbxHosts)('PBX "%s": Test base URL and OAuth2 URLs agree with the nodes', (host) => {
		const base = normalizePbxHost(host);
		expect(base).toBe('https://pbx.example');
		const trusted = new VirtualPbxTrustedAppApi().test.request.baseURL as string;
		const oauth = new VirtualPbxOAuth2Api();
		expect(evaluate(trusted, host)).toBe(base);
		expect(evaluate(oauth.test.request.baseURL as string, host)).toBe(base);
		const prop = (name: string) => String(oauth.properties.find((p) => p.name === name)?.default);
		expect(evaluate(prop('authUrl'), host)).toBe(`${base}/oauth/authorize`);
		expect(evaluate(prop('accessTokenUrl'), host)).toBe(`${base}/oauth/token`);
	});

	const b2Hosts = ['https://b2.example', 'https://b2.example/', 'https://b2.example/api', 'https://b2.example/api/admin/auth/v2/admin/adminservice/authexternalcrm'];
	it.each(b2Hosts)('B2COPY "%s": the Test base URL agrees with the nodes', (host) => {
		const base = normalizeHost(host);
		expect(base).toBe('https://b2.example');
		expect(evaluate(new B2CopyExternalCrmApi().test.request.baseURL as string, host)).toBe(base);
	});
});
