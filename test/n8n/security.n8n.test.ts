/**
 * Security in a real n8n 2.41.1 (issue 13, items 5 and 7): the fakes answer with redirects to a
 * recording server on another 127.0.0.1 port, for every kind of request the package makes
 * (token calls, GETs, POSTs; 302 and 307; every credential, OAuth2 included, and a credential
 * Test); the recorder must receive nothing at all, and the run fails with a message naming the
 * credential's host field.
 */
import { describe, expect, it } from 'vitest';

import { B2COPY_PATHS } from '../fakes/b2copy';
import { PUBLIC_APP } from '../support/pbx';
import { useRecorder, useVendorFixtures } from '../support/vendors';
import { INSECURE_OAUTH_SCHEME } from '../../credentials/VirtualPbxOAuth2Api.credentials';
import { note, type ExecutionResult } from './harness';
import { useN8n } from './instance';
import { id16, nodeType, workflow } from './workflows';

const cred = (type: string, n: number, name: string) => ({ type, id: id16('seccred', n), name });
const CREDS = {
	b2: cred('b2CopyExternalCrmApi', 1, 'B2COPY'),
	b2Fresh: cred('b2CopyExternalCrmApi', 2, 'B2COPY fresh'),
	crmPass: cred('crmComApi', 3, 'CRM.COM pass code'),
	crmCode: cred('crmComApi', 4, 'CRM.COM code'),
	pbxTrusted: cred('virtualPbxTrustedAppApi', 5, 'PBX trusted'),
	pbxTrustedFresh: cred('virtualPbxTrustedAppApi', 6, 'PBX trusted fresh'),
	pbxOAuth: cred('virtualPbxOAuth2Api', 7, 'PBX OAuth2'),
	crmShort: cred('crmComApi', 8, 'CRM.COM short pass code'),
};
/** A 4-character pass code (no base64 or hex character in it: it cannot turn up in a log by chance). */
const SHORT_PASS_CODE = 'Q~7z';
const SHORT_IDENTIFIER = 'short.code@example.com';
const use = (c: { type: string; id: string; name: string }) => ({ [c.type]: { id: c.id, name: c.name } });

const b2Request = (method: string, c = CREDS.b2) => ({
	name: 'Node',
	type: nodeType('b2Copy'),
	credentials: use(c),
	parameters: { resource: 'apiRequest', operation: 'request', method, path: B2COPY_PATHS.echo, jsonBody: '{"x":1}' },
});
const crmRequest = (method: string, c: typeof CREDS.crmPass) => ({
	name: 'Node',
	type: nodeType('crmCom'),
	credentials: use(c),
	parameters:
		method === 'GET'
			? { resource: 'apiRequest', operation: 'request', method, action: 'contact_information/list' }
			: { resource: 'apiRequest', operation: 'request', method, action: 'contact_information/update', jsonBody: '{"contact_information_identifier":{"number":"CI000004"},"notes":"x"}' },
});
const pbxGetMe = (c: typeof CREDS.pbxTrusted) => ({
	name: 'Node',
	type: nodeType('virtualPbx'),
	credentials: use(c),
	parameters: { authentication: c.type === 'virtualPbxOAuth2Api' ? 'oAuth2' : 'trustedApp', resource: 'user', operation: 'getMe' },
});

const WF = {
	b2Get: workflow(id16('secwfb2get'), 'B2COPY GET', [b2Request('GET')]),
	b2Post: workflow(id16('secwfb2post'), 'B2COPY POST', [b2Request('POST')]),
	b2Exchange: workflow(id16('secwfb2exch'), 'B2COPY exchange', [b2Request('GET', CREDS.b2Fresh)]),
	crmLogin: workflow(id16('secwfcrmlog'), 'CRM.COM login', [crmRequest('GET', CREDS.crmPass)]),
	crmGet: workflow(id16('secwfcrmget'), 'CRM.COM GET', [crmRequest('GET', CREDS.crmCode)]),
	crmPost: workflow(id16('secwfcrmpost'), 'CRM.COM POST', [crmRequest('POST', CREDS.crmCode)]),
	pbxToken: workflow(id16('secwfpbxtok'), 'PBX token', [pbxGetMe(CREDS.pbxTrustedFresh)]),
	pbxGet: workflow(id16('secwfpbxget'), 'PBX GET trusted', [pbxGetMe(CREDS.pbxTrusted)]),
	pbxOAuthGet: workflow(id16('secwfpbxoau'), 'PBX GET OAuth2', [pbxGetMe(CREDS.pbxOAuth)]),
	crmShort: workflow(id16('secwfcrmshort'), 'CRM.COM short pass code', [crmRequest('GET', CREDS.crmShort)]),
};

// Shared by all the tests, never cleared: nothing may reach the recorder in the whole file.
const recorder = useRecorder({ fresh: false });
const { b2, crm, pbx } = useVendorFixtures({ b2copy: { accessTokenTtlSec: 900 } }, { fresh: false });
const n8n = useN8n({
	credentials: () => [
		{ ...CREDS.b2, data: { ...b2.credentials } },
		{ ...CREDS.b2Fresh, data: { ...b2.credentials } },
		{ ...CREDS.crmPass, data: { ...crm.byMethod.identifierPassCode } },
		{ ...CREDS.crmCode, data: { ...crm.byMethod.authenticationCode } },
		{ ...CREDS.crmShort, data: { ...crm.byMethod.identifierPassCode, identifier: SHORT_IDENTIFIER, passCode: SHORT_PASS_CODE } },
		{ ...CREDS.pbxTrusted, data: { ...pbx.credentials } },
		{ ...CREDS.pbxTrustedFresh, data: { ...pbx.credentials } },
		{
			...CREDS.pbxOAuth,
			data: {
				host: pbx.fake.url,
				clientId: PUBLIC_APP.clientId,
				clientSecret: PUBLIC_APP.clientSecret,
				oauthTokenData: { access_token: pbx.publicTokens.accessToken, refresh_token: pbx.publicTokens.refreshToken, token_type: 'Bearer' },
			},
		},
	],
	workflows: () => Object.values(WF),
});

function secrets(): string[] {
	return [
		String(b2.credentials.privateKey),
		...b2.fake.issuedTokens().access,
		...b2.fake.issuedTokens().refresh,
		...crm.secrets,
		...crm.fake.issuedTokens(),
		...pbx.secrets,
		...pbx.fake.issuedTokens().access,
	].filter((s) => s.length > 0);
}

/** The recorder saw nothing at all; the run failed naming the host field; no secret in sight. */
function expectRefused(result: ExecutionResult, hostField: string) {
	expect(recorder.requests.map((r) => `${r.method} ${r.path} ${r.headers.authorization ?? ''}`)).toEqual([]);
	expect(result.ok).toBe(false);
	const text = `${result.error?.message ?? ''} ${result.error?.description ?? ''}`;
	expect(text).toMatch(/redirect \(HTTP 30[27]\) to another address/);
	expect(text).toContain(`"${hostField}"`);
	expect(text).toContain(recorder.url);
	for (const secret of secrets()) expect(result.stdout + result.stderr).not.toContain(secret);
}

async function runWith(setFault: () => void, workflowId: string): Promise<ExecutionResult> {
	recorder.clearLog();
	for (const fake of [b2.fake, crm.fake, pbx.fake]) fake.clearFaults();
	setFault();
	return await n8n.execute(workflowId);
}

describe('redirects to another origin in n8n 2.41.1: nothing reaches the other port', () => {
	for (const status of [302, 307]) {
		it(`B2COPY GET answered ${status}: no Bearer token`, async () => {
			const result = await runWith(() => b2.fake.fail({ path: B2COPY_PATHS.echo }, { kind: 'redirect', to: recorder.url, status }), WF.b2Get.id);
			expectRefused(result, 'Host URL');
		});
		it(`PBX GET answered ${status} (trusted app): no Bearer token`, async () => {
			const result = await runWith(() => pbx.fake.fail({ path: '/api/ver1.0/user/' }, { kind: 'redirect', to: recorder.url, status }), WF.pbxGet.id);
			expectRefused(result, 'Host URL');
		});
		it(`PBX GET answered ${status} (OAuth2): no Bearer token`, async () => {
			const result = await runWith(() => pbx.fake.fail({ path: '/api/ver1.0/user/' }, { kind: 'redirect', to: recorder.url, status }), WF.pbxOAuthGet.id);
			expectRefused(result, 'Host URL');
		});
		it(`CRM.COM GET answered ${status}: no ?token=`, async () => {
			const result = await runWith(() => crm.fake.fail({ path: /contact_information\/list$/ }, { kind: 'redirect', to: recorder.url, status }), WF.crmGet.id);
			expectRefused(result, 'Server URL');
		});
	}

	it('B2COPY POST answered 307: neither the token nor the body', async () => {
		const result = await runWith(() => b2.fake.fail({ path: B2COPY_PATHS.echo, method: 'POST' }, { kind: 'redirect', to: recorder.url, status: 307 }), WF.b2Post.id);
		expectRefused(result, 'Host URL');
	});

	it('B2COPY token exchange answered 307: no signed assertion', async () => {
		const result = await runWith(() => b2.fake.fail({ path: B2COPY_PATHS.exchange }, { kind: 'redirect', to: recorder.url, status: 307 }), WF.b2Exchange.id);
		expectRefused(result, 'Host URL');
	});

	it('CRM.COM login answered 307: no Basic consumer key, no pass code', async () => {
		const result = await runWith(() => crm.fake.fail({ path: /token$/ }, { kind: 'redirect', to: recorder.url, status: 307 }), WF.crmLogin.id);
		expectRefused(result, 'Server URL');
	});

	it('CRM.COM POST answered 307: the session token in the body stays home', async () => {
		const result = await runWith(() => crm.fake.fail({ path: /contact_information\/update$/ }, { kind: 'redirect', to: recorder.url, status: 307 }), WF.crmPost.id);
		expectRefused(result, 'Server URL');
	});

	it('PBX token request answered 307: no client secret', async () => {
		const result = await runWith(() => pbx.fake.fail({ path: '/oauth/token' }, { kind: 'redirect', to: recorder.url, status: 307 }), WF.pbxToken.id);
		expectRefused(result, 'Host URL');
	});

	it('a same-origin redirect on a GET still works (B2COPY)', async () => {
		const result = await runWith(
			() => b2.fake.fail({ path: B2COPY_PATHS.echo }, { kind: 'redirect', to: `${b2.fake.url}${B2COPY_PATHS.echo}?moved=1`, status: 302 }),
			WF.b2Get.id,
		);
		expect(result.ok, JSON.stringify(result.error)).toBe(true);
		expect(result.nodes.Node.items[0].json.query).toMatchObject({ moved: '1' });
		expect(recorder.requests).toEqual([]);
	});

	it('credential Test (B2COPY exchange answered 307): no assertion reaches the other port', async () => {
		await n8n.startServer();
		recorder.clearLog();
		b2.fake.clearFaults();
		b2.fake.fail({ path: B2COPY_PATHS.exchange }, { kind: 'redirect', to: recorder.url, status: 307 });
		const test = await n8n.testCredential({ name: 'B2COPY redirected', type: 'b2CopyExternalCrmApi', data: { ...b2.credentials } });
		expect(test.status).toBe('Error');
		expect(recorder.requests).toEqual([]);
	});
});

describe('AI tool variants in n8n 2.41.1 (issue 13, item 6)', () => {
	it('n8n registers a tool variant of each action node without the secret resources, with the read-only switch', async () => {
		if (!n8n.serverRunning) await n8n.startServer();
		const response = await n8n.rest<Array<Record<string, any>>>('GET', '/types/nodes.json');
		expect(response.status, response.text.slice(0, 200)).toBe(200);
		const types = response.body;
		const cases: Array<[string, string]> = [
			['b2Copy', 'token'],
			['crmCom', 'token'],
			['virtualPbx', 'application'],
		];
		for (const [name, secret] of cases) {
			const tool = types.find((t) => t.name === `n8n-nodes-crm-pbx.${name}Tool`);
			expect(tool, `${name}Tool registered`).toBeDefined();
			const resources = (tool?.properties as Array<Record<string, any>>).filter((p) => p.name === 'resource');
			// The node's own Resource is hidden in the tool (@tool), the tool's lacks the secret one.
			const forTool = resources.filter((p) => p.displayOptions?.show?.['@tool']?.[0] === true);
			const forNode = resources.filter((p) => p.displayOptions?.hide?.['@tool']?.[0] === true);
			expect(forTool).toHaveLength(1);
			expect(forNode).toHaveLength(1);
			expect(forTool[0].options.map((o: { value: string }) => o.value)).not.toContain(secret);
			expect(forNode[0].options.map((o: { value: string }) => o.value)).toContain(secret);
			expect((tool?.properties as Array<Record<string, any>>).some((p) => p.name === 'allowWritesAsTool' && p.default === false)).toBe(true);
		}
	});
});

/**
 * One more try when n8n closed a kept-alive connection just as fetch reused it ("fetch failed",
 * UND_ERR_SOCKET: seen once under load, right after the large /types/nodes.json answer).
 */
async function retryingDroppedSocket<T>(work: () => Promise<T>): Promise<T> {
	try {
		return await work();
	} catch (error) {
		const code = (error as { cause?: { code?: string } }).cause?.code;
		if (!(error instanceof TypeError) || code !== 'UND_ERR_SOCKET') throw error;
		note(`retrying after a dropped keep-alive socket: ${error.message}`);
		return await work();
	}
}

describe('a 4-character secret echoed by the vendor (issue 13, item 7): nowhere in n8n\'s log or execution data', () => {
	/** CRM.COM refuses the login echoing the pass code, as a server might. */
	const echoPassCode = () =>
		crm.fake.fail(
			{ path: /token$/, every: 1 },
			{ status: 401, body: { data: null, status: { code: 'INVALID_PASS_CODE', description: `Pass code ${SHORT_PASS_CODE} is not valid for ${SHORT_IDENTIFIER}`, message: `Pass code ${SHORT_PASS_CODE} is not valid` } } },
		);
	const logMentions = () => n8n.logText().split('\n').filter((line) => line.includes(SHORT_PASS_CODE));

	it('through the credential Test: the message quotes the vendor with the pass code redacted', async () => {
		if (!n8n.serverRunning) await n8n.startServer();
		crm.fake.clearFaults();
		echoPassCode();
		const before = crm.fake.requests.length;
		const test = await retryingDroppedSocket(async () =>
			await n8n.testCredential({
				name: 'CRM.COM short pass code (Test)',
				type: 'crmComApi',
				data: { ...crm.byMethod.identifierPassCode, identifier: SHORT_IDENTIFIER, passCode: SHORT_PASS_CODE },
			}),
		);
		note(`credential Test message: ${test.message}`);
		expect(test.status).toBe('Error');
		expect(test.message).toContain('Pass code [redacted] is not valid');
		expect(test.message).not.toContain(SHORT_PASS_CODE);
		// The vendor did echo it: the scripted answer reached n8n.
		expect(crm.fake.requests.slice(before).some((r) => r.fault === 'status' && /token$/.test(r.path))).toBe(true);
		expect(logMentions()).toEqual([]);
	});

	it('through a run: the error, n8n\'s debug log (with the whole run) and the saved execution never show it', async () => {
		if (!n8n.serverRunning) await n8n.startServer();
		crm.fake.clearFaults();
		echoPassCode();
		const before = crm.fake.requests.length;
		const result = await n8n.execute(WF.crmShort.id);
		expect(result.ok).toBe(false);
		const text = `${result.error?.message ?? ''} ${result.error?.description ?? ''}`;
		note(`run error: ${text}`);
		expect(text).toContain('Pass code [redacted] is not valid');
		expect(`${text} ${result.stdout} ${result.stderr}`).not.toContain(SHORT_PASS_CODE);
		// The vendor did echo it: the scripted answer reached n8n.
		expect(crm.fake.requests.slice(before).some((r) => r.fault === 'status' && /token$/.test(r.path))).toBe(true);
		// n8n's own log files of every command (debug level; \`n8n execute\` logs the whole run).
		expect(n8n.logText()).toContain('Pass code [redacted] is not valid');
		expect(logMentions()).toEqual([]);
		// The execution n8n saved, with its data.
		const saved = await n8n.apiRequest<{ data: Array<Record<string, unknown>> }>('GET', `/executions?workflowId=${WF.crmShort.id}&includeData=true&limit=10`);
		expect(saved.status, saved.text).toBe(200);
		expect(saved.body.data.length).toBeGreaterThan(0);
		expect(saved.text).toContain('[redacted]');
		expect(saved.text).not.toContain(SHORT_PASS_CODE);
		crm.fake.clearFaults();
	});
});

describe('http:// on n8n\'s own OAuth2 connect (issue 13, item 5): the PBX OAuth2 credential', () => {
	const create = async (name: string, data: Record<string, unknown>) => {
		const created = await n8n.rest<{ data: { id: string } }>('POST', '/rest/credentials', { name, type: 'virtualPbxOAuth2Api', data });
		expect(created.status, created.text).toBe(200);
		return created.body.data.id;
	};
	const connect = async (id: string) => await n8n.rest<{ data?: string; message?: string }>('GET', `/rest/oauth2-credential/auth?id=${id}`);

	it('a public http:// Host URL without "Allow Insecure HTTP": Connect is refused naming Host URL, before any request', async () => {
		if (!n8n.serverRunning) await n8n.startServer();
		const id = await create('PBX OAuth2 over http', { host: 'http://203.0.113.10', clientId: PUBLIC_APP.clientId, clientSecret: PUBLIC_APP.clientSecret });
		const refused = await connect(id);
		note(`OAuth2 Connect with http://203.0.113.10: HTTP ${refused.status} ${refused.text.slice(0, 300)}`);
		expect(refused.status).toBe(400);
		expect(refused.body.message).toContain(`Invalid protocol: ${INSECURE_OAUTH_SCHEME}:`);
		expect(refused.body.message).toMatch(/host-url/);
		expect(refused.body.message).toMatch(/allow-insecure-http/);
		expect(refused.text).not.toContain(PUBLIC_APP.clientSecret);
	});

	it('the same Host URL on a connected credential: its Test fails before any request', async () => {
		const connected = cred('virtualPbxOAuth2Api', 9, 'PBX OAuth2 over http, connected');
		await n8n.importCredentials([
			{
				...connected,
				data: {
					host: 'http://203.0.113.10',
					clientId: PUBLIC_APP.clientId,
					clientSecret: PUBLIC_APP.clientSecret,
					oauthTokenData: { access_token: pbx.publicTokens.accessToken, refresh_token: pbx.publicTokens.refreshToken, token_type: 'Bearer' },
				},
			},
		]);
		const test = await n8n.testSavedCredential(connected.id);
		note(`its credential Test: ${test.status} ${test.message}`);
		// The Test's base URL is the refused scheme too (test/nodes/shared/host.test.ts): axios
		// refuses it before connecting ("Unsupported protocol use-https-in-host-url-…:"), and
		// n8n's credential tester shows only that error's code. Nothing is sent anywhere.
		expect(test.status).toBe('Error');
		expect(test.message).toBe('ERR_BAD_REQUEST');
		expect(test.message).not.toContain(pbx.publicTokens.accessToken);
	});

	it('the same with "Allow Insecure HTTP" ticked: Connect goes on to the PBX\'s authorize URL', async () => {
		const id = await create('PBX OAuth2 over http, allowed', { host: 'http://203.0.113.10/', allowInsecureHttp: true, clientId: PUBLIC_APP.clientId, clientSecret: PUBLIC_APP.clientSecret });
		const allowed = await connect(id);
		expect(allowed.status, allowed.text).toBe(200);
		const url = new URL(String(allowed.body.data));
		expect(`${url.origin}${url.pathname}`).toBe('http://203.0.113.10/oauth/authorize');
		expect(url.searchParams.get('client_id')).toBe(PUBLIC_APP.clientId);
	});

	it('a loopback http:// Host URL stays allowed: Connect goes to the fake PBX', async () => {
		const id = await create('PBX OAuth2 over loopback http', { host: `${pbx.fake.url}/api/ver1.0`, clientId: PUBLIC_APP.clientId, clientSecret: PUBLIC_APP.clientSecret });
		const allowed = await connect(id);
		expect(allowed.status, allowed.text).toBe(200);
		const url = new URL(String(allowed.body.data));
		expect(`${url.origin}${url.pathname}`).toBe(`${pbx.fake.url}/oauth/authorize`);
	});
});
