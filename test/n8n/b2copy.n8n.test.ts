/**
 * B2COPY inside a real n8n 2.41.1: the package packed and installed the way the community panel
 * installs it, workflows run with `n8n execute`, the credential Test through n8n's own endpoint,
 * against the fake B2COPY on 127.0.0.1.
 */
import { describe, expect, it } from 'vitest';

import { generateEcKeyPair } from '../fakes/keys';
import { useB2CopyFixture } from '../support/b2copy';
import type { ExecutionResult } from './harness';
import { useN8n, useN8nServer } from './instance';
import { generateItems, id16, nodeType, workflow } from './workflows';

const CRED_TYPE = 'b2CopyExternalCrmApi';
const CRED = { id: id16('b2cred', 1), name: 'B2COPY (fake)' };
const credentials = { [CRED_TYPE]: CRED };
const B2COPY = nodeType('b2Copy');

/** Tokens that a Token → Get/Refresh step output on purpose (allowed in its output only). */
const tokensOutputOnPurpose = new Set<string>();

const echoNode = (name = 'B2COPY', extra: Record<string, unknown> = {}) => ({
	name,
	type: B2COPY,
	credentials,
	parameters: {
		resource: 'apiRequest',
		operation: 'request',
		method: 'GET',
		path: '/api/admin/test/echo',
		query: { parameter: [{ name: 'i', value: '={{ $json.i }}' }] },
		options: { concurrency: 10 },
		...extra,
	},
});

const WF = {
	api1000: workflow(id16('b2wfapi', 1), 'B2COPY API Request x1000', [...generateItems(1000), echoNode()]),
	api300: workflow(id16('b2wfapi', 2), 'B2COPY API Request x300', [...generateItems(300), echoNode()]),
	feeOk: workflow(id16('b2wffee', 1), 'B2COPY fee ok', [
		{
			name: 'Fee',
			type: B2COPY,
			credentials,
			parameters: { resource: 'fee', operation: 'process', accountLogin: '123456', requestId: 'wd-ok-1', waitForCompletion: true, pollInterval: 1, waitTimeout: 30 },
		},
	]),
	feeError: workflow(id16('b2wffee', 2), 'B2COPY fee error', [
		{
			name: 'Fee',
			type: B2COPY,
			credentials,
			onError: 'continueRegularOutput',
			parameters: { resource: 'fee', operation: 'process', accountLogin: '123456', requestId: 'wd-bad-1', waitForCompletion: true, pollInterval: 1, waitTimeout: 30 },
		},
	]),
	tokens: workflow(id16('b2wftok', 1), 'B2COPY tokens', [
		{ name: 'Get Token', type: B2COPY, credentials, parameters: { resource: 'token', operation: 'get' } },
		{ name: 'Refresh Token', type: B2COPY, credentials, parameters: { resource: 'token', operation: 'refresh', refreshToken: '={{ $json.refreshToken }}' } },
	]),
	failures: workflow(id16('b2wffail', 1), 'B2COPY failure paths', [
		...generateItems(3),
		echoNode('Echo Soft', { path: '/api/admin/test/echo', options: { concurrency: 1 } }),
	]),
};
WF.failures.nodes[WF.failures.nodes.length - 1].onError = 'continueRegularOutput';

function itemsOf(result: ExecutionResult, node: string) {
	return result.nodes[node]?.items ?? [];
}

function expectAllEchoed(result: ExecutionResult, node: string, count: number) {
	expect(result.ok, JSON.stringify(result.error)).toBe(true);
	const items = itemsOf(result, node);
	expect(items).toHaveLength(count);
	items.forEach((item, i) => {
		expect((item.json.query as Record<string, unknown>).i).toBe(String(i));
		expect(item.pairedItem).toMatchObject({ item: i });
	});
}

const f = useB2CopyFixture({ accessTokenTtlSec: 900, feePendingPolls: 2 }, { fresh: false });
const n8n = useN8n({
	credentials: () => [{ ...CRED, type: CRED_TYPE, data: { ...f.credentials } }],
	workflows: () => Object.values(WF),
});

describe('B2COPY in n8n 2.41.1', () => {
	it('1,000 items through API Request: 1,000 successes and exactly one token exchange; a second run makes none', async () => {
		f.fake.reset();
		const first = await n8n.execute(WF.api1000.id);
		expectAllEchoed(first, 'B2COPY', 1000);
		expect(f.fake.counters.exchangesOk).toBe(1);
		expect(f.fake.counters.exchanges).toBe(1);

		const stored = (await n8n.exportCredentials()).find((c) => c.id === CRED.id)?.data as Record<string, unknown>;
		expect(f.fake.issuedTokens().access).toContain(stored.accessToken);
		expect(stored.refreshToken).toBeTruthy();
		expect(Number(stored.expiresAt)).toBeGreaterThan(Date.now());

		const second = await n8n.execute(WF.api300.id);
		expectAllEchoed(second, 'B2COPY', 300);
		expect(f.fake.counters.exchanges).toBe(1);
		expect(f.fake.counters.refreshes).toBe(0);
	});

	it.each<[string, () => void, string, number]>([
		['access token expired mid-run: exactly one new exchange, never a refresh, no item lost', () => f.fake.expireAccessTokensAfter(400), WF.api1000.id, 1000],
		[
			'refresh token revoked: renewal does not need it (one exchange, no refresh)',
			() => {
				f.fake.expireAccessTokens();
				f.fake.revokeRefreshTokens();
			},
			WF.api300.id,
			300,
		],
	])('%s', async (_name, before, workflowId, count) => {
		f.fake.reset();
		before();
		const result = await n8n.execute(workflowId);
		expectAllEchoed(result, 'B2COPY', count);
		expect(f.fake.counters.exchangesOk).toBe(1);
		expect(f.fake.counters.exchanges).toBe(1);
		expect(f.fake.counters.refreshes).toBe(0);
	});

	it('Fee → Process: PENDING, PENDING, SUCCESS gives one item with the final status', async () => {
		const result = await n8n.execute(WF.feeOk.id);
		expect(result.ok, JSON.stringify(result.error)).toBe(true);
		const items = itemsOf(result, 'Fee');
		expect(items).toHaveLength(1);
		expect(items[0].json).toMatchObject({ request_id: 'wd-ok-1', status: 2, statusText: 'SUCCESS', polls: 3 });
		expect(f.fake.feePolls('wd-ok-1')).toBe(3);
	});

	it('Fee → Process: a scripted ERROR is an error item under continue-on-fail, with B2COPY\'s message', async () => {
		f.fake.scriptFeeError('wd-bad-1', 'Withdrawal amount exceeds free margin');
		const result = await n8n.execute(WF.feeError.id);
		expect(result.ok).toBe(true);
		const items = itemsOf(result, 'Fee');
		expect(items).toHaveLength(1);
		expect(items[0].json.error).toBe('B2COPY reported ERROR for fee request "wd-bad-1": Withdrawal amount exceeds free margin');
	});

	it('Token → Get and Token → Refresh output a working, rotating pair', async () => {
		const result = await n8n.execute(WF.tokens.id);
		expect(result.ok, JSON.stringify(result.error)).toBe(true);
		const got = itemsOf(result, 'Get Token')[0].json;
		const refreshed = itemsOf(result, 'Refresh Token')[0].json;
		for (const t of [got.accessToken, got.refreshToken, refreshed.accessToken, refreshed.refreshToken]) tokensOutputOnPurpose.add(String(t));
		expect(f.fake.issuedTokens().access).toContain(got.accessToken);
		expect(refreshed.refreshToken).not.toBe(got.refreshToken);
		expect(got.tokenType).toBe('Bearer');
	});

	describe('the credential Test (n8n server)', () => {
		useN8nServer(n8n, 120_000);

		const test = async (name: string, override: Record<string, unknown>) =>
			await n8n.testCredential({ name, type: CRED_TYPE, data: { ...f.credentials, ...override } });

		it('passes with the right inputs', async () => {
			const result = await test('B2COPY ok', {});
			expect(result).toMatchObject({ status: 'OK', message: 'Connection successful!' });
		});

		it('fails with a distinct, actionable message for each wrong input', async () => {
			const cases = {
				wrongKey: await test('B2COPY wrong key', { privateKey: generateEcKeyPair().privatePkcs8Pem }),
				unknownKeyId: await test('B2COPY unknown key id', { keyId: 'no-such-key' }),
				ipNotAllowed: await test('B2COPY ip', { deviceIp: '198.51.100.99' }),
				unreachable: await test('B2COPY unreachable', { host: 'http://127.0.0.1:9' }),
				malformedPem: await test('B2COPY malformed', { privateKey: '-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----' }),
			};
			for (const result of Object.values(cases)) expect(result.status).toBe('Error');
			expect(cases.wrongKey.message).toMatch(/B2COPY refused the sign-in.*HTTP 401.*signature.*Check "Private Key" and "Key ID"/);
			expect(cases.unknownKeyId.message).toMatch(/B2COPY refused the sign-in.*HTTP 401.*Check "Key ID"/);
			expect(cases.ipNotAllowed.message).toMatch(/B2COPY refused the sign-in.*HTTP 403.*Check "Device IP"/);
			expect(cases.unreachable.message).toMatch(/Could not reach B2COPY at 127\.0\.0\.1:9.*connection was refused.*"Host URL"/);
			expect(cases.malformedPem.message).toMatch(/"Private Key" could not be read/);
			const messages = Object.values(cases).map((r) => r.message);
			expect(new Set(messages).size).toBe(messages.length);
		});
	});

	it('no private key, assertion or credential token in any output, error or n8n log', async () => {
		// Drive the failure paths: vendor errors, HTML, garbage, dropped connections, refused sign-ins.
		f.fake.fail({ path: '/api/admin/test/echo', times: 1 }, { status: 500, body: { message: 'boom' } });
		f.fake.fail({ path: '/api/admin/test/echo', skip: 3, times: 1 }, { kind: 'html', status: 502 });
		f.fake.fail({ path: '/api/admin/test/echo', skip: 4, times: 1 }, { kind: 'garbage' });
		const outputs: ExecutionResult[] = [await n8n.execute(WF.failures.id)];
		f.fake.expireAccessTokens();
		f.fake.revokeRefreshTokens();
		await f.fake.removeKey('crm-key-1');
		outputs.push(await n8n.execute(WF.failures.id));
		outputs.push(await n8n.execute(WF.feeOk.id));
		await f.fake.registerKey('crm-key-1', f.keys.publicPem);

		const soft = itemsOf(outputs[1], 'Echo Soft');
		expect(soft).toHaveLength(3);
		expect(String(soft[0].json.error)).toMatch(/B2COPY refused the sign-in.*Key ID/);
		expect(outputs[2].ok).toBe(false);

		const everything = [
			JSON.stringify(outputs.map((o) => ({ nodes: o.nodes, error: o.error }))),
			n8n.logText(),
		].join('\n');
		const { access, refresh } = f.fake.issuedTokens();
		expect(access.length).toBeGreaterThan(2);
		const leaked = [...access, ...refresh].filter((t) => !tokensOutputOnPurpose.has(t) && everything.includes(t));
		expect(leaked).toEqual([]);
		for (const line of f.keys.privatePkcs8Pem.split('\n').filter((l) => l.length > 20)) {
			expect(everything).not.toContain(line);
		}
		expect(everything).not.toContain('external_token":"eyJ');
	});

	it('the package loaded with no warning', () => {
		expect(n8n.loadWarnings()).toEqual([]);
	});
});
