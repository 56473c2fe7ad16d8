/**
 * No credential, token, assertion, secret or POST body reaches another origin on a redirect:
 * per vendor and per request kind (token calls, GETs, POSTs; 302 and 307), against the fake
 * vendors and a recording server on another 127.0.0.1 port. The HTTP stand-in follows
 * redirects the way n8n 2.41 does (credentials re-sent unless told otherwise, body kept on
 * 307/308), so these tests fail if a request lets n8n follow a redirect.
 */
import type { INodeExecutionData } from 'n8n-workflow';
import { describe, expect, it } from 'vitest';

import { B2CopyExternalCrmApi } from '../../../credentials/B2CopyExternalCrmApi.credentials';
import { CrmComApi } from '../../../credentials/CrmComApi.credentials';
import { VirtualPbxTrustedAppApi } from '../../../credentials/VirtualPbxTrustedAppApi.credentials';
import { B2Copy } from '../../../nodes/B2Copy/B2Copy.node';

import { CrmCom } from '../../../nodes/CrmCom/CrmCom.node';
import { CRMCOM_LOGIN_PATH } from '../../../nodes/CrmCom/auth';
import { VirtualPbx } from '../../../nodes/VirtualPbx/VirtualPbx.node';
import { decideRedirect } from '../../../nodes/shared/redirect';
import { B2COPY_PATHS } from '../../fakes/b2copy';
import { createExecuteContext, credentialStore } from '../../support/context';
import { testHttpRequest } from '../../support/http';
import { useRecorder, useVendorFixtures } from '../../support/vendors';

const recorder = useRecorder();
const { b2, crm, pbx } = useVendorFixtures();

/** Runs a node; returns its output or the error it threw. */
async function run(
	node: { execute: (this: never) => Promise<INodeExecutionData[][]> },
	type: ConstructorParameters<typeof Object>[0],
	credentials: Record<string, unknown>,
	params: Record<string, unknown>,
): Promise<{ output?: INodeExecutionData[]; error?: Error }> {
	const ctx = createExecuteContext({ store: credentialStore(type as never, credentials as never), params });
	try {
		const [output] = await node.execute.call(ctx as never);
		return { output };
	} catch (error) {
		return { error: error as Error };
	}
}

/** Nothing at all reached the recorder, and no secret is in the error. */
function expectNothingLeaked(error: Error | undefined, secrets: unknown[], hostField: string) {
	expect(recorder.requests).toEqual([]);
	expect(error).toBeDefined();
	const text = `${error?.message} ${(error as { description?: string }).description ?? ''}`;
	expect(text).toContain(`"${hostField}"`);
	expect(text).toContain(recorder.url);
	for (const secret of secrets) if (typeof secret === 'string' && secret !== '') expect(text).not.toContain(secret);
}

describe('the HTTP stand-in follows redirects like n8n (so the tests below can fail)', () => {
	it('re-sends Authorization and a 307 body to another origin unless told not to', async () => {
		b2.fake.fail({ path: B2COPY_PATHS.echo }, { kind: 'redirect', to: recorder.url, status: 307 });
		await testHttpRequest({ method: 'POST', url: `${b2.fake.url}${B2COPY_PATHS.echo}`, headers: { Authorization: 'Bearer leaked-token' }, body: { secret: 'leaked-body' }, json: true });
		expect(recorder.requests).toHaveLength(1);
		expect(recorder.requests[0].headers.authorization).toBe('Bearer leaked-token');
		expect(recorder.requests[0].rawBody).toContain('leaked-body');
	});
});

describe('B2COPY', () => {
	const b2node = new B2Copy();
	const type = new B2CopyExternalCrmApi();
	const echo = (method: string) => ({ resource: 'apiRequest', operation: 'request', method, path: B2COPY_PATHS.echo, jsonBody: '{"x":1}' });
	const secrets = () => [b2.credentials.privateKey, ...b2.fake.issuedTokens().access, ...b2.fake.issuedTokens().refresh];

	for (const status of [302, 307]) {
		it(`GET answered ${status} to another origin: no Bearer token there, the run fails naming Host URL`, async () => {
			b2.fake.fail({ path: B2COPY_PATHS.echo }, { kind: 'redirect', to: recorder.url, status });
			const { error } = await run(b2node, type, b2.credentials, echo('GET'));
			expectNothingLeaked(error, secrets(), 'Host URL');
		});
		it(`POST answered ${status} to another origin: neither token nor body there`, async () => {
			b2.fake.fail({ path: B2COPY_PATHS.echo, method: 'POST' }, { kind: 'redirect', to: recorder.url, status });
			const { error } = await run(b2node, type, b2.credentials, echo('POST'));
			expectNothingLeaked(error, secrets(), 'Host URL');
		});
		it(`token exchange answered ${status} to another origin: the signed assertion stays home`, async () => {
			b2.fake.fail({ path: B2COPY_PATHS.exchange }, { kind: 'redirect', to: recorder.url, status });
			const { error } = await run(b2node, type, b2.credentials, echo('GET'));
			expectNothingLeaked(error, secrets(), 'Host URL');
			expect(b2.fake.requestsTo(B2COPY_PATHS.echo)).toHaveLength(0);
		});
	}

	it('a same-origin redirect on a GET is still followed, with the token', async () => {
		b2.fake.fail({ path: '/old/echo' }, { kind: 'redirect', to: `${b2.fake.url}${B2COPY_PATHS.echo}?moved=1`, status: 301 });
		const { output, error } = await run(b2node, type, b2.credentials, { ...echo('GET'), path: '/old/echo' });
		expect(error).toBeUndefined();
		expect(output?.[0].json.query).toMatchObject({ moved: '1' });
		expect(b2.fake.requestsTo(B2COPY_PATHS.echo)).toHaveLength(1);
		expect(recorder.requests).toEqual([]);
	});

	it('a same-origin 307 on a POST is followed with its body; a 302 on a POST is refused', async () => {
		b2.fake.fail({ path: '/old/echo', method: 'POST' }, { kind: 'redirect', to: `${b2.fake.url}${B2COPY_PATHS.echo}`, status: 307 });
		const ok = await run(b2node, type, b2.credentials, { ...echo('POST'), path: '/old/echo' });
		expect(ok.error).toBeUndefined();
		expect(b2.fake.requestsTo(B2COPY_PATHS.echo, 'POST')).toHaveLength(1);
		b2.fake.fail({ path: '/old/echo', method: 'POST' }, { kind: 'redirect', to: `${b2.fake.url}${B2COPY_PATHS.echo}`, status: 302 });
		const refused = await run(b2node, type, b2.credentials, { ...echo('POST'), path: '/old/echo' });
		expect(refused.error?.message).toMatch(/redirect \(HTTP 302\) that this node does not follow for a POST request/);
		expect(b2.fake.requestsTo(B2COPY_PATHS.echo, 'POST')).toHaveLength(1);
	});

	it('an http → https redirect of the same host is another origin: refused, naming Host URL', () => {
		const decision = decideRedirect({ url: 'http://b2copy.example/api/x', method: 'GET' }, { statusCode: 301, headers: { Location: 'https://b2copy.example/api/x' } }, 0);
		expect(decision).toMatchObject({ kind: 'refuse', reason: 'other-origin', target: 'https://b2copy.example' });
	});
});

describe('CRM.COM', () => {
	const crmNode = new CrmCom();
	const type = new CrmComApi();
	const secrets = () => [...crm.secrets, ...crm.fake.issuedTokens()];
	const request = (method: string) => ({
		resource: 'apiRequest',
		operation: 'request',
		method,
		action: method === 'GET' ? 'contact_information/list' : 'contact_information/update',
		...(method === 'POST' ? { jsonBody: JSON.stringify({ contact_information_identifier: { number: 'CI000004' }, notes: 'x' }) } : {}),
	});

	for (const status of [302, 307]) {
		for (const method of ['identifierPassCode', 'authenticationCode'] as const) {
			it(`login (${method}) answered ${status} to another origin: no consumer key, pass code or code there`, async () => {
				crm.fake.fail({ path: new RegExp(`${CRMCOM_LOGIN_PATH}$`) }, { kind: 'redirect', to: recorder.url, status });
				const { error } = await run(crmNode, type, crm.byMethod[method], request('GET'));
				expectNothingLeaked(error, secrets(), 'Server URL');
			});
		}
		it(`GET answered ${status} to another origin: no ?token= there`, async () => {
			crm.fake.fail({ path: /contact_information\/list$/ }, { kind: 'redirect', to: recorder.url, status });
			const { error } = await run(crmNode, type, crm.credentials, request('GET'));
			expectNothingLeaked(error, secrets(), 'Server URL');
		});
		it(`POST answered ${status} to another origin: the session token in the body stays home`, async () => {
			crm.fake.fail({ path: /contact_information\/update$/ }, { kind: 'redirect', to: recorder.url, status });
			const { error } = await run(crmNode, type, crm.credentials, request('POST'));
			expectNothingLeaked(error, secrets(), 'Server URL');
		});
	}
});

describe('Virtual PBX (trusted application)', () => {
	const pbxNode = new VirtualPbx();
	const type = new VirtualPbxTrustedAppApi();
	const getMe = { authentication: 'trustedApp', resource: 'user', operation: 'getMe' };
	const secrets = () => [...pbx.secrets, ...pbx.fake.issuedTokens().access, ...pbx.fake.issuedTokens().secrets];

	for (const status of [302, 307]) {
		it(`token request answered ${status} to another origin: the client secret stays home`, async () => {
			pbx.fake.fail({ path: '/oauth/token' }, { kind: 'redirect', to: recorder.url, status });
			const { error } = await run(pbxNode, type, pbx.credentials, getMe);
			expectNothingLeaked(error, secrets(), 'Host URL');
		});
		it(`GET answered ${status} to another origin: no Bearer token there`, async () => {
			pbx.fake.fail({ path: '/api/ver1.0/user/' }, { kind: 'redirect', to: recorder.url, status });
			const { error } = await run(pbxNode, type, pbx.credentials, getMe);
			expectNothingLeaked(error, secrets(), 'Host URL');
		});
	}

	it('a same-origin token endpoint 307 is followed; the token works', async () => {
		pbx.fake.fail({ path: '/oauth/token/' }, { kind: 'redirect', to: `${pbx.fake.url}/oauth/token`, status: 307 });
		pbx.fake.fail({ path: '/oauth/token' }, { kind: 'redirect', to: `${pbx.fake.url}/oauth/token/`, status: 308, });
		const { output, error } = await run(pbxNode, type, pbx.credentials, getMe);
		expect(error).toBeUndefined();
		expect(output).toHaveLength(1);
		expect(recorder.requests).toEqual([]);
	});
});
