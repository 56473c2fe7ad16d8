import type { IDataObject, INodeExecutionData } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';
import { beforeEach, describe, expect, it } from 'vitest';

import { B2CopyExternalCrmApi } from '../../../credentials/B2CopyExternalCrmApi.credentials';
import { B2Copy } from '../../../nodes/B2Copy/B2Copy.node';
import { useB2CopyFixture } from '../../support/b2copy';
import { credentialStore, many, runNode, type CredentialStore, type NodeParams } from '../../support/context';
import { failure } from '../../support/failure';

const node = new B2Copy();
const credentialType = new B2CopyExternalCrmApi();

const f = useB2CopyFixture({ accessTokenTtlSec: 600 });
let store: CredentialStore;

beforeEach(() => {
	store = credentialStore(credentialType, f.credentials);
});

const run = async (params: NodeParams, items: IDataObject[] = [{}], continueOnFail = false): Promise<INodeExecutionData[]> =>
	await runNode(node, { store, params, items, continueOnFail });

const echo = (i: number) => ({
	resource: 'apiRequest',
	operation: 'request',
	method: 'GET',
	path: '/api/admin/test/echo',
	query: { parameter: [{ name: 'i', value: String(i) }] },
	options: { concurrency: 10 },
});

function expectInOrder(output: INodeExecutionData[], n: number) {
	expect(output).toHaveLength(n);
	output.forEach((item, i) => {
		expect(item.pairedItem).toEqual({ item: i });
		expect((item.json.query as IDataObject).i).toBe(String(i));
	});
}

describe('API Request', () => {
	it('1,000 items: one token exchange, one credential read, order and pairing kept', async () => {
		const output = await run(echo, many(1000));
		expectInOrder(output, 1000);
		expect(f.fake.counters.exchangesOk).toBe(1);
		expect(f.fake.counters.refreshes).toBe(0);
		// One read for the run, one re-check of the store before the first token (client.ts; no
		// renewal lock here: this context has no processed-items store, and no jittered wait in tests).
		expect(store.reads).toBe(2);
		expect(store.writes).toBe(1);
		// A second execution reuses the stored token.
		const again = await run(echo, many(50));
		expectInOrder(again, 50);
		expect(f.fake.counters.exchanges).toBe(1);
	});

	it('token expired mid-run: exactly one new exchange for ten requests in flight, never a refresh, no item lost', async () => {
		await run(echo, many(1));
		f.fake.reset();
		f.fake.expireAccessTokensAfter(300);
		const output = await run(echo, many(1000));
		expectInOrder(output, 1000);
		expect(f.fake.counters.exchangesOk).toBe(1);
		expect(f.fake.counters.exchanges).toBe(1);
		expect(f.fake.counters.refreshes).toBe(0);
		expect(store.writes).toBe(2);
	});

	it('refresh token revoked: renewal does not need it (one exchange, no refresh)', async () => {
		await run(echo, many(1));
		f.fake.reset();
		f.fake.expireAccessTokens();
		f.fake.revokeRefreshTokens();
		const output = await run(echo, many(200));
		expectInOrder(output, 200);
		expect(f.fake.counters.exchangesOk).toBe(1);
		expect(f.fake.counters.refreshes).toBe(0);
	});

	it('renews before sending when the stored expiry has passed (no refused request)', async () => {
		await run(echo, many(1));
		store.data.expiresAt = Date.now() - 1000;
		f.fake.reset();
		await run(echo, many(20));
		expect(f.fake.counters.exchangesOk).toBe(1);
		expect(f.fake.counters.refreshes).toBe(0);
		expect(f.fake.counters.protectedRequests).toBe(20);
		expect(f.fake.counters.protectedOk).toBe(20);
	});

	it('signs in anew when the user edited the credential since the token was stored', async () => {
		await run(echo, many(1));
		await f.fake.registerKey('crm-key-edited', f.keys.publicPem);
		store.data.keyId = 'crm-key-edited';
		f.fake.reset();
		await run(echo, many(5));
		expect(f.fake.counters.exchangesOk).toBe(1);
		expect(f.fake.counters.refreshes).toBe(0);
		expect(f.fake.counters.protectedOk).toBe(5);
	});

	it('429 on every third request: every item once, in order; one shared back-off', async () => {
		f.fake.fail({ path: '/api/admin/test/echo', every: 3 }, { status: 429, headers: { 'Retry-After': '0' }, body: { message: 'slow down' } });
		const output = await run(echo, many(120));
		expectInOrder(output, 120);
	});

	it('concurrency 10 under 429s on a third of the requests and dropped connections: every item once, in order', async () => {
		f.fake.fail({ path: '/api/admin/test/echo', every: 3 }, { status: 429, headers: { 'Retry-After': '0' } });
		f.fake.fail({ path: '/api/admin/test/echo', every: 11 }, { kind: 'drop' });
		const output = await run(echo, many(300));
		expectInOrder(output, 300);
		// Each input was answered once: the echo saw every index, none twice with success.
		const served = f.fake.requests.filter((r) => r.path === '/api/admin/test/echo' && !r.fault).map((r) => String(r.query.i));
		expect(new Set(served).size).toBe(300);
		expect(served).toHaveLength(300);
	});

	it('a Retry-After longer than the node waits fails at once, saying so', async () => {
		f.fake.fail({ path: '/api/admin/test/echo' }, { status: 429, headers: { 'Retry-After': '9999' }, body: { message: 'quota exceeded' } });
		const error = await failure<NodeApiError>(run(echo, many(1)));
		expect(error.message).toBe('B2COPY answered GET /api/admin/test/echo with HTTP 429 Too Many Requests and asked to wait 9999 s, longer than this node waits (120 s): quota exceeded');
		expect(f.fake.requests.filter((r) => r.path === '/api/admin/test/echo')).toHaveLength(1);
	});

	it('gives up after a bounded number of 429s, counting the tries', async () => {
		f.fake.fail({ path: '/api/admin/test/echo', times: 20 }, { status: 429, headers: { 'Retry-After': '0' } });
		const error = await failure<NodeApiError>(run(echo, many(1)));
		expect(error.message).toBe('B2COPY kept answering HTTP 429 Too Many Requests to GET /api/admin/test/echo after 13 tries: Injected fault 429');
		expect(f.fake.requests.filter((r) => r.path === '/api/admin/test/echo')).toHaveLength(13);
	});

	it('retries a dropped GET, never a dropped non-idempotent POST', async () => {
		f.fake.fail({ path: '/api/admin/test/echo', method: 'GET' }, { kind: 'drop' });
		const ok = await run(echo, many(3));
		expectInOrder(ok, 3);

		f.fake.clearLog();
		f.fake.fail({ path: '/api/admin/test/echo', method: 'POST' }, { kind: 'drop' });
		const post = { resource: 'apiRequest', operation: 'request', method: 'POST', path: '/api/admin/test/echo', jsonBody: '{"a":1}' };
		const error = await failure<NodeApiError>(run(post));
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error.message).toMatch(/Could not reach B2COPY for POST \/api\/admin\/test\/echo: the connection was dropped/);
		expect(f.fake.requests.filter((r) => r.method === 'POST' && r.path === '/api/admin/test/echo')).toHaveLength(1);
	});

	it('continue on fail: one error item per failed input, in place, nothing dropped', async () => {
		f.fake.fail({ path: '/api/admin/test/echo', skip: 2, times: 2 }, { status: 400, body: { message: 'Bad account' } });
		const output = await run((i) => ({ ...echo(i), options: { concurrency: 1 } }), many(6), true);
		expect(output).toHaveLength(6);
		output.forEach((item, i) => expect(item.pairedItem).toEqual({ item: i }));
		expect(output[2].json.error).toBe('B2COPY refused GET /api/admin/test/echo (HTTP 400 Bad Request): Bad account');
		expect(output[3].json.error).toMatch(/Bad account/);
		expect((output[4].json.query as IDataObject).i).toBe('4');
	});

	it('a 2xx that is an HTML page or damaged JSON is an error, not an item', async () => {
		f.fake.fail({ path: '/api/admin/test/echo' }, { kind: 'garbage' });
		f.fake.fail({ path: '/api/admin/test/echo', skip: 1 }, { kind: 'html', status: 200 });
		const output = await run((i) => ({ ...echo(i), options: { concurrency: 1 } }), many(3), true);
		expect(output[0].json.error).toBe('B2COPY answered GET /api/admin/test/echo with JSON that could not be read (HTTP 200)');
		expect(output[1].json.error).toMatch(/B2COPY answered GET \/api\/admin\/test\/echo with an HTML page \(HTTP 200\)/);
		expect(output[1].json.description).toMatch(/"Host URL"/);
		expect((output[2].json.query as IDataObject).i).toBe('2');
	});

	it('without continue on fail the error names its item', async () => {
		f.fake.fail({ path: '/api/admin/test/echo', skip: 1 }, { status: 404, body: { message: 'Not found' } });
		const error = await failure<NodeApiError>(run((i) => ({ ...echo(i), options: { concurrency: 1 } }), many(3)));
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error.context.itemIndex).toBe(1);
		expect(error.httpCode).toBe('404');
	});

	it('refuses a path on another host and a bad JSON body, as parameter errors', async () => {
		const other = await failure<NodeOperationError>(run({ ...echo(0), path: 'https://evil.example.com/steal' }));
		expect(other).toBeInstanceOf(NodeOperationError);
		expect(other.message).toMatch(/points at evil\.example\.com/);
		const body = await failure<NodeOperationError>(run({ ...echo(0), method: 'POST', jsonBody: '{nope' }));
		expect(body.message).toBe('The "JSON Body" parameter is not a JSON object');
		expect(f.fake.counters.protectedRequests).toBe(0);
	});

	it('a refused sign-in fails every item with the same message, signing in only once', async () => {
		store = credentialStore(credentialType, { ...f.credentials, adminId: '777' });
		const output = await run(echo, many(30), true);
		expect(output).toHaveLength(30);
		for (const item of output) expect(item.json.error).toMatch(/B2COPY refused the sign-in \(token exchange\) \(HTTP 403 Forbidden\).*Admin ID/);
		expect(f.fake.counters.exchanges).toBe(1);
	});
});

describe('Fee → Process', () => {
	const fee = (requestId: string, extra: Record<string, unknown> = {}) => ({
		resource: 'fee',
		operation: 'process',
		accountLogin: '123456',
		requestId,
		waitForCompletion: true,
		pollInterval: 1,
		waitTimeout: 10,
		...extra,
	});

	it('PENDING, PENDING, SUCCESS → one item with the final status', async () => {
		const output = await run(fee('req-ok'));
		expect(output).toHaveLength(1);
		expect(output[0].json).toMatchObject({ account_login: '123456', request_id: 'req-ok', status: 2, statusText: 'SUCCESS', polls: 3 });
		expect(f.fake.feePolls('req-ok')).toBe(3);
	});

	it('without waiting, outputs the first answer', async () => {
		const output = await run(fee('req-nowait', { waitForCompletion: false }));
		expect(output[0].json).toMatchObject({ status: 1, statusText: 'PENDING' });
	});

	it('scripted ERROR → an error item under continue on fail with B2COPY\'s message', async () => {
		f.fake.scriptFeeError('req-bad', 'Insufficient funds on account');
		const output = await run(fee('req-bad'), [{}], true);
		expect(output).toHaveLength(1);
		expect(output[0].json.error).toBe('B2COPY reported ERROR for fee request "req-bad": Insufficient funds on account');
		expect(output[0].pairedItem).toEqual({ item: 0 });
	});

	it('gives up after the wait timeout, telling the user the request ID is safe to reuse', async () => {
		const error = await failure<NodeOperationError>(run(fee('req-slow', { waitTimeout: 1, pollInterval: 1 })));
		f.fake.settings.feePendingPolls = 2;
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(error.message).toMatch(/still PENDING/);
		expect(error.description).toMatch(/same request ID/);
	});

	it('resends the same request ID after a dropped connection (idempotent)', async () => {
		f.fake.fail({ path: /processext/ }, { kind: 'drop' });
		const output = await run(fee('req-drop'));
		expect(output[0].json.statusText).toBe('SUCCESS');
	});
});

describe('Token operations', () => {
	it('Token → Get outputs a working pair; Token → Refresh rotates it', async () => {
		const [got] = await run({ resource: 'token', operation: 'get' });
		expect(got.json).toMatchObject({ tokenType: 'Bearer' });
		expect(f.fake.issuedTokens().access).toContain(got.json.accessToken);
		expect(Number(got.json.expiresIn)).toBeGreaterThan(500);
		const [refreshed] = await run({ resource: 'token', operation: 'refresh', refreshToken: got.json.refreshToken });
		expect(refreshed.json.refreshToken).not.toBe(got.json.refreshToken);
		const error = await failure<NodeApiError>(run({ resource: 'token', operation: 'refresh', refreshToken: got.json.refreshToken }));
		expect(error.message).toMatch(/B2COPY refused the token refresh \(HTTP 401 Unauthorized\): "Invalid refresh token"/);
		expect(error.message).not.toContain(String(got.json.refreshToken));
	});

	it('Token → Get with a malformed key is a parameter error naming the field', async () => {
		store = credentialStore(credentialType, { ...f.credentials, privateKey: '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----' });
		const error = await failure<NodeOperationError>(run({ resource: 'token', operation: 'get' }));
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(error.message).toMatch(/"Private Key" could not be read/);
	});
});

describe('secrets never leak', () => {
	it('no key, assertion or token in any output or error of the failure paths', async () => {
		const outputs: unknown[] = [];
		const collect = async (params: Record<string, unknown> | ((i: number) => Record<string, unknown>), items: IDataObject[] = [{}]) => {
			try {
				outputs.push(await run(params, items, true));
			} catch (error) {
				const e = error as NodeApiError;
				outputs.push({ message: e.message, description: e.description, context: e.context });
			}
		};
		await collect(echo, many(3));
		f.fake.expireAccessTokens();
		await collect(echo, many(3));
		f.fake.fail({ path: '/api/admin/test/echo' }, { kind: 'html', status: 502 });
		await collect(echo);
		f.fake.fail({ path: '/api/admin/test/echo' }, { kind: 'garbage' });
		await collect(echo);
		f.fake.fail({ path: '/api/admin/test/echo' }, { status: 401, body: { message: 'nope' } });
		f.fake.fail({ path: '/api/admin/test/echo' }, { status: 401, body: { message: 'nope' } });
		await collect(echo);
		f.fake.fail({ path: '/api/admin/test/echo' }, { kind: 'drop' });
		await collect({ ...echo(0), method: 'POST' });
		f.fake.scriptFeeError('leak-1', 'boom');
		await collect({ resource: 'fee', operation: 'process', accountLogin: '1', requestId: 'leak-1', pollInterval: 1 });
		for (const override of [{ adminId: '1' }, { deviceIp: '10.0.0.1' }, { keyId: 'x' }, { host: 'http://127.0.0.1:9' }] as Array<Record<string, string>>) {
			store = credentialStore(credentialType, { ...f.credentials, ...override });
			await collect(echo);
		}
		const text = JSON.stringify(outputs);
		expect(text).toContain('B2COPY');
		const { access, refresh } = f.fake.issuedTokens();
		expect(access.length).toBeGreaterThan(0);
		for (const token of [...access, ...refresh]) expect(text).not.toContain(token);
		for (const line of f.keys.privatePkcs8Pem.split('\n').filter((l) => l.length > 20)) expect(text).not.toContain(line);
		expect(text).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
		expect(text).not.toMatch(/Bearer [A-Za-z0-9]/);
	});
});
