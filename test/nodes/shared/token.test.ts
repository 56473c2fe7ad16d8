/**
 * Transient failures at token endpoints are retried a bounded number of times (a token request
 * is safe to repeat), and a renewal that fails for a network reason does not fail every remaining
 * item of the run: the next request tries one fresh renewal.
 */
import type { IDataObject, IHttpRequestOptions, INodeExecutionData } from 'n8n-workflow';
import { describe, expect, it } from 'vitest';

import { B2CopyExternalCrmApi } from '../../../credentials/B2CopyExternalCrmApi.credentials';
import { VirtualPbxTrustedAppApi } from '../../../credentials/VirtualPbxTrustedAppApi.credentials';
import { B2Copy } from '../../../nodes/B2Copy/B2Copy.node';
import { B2COPY_PATHS } from '../../../nodes/B2Copy/auth';
import { VirtualPbx } from '../../../nodes/VirtualPbx/VirtualPbx.node';
import { TokenError } from '../../../nodes/shared/errors';
import { callTokenEndpoint } from '../../../nodes/shared/token';
import { PBX_PATHS } from '../../fakes/pbx';
import { useB2CopyFixture } from '../../support/b2copy';
import { credentialStore, runNode, type CredentialStore } from '../../support/context';
import { usePbxFixture } from '../../support/pbx';

type Step = { status: number; headers?: Record<string, string> } | { error: Record<string, unknown> & { message: string } };

function scripted(steps: Step[]) {
	const seen: IHttpRequestOptions[] = [];
	const http = async (options: IHttpRequestOptions) => {
		seen.push(options);
		const step = steps[Math.min(seen.length - 1, steps.length - 1)];
		if ('error' in step) throw Object.assign(new Error(step.error.message), step.error);
		return { statusCode: step.status, headers: step.headers ?? {}, body: { ok: step.status } };
	};
	return { http, seen };
}

const call = (http: (o: IHttpRequestOptions) => Promise<unknown>, options: IHttpRequestOptions | (() => IHttpRequestOptions) = { method: 'POST', url: 'https://pbx.example.com/oauth/token' }) =>
	callTokenEndpoint(http, options, 'the PBX', 'Host URL', { backoffMs: 1 });

const timeout = { error: { message: 'timeout of 30000ms exceeded', code: 'ECONNABORTED' } };

describe('callTokenEndpoint retries', () => {
	it.each([
		['a timeout', timeout],
		['a reset connection', { error: { message: 'socket hang up', code: 'ECONNRESET' } }],
		['500', { status: 500 }],
		['502', { status: 502 }],
		['504', { status: 504 }],
		['429 with Retry-After: 0', { status: 429, headers: { 'Retry-After': '0' } }],
		['503 with Retry-After: 0', { status: 503, headers: { 'retry-after': '0' } }],
	] as Array<[string, Step]>)('%s once, then 200: the answer of the second try', async (_, first) => {
		const { http, seen } = scripted([first, { status: 200 }]);
		const answer = await call(http);
		expect(answer.statusCode).toBe(200);
		expect(seen).toHaveLength(2);
	});

	it('a timeout every time: 4 tries, then one message naming the host and the field', async () => {
		const { http, seen } = scripted([timeout]);
		const error = await call(http).then(
			() => undefined,
			(e: unknown) => e,
		);
		expect(seen).toHaveLength(4);
		expect(error).toBeInstanceOf(TokenError);
		expect((error as TokenError).kind).toBe('network');
		expect((error as TokenError).message).toMatch(/Could not reach the PBX at pbx\.example\.com: .*\(4 tries\)\. Check the "Host URL" field/);
	});

	it.each([
		['a refused connection (a wrong address)', { error: { message: 'connect ECONNREFUSED', code: 'ECONNREFUSED' } }],
		['400', { status: 400 }],
		['401', { status: 401 }],
		['429 asking to wait an hour', { status: 429, headers: { 'Retry-After': '3600' } }],
	] as Array<[string, Step]>)('%s: not retried', async (_, step) => {
		const { http, seen } = scripted([step, { status: 200 }]);
		await call(http).catch(() => undefined);
		expect(seen).toHaveLength(1);
	});

	it('options given as a function are built anew for every try (a new assertion)', async () => {
		const { http, seen } = scripted([timeout, timeout, { status: 200 }]);
		let n = 0;
		await call(http, () => ({ method: 'POST', url: 'https://b2copy.example.com/x', body: { external_token: `assertion-${++n}` } }));
		expect(seen.map((o) => (o.body as IDataObject).external_token)).toEqual(['assertion-1', 'assertion-2', 'assertion-3']);
	});
});

describe('a token endpoint that fails for a while, through the nodes', () => {
	const pbx = usePbxFixture();
	const b2 = useB2CopyFixture({ accessTokenTtlSec: 600 });
	let store: CredentialStore;
	const getMe = { authentication: 'trustedApp', resource: 'user', operation: 'getMe' };

	const pbxRun = async (items: IDataObject[]): Promise<INodeExecutionData[]> =>
		await runNode(new VirtualPbx(), { store, params: getMe, items, continueOnFail: true });

	it('PBX: the token request dropped once → retried, the run succeeds with one grant', async () => {
		store = credentialStore(new VirtualPbxTrustedAppApi(), pbx.credentials);
		pbx.fake.fail({ path: PBX_PATHS.token }, { kind: 'drop' });
		const output = await pbxRun([{}, {}, {}]);
		expect(output.map((o) => o.json.login)).toEqual([pbx.fake.user.login, pbx.fake.user.login, pbx.fake.user.login]);
		expect(pbx.fake.requestsTo(PBX_PATHS.token)).toHaveLength(2);
		expect(pbx.fake.counters.grants.client_credentials.ok).toBe(1);
	});

	it('PBX: every try of the first renewal fails → only the first item fails; the next item renews once more and the rest succeed', async () => {
		store = credentialStore(new VirtualPbxTrustedAppApi(), pbx.credentials);
		pbx.fake.fail({ path: PBX_PATHS.token, times: 4 }, { kind: 'drop' });
		const output = await pbxRun([{}, {}, {}, {}, {}]);
		expect(output).toHaveLength(5);
		expect(String(output[0].json.error)).toMatch(/Could not reach the PBX at .*\(4 tries\)\. Check the "Host URL" field/);
		for (const item of output.slice(1)) expect(item.json.login).toBe(pbx.fake.user.login);
		expect(pbx.fake.requestsTo(PBX_PATHS.token)).toHaveLength(5);
	});

	it('PBX: the token endpoint never answers → every item fails, but after two renewals (8 tries), not one per item', async () => {
		store = credentialStore(new VirtualPbxTrustedAppApi(), pbx.credentials);
		pbx.fake.fail({ path: PBX_PATHS.token, times: 1000 }, { kind: 'drop' });
		const output = await pbxRun([{}, {}, {}, {}, {}, {}]);
		expect(output).toHaveLength(6);
		for (const item of output) expect(String(item.json.error)).toMatch(/Could not reach the PBX/);
		expect(pbx.fake.requestsTo(PBX_PATHS.token)).toHaveLength(8);
		for (const item of output) expect(JSON.stringify(item.json)).not.toContain(pbx.trusted.secret);
	});

	it('B2COPY: the exchange dropped once → resent with a new assertion (not refused as replayed)', async () => {
		store = credentialStore(new B2CopyExternalCrmApi(), b2.credentials);
		b2.fake.fail({ path: B2COPY_PATHS.exchange }, { kind: 'drop' });
		const output = await runNode(new B2Copy(), { store, params: { resource: 'apiRequest', operation: 'request', method: 'GET', path: '/api/admin/test/echo' }, items: [{}] });
		expect(output).toHaveLength(1);
		const exchanges = b2.fake.requestsTo(B2COPY_PATHS.exchange);
		expect(exchanges).toHaveLength(2);
		expect(exchanges[0].rawBody).not.toBe(exchanges[1].rawBody);
		expect(b2.fake.counters.exchangesOk).toBe(1);
	});
});
