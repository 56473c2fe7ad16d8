// @ts-ignore -- luxon (n8n's date library, what {{ $now }} returns) ships without types here
import { DateTime } from 'luxon';
import type { IBinaryData, IDataObject, INodeExecutionData } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { VirtualPbxTrustedAppApi } from '../../../credentials/VirtualPbxTrustedAppApi.credentials';
import { VirtualPbx } from '../../../nodes/VirtualPbx/VirtualPbx.node';
import { PBX_MAX_PER_PAGE, PBX_PATHS, PBX_STATS_CONCURRENT_MESSAGE, type PbxCall } from '../../fakes/pbx';
import { startFakeServer, send } from '../../fakes/common';
import { credentialStore, many, runNode, type CredentialStore, type NodeParams } from '../../support/context';
import { failure } from '../../support/failure';
import { authorizePublicApp, createTrustedApp, usePbxFixture } from '../../support/pbx';

const node = new VirtualPbx();
const credentialType = new VirtualPbxTrustedAppApi();

const f = usePbxFixture();
let store: CredentialStore;
let calls: PbxCall[];
let records: Array<{ call_uuid: string; record_uuid: string }>;
let client: string;

const API = PBX_PATHS.api;
const ALL_TIME = { start: '2000-01-01T00:00:00Z', end: '' };

beforeAll(() => {
	calls = f.fake.allCalls();
	records = calls.flatMap((c) => c.cdr.map((r) => ({ call_uuid: c.call_uuid, record_uuid: r.record_uuid })));
	client = String(f.fake.user.client_id);
	historyPath = `${API}/client/${client}/call_history/`;
});
beforeEach(() => {
	f.fake.clearLostAnswers();
	f.fake.settings.statsRetryAfterSec = undefined;
	store = credentialStore(credentialType, f.credentials);
});

async function run(
	params: NodeParams,
	items: IDataObject[] = [{}],
	options: { continueOnFail?: boolean; timezone?: string } = {},
): Promise<INodeExecutionData[]> {
	return await runNode(node, {
		store,
		items,
		continueOnFail: options.continueOnFail,
		timezone: options.timezone,
		params: (i) => ({ authentication: 'trustedApp', ...(typeof params === 'function' ? params(i) : params) }),
	});
}

/** The PBX's `YYYY-MM-DD HH:MM:SS` GMT → ISO 8601 UTC, written out here independently of the node. */
const iso = (gmt: string | null) => (gmt === null ? null : `${gmt.slice(0, 10)}T${gmt.slice(11, 19)}.000Z`);
/** The external party's number, written out here independently of the node (the fake's numbers are never withheld). */
const externalOf = (call: PbxCall) => (call.flow === 'out' ? call.to_username : call.flow === 'in' ? call.from_username : '');
/** A fake call as the node outputs it: `x_time` (ISO) beside each `x_time_gmt`, in legs too, the external number, in_progress. */
function withIso(call: PbxCall): IDataObject {
	return {
		...call,
		external_number: externalOf(call),
		in_progress: false,
		start_time: iso(call.start_time_gmt),
		answer_time: iso(call.answer_time_gmt),
		end_time: iso(call.end_time_gmt),
		cdr: call.cdr.map((leg) => ({ ...leg, start_time: iso(leg.start_time_gmt), end_time: iso(leg.end_time_gmt) })),
	} as unknown as IDataObject;
}

const getMe = { resource: 'user', operation: 'getMe' };
const history = (extra: Record<string, unknown> = {}) => ({
	resource: 'callHistory',
	operation: 'getMany',
	...ALL_TIME,
	returnAll: true,
	order: 'asc',
	...extra,
});
let historyPath: string;
const statsRequests = () => f.fake.requests.filter((r) => /\/call_history\//.test(r.path) || /\/record\/$/.test(r.path));
const grants = () => f.fake.counters.grants.client_credentials;

function expectPaired(output: INodeExecutionData[], n: number) {
	expect(output).toHaveLength(n);
	output.forEach((item, i) => expect(item.pairedItem).toEqual({ item: i }));
}

describe('trusted-app tokens through n8n\'s credential path', () => {
	it('1,000 items through User → Get Me: one client_credentials grant; a second execution: none', async () => {
		const output = await run(getMe, many(1000));
		expectPaired(output, 1000);
		for (const item of output) expect(item.json).toMatchObject({ client_id: f.fake.user.client_id, login: f.fake.user.login });
		expect(grants()).toEqual({ attempted: 1, ok: 1 });
		expect(f.fake.counters.tokenRequests).toBe(1);
		// One read for the run, one re-check of the store before the first token (client.ts; no
		// renewal lock here: this context has no processed-items store, and no jittered wait in tests).
		expect(store.reads).toBe(2);
		expect(store.writes).toBe(1);
		expect(f.fake.issuedTokens().access).toContain(store.data.accessToken);

		f.fake.reset();
		const again = await run(getMe, many(20));
		expectPaired(again, 20);
		expect(f.fake.counters.tokenRequests).toBe(0);
		expect(f.fake.counters.apiUnauthorized).toBe(0);
	});

	it('token expires mid-run, concurrency 10: exactly one new grant, no item lost, order kept', async () => {
		await run(getMe);
		f.fake.reset();
		f.fake.expireTokensAfter(300);
		// One request per item (identical lookups would otherwise share one: shared/reuse.ts).
		const output = await run({ ...getMe, options: { concurrency: 10, reuseLookups: false } }, many(1000));
		expectPaired(output, 1000);
		for (const item of output) expect(item.json.client_id).toBe(f.fake.user.client_id);
		expect(grants()).toEqual({ attempted: 1, ok: 1 });
		expect(f.fake.counters.apiUnauthorized).toBeGreaterThan(0);
		expect(f.fake.counters.apiUnauthorized).toBeLessThanOrEqual(10);
		expect(f.fake.counters.apiOk).toBe(1000);
		expect(store.writes).toBe(2);
	});

	it('token expires mid-run with per-item answers (Recording → Get URL): each output belongs to its input', async () => {
		const wanted = records.slice(0, 400);
		await run(getMe);
		f.fake.reset();
		f.fake.expireTokensAfter(150);
		const output = await run(
			(i) => ({ resource: 'recording', operation: 'getUrl', recordUuid: wanted[i].record_uuid, options: { concurrency: 10 } }),
			wanted.map((r) => ({ ...r })),
		);
		expectPaired(output, 400);
		output.forEach((item, i) => {
			expect(item.json.record_uuid).toBe(wanted[i].record_uuid);
			expect(String(item.json.record_url)).toContain(`/storage/${wanted[i].record_uuid}.mp3?`);
		});
		expect(grants()).toEqual({ attempted: 1, ok: 1 });
	});

	it('renews before sending when the stored expiry has passed (no refused request)', async () => {
		await run(getMe);
		store.data.expiresAt = Date.now() - 1000;
		f.fake.reset();
		await run(getMe, many(20));
		expect(grants()).toEqual({ attempted: 1, ok: 1 });
		expect(f.fake.counters.apiUnauthorized).toBe(0);
	});

	it('gets a token for the new app when the user edited App ID / App Secret since the token was stored', async () => {
		await run(getMe);
		const second = await createTrustedApp(f.fake, (await authorizePublicApp(f.fake)).accessToken, 'second app');
		store.data.appId = second.id;
		store.data.appSecret = second.secret;
		f.fake.reset();
		f.fake.clearLog();
		await run(getMe, many(5));
		expect(grants()).toEqual({ attempted: 1, ok: 1 });
		const [grant] = f.fake.requestsTo(PBX_PATHS.token, 'POST');
		expect(new URLSearchParams(grant.rawBody).get('client_id')).toBe(second.id);
		expect(f.fake.counters.apiUnauthorized).toBe(0);
	});

	it('a wrong secret fails every item with one sentence naming "App ID"/"App Secret", asking once', async () => {
		store = credentialStore(credentialType, { ...f.credentials, appSecret: 'wrong-secret-9f8e7d6c' });
		const output = await run({ ...getMe, options: { concurrency: 10 } }, many(30), { continueOnFail: true });
		expectPaired(output, 30);
		for (const item of output) {
			expect(item.json.error).toMatch(/refused the trusted application's token request \(HTTP 401 Unauthorized\).*"App ID" and "App Secret"/);
			expect(JSON.stringify(item.json)).not.toContain('wrong-secret-9f8e7d6c');
		}
		expect(f.fake.counters.tokenRequests).toBe(1);
		expect(f.fake.counters.apiRequests).toBe(0);
	});

	it('a host that is a web site, or nothing at all, is reported naming "Host URL"', async () => {
		const site = await startFakeServer(({ res }) => send(res, 200, '<html><body>Hello</body></html>', { 'content-type': 'text/html' }));
		const url = site.url;
		try {
			store = credentialStore(credentialType, { ...f.credentials, host: url });
			const html = await failure<NodeApiError>(run(getMe));
			expect(html).toBeInstanceOf(NodeApiError);
			expect(html.message).toContain('"Host URL"');
			expect(html.context.itemIndex).toBe(0);
		} finally {
			await site.close();
		}
		store = credentialStore(credentialType, { ...f.credentials, host: url });
		const refused = await failure<NodeApiError>(run(getMe));
		expect(refused.message).toMatch(/connection was refused.*"Host URL"/);
	});

	it('empty App ID: a parameter-style error and no request at all', async () => {
		store = credentialStore(credentialType, { ...f.credentials, appId: '' });
		const error = await failure<NodeOperationError>(run(getMe));
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(error.message).toContain('"App ID"');
		expect(f.fake.requests).toHaveLength(0);
	});
});

describe('Call History → Get Many', () => {
	it.each([
		['without Retry-After', undefined, PBX_MAX_PER_PAGE],
		['with Retry-After: 0', { 'Retry-After': '0' }, PBX_MAX_PER_PAGE],
		['a PBX refusing per_page above 100', { 'Retry-After': '0' }, 100],
	])(
		'Return All: 5,000 calls at the largest page the PBX accepts while every third statistics request gets 429 (%s)',
		async (_, headers, maxPerPage) => {
			f.fake.listing.maxPerPage = maxPerPage;
			try {
				f.fake.fail({ path: /\/call_history\/?$/, every: 3 }, { status: 429, body: { message: PBX_STATS_CONCURRENT_MESSAGE }, headers });
				const output = await run(history());
				expect(output).toHaveLength(5000);
				const uuids = output.map((item) => item.json.call_uuid as string);
				expect(new Set(uuids).size).toBe(5000);
				expect(uuids).toEqual(calls.map((c) => c.call_uuid));
				output.forEach((item) => expect(item.pairedItem).toEqual({ item: 0 }));
				const pages = f.fake.requestsTo(historyPath, 'GET');
				expect(pages.filter((r) => r.fault === 'status').length).toBeGreaterThanOrEqual(3);
				const answered = pages.filter((r) => r.fault === undefined);
				// Sizes above the PBX's maximum are refused once each (400), then every page is asked at its maximum.
				const refusedSizes = answered.filter((r) => Number(r.query.per_page) > maxPerPage).map((r) => r.query.per_page);
				expect(refusedSizes).toEqual(['500', '200'].filter((size) => Number(size) > maxPerPage));
				const served = answered.filter((r) => Number(r.query.per_page) <= maxPerPage);
				expect(served.map((r) => Number(r.query.page))).toEqual(Array.from({ length: 5000 / maxPerPage + 1 }, (_, i) => i + 1));
				for (const r of served) expect(r.query).toMatchObject({ per_page: String(maxPerPage), order: 'asc' });
				expect(f.fake.counters.statsMaxConcurrent).toBe(1);
				expect(f.fake.counters.statsConcurrentRefusals).toBe(0);
			} finally {
				f.fake.listing.maxPerPage = PBX_MAX_PER_PAGE;
			}
		},
		60_000,
	);

	it('Limit 120: one request of 120, not pages of the maximum', async () => {
		const output = await run(history({ returnAll: false, limit: 120 }));
		expect(output.map((item) => item.json.call_uuid)).toEqual(calls.slice(0, 120).map((c) => c.call_uuid));
		expect(f.fake.requestsTo(historyPath, 'GET').map((r) => [r.query.page, r.query.per_page])).toEqual([['1', '120']]);
	});

	it('a 400 that is not about the page size is reported after the smaller sizes, never retried beyond them', async () => {
		f.fake.fail({ path: /\/call_history\/?$/, times: 10 }, { status: 400, body: { message: 'flow must be one of in, out, internal' } });
		const error = await failure<NodeApiError>(run(history()));
		expect(error.message).toMatch(/flow must be one of/);
		expect(error.description).toMatch(/"Filters"/);
		expect(f.fake.requestsTo(historyPath, 'GET').map((r) => r.query.per_page)).toEqual(['500', '200', '100', '50', '20']);
	});

	it('several items with concurrency 10: statistics requests still never overlap', async () => {
		const flows = ['in', 'out', 'internal'];
		f.fake.fail({ path: /\/call_history\/?$/, every: 5 }, { status: 429, body: { message: PBX_STATS_CONCURRENT_MESSAGE }, headers: { 'Retry-After': '0' } });
		const output = await run(
			(i) => history({ returnAll: false, limit: 250, filters: { flow: flows[i % 3] }, options: { concurrency: 10 } }),
			many(8),
		);
		expect(output).toHaveLength(8 * 250);
		for (let i = 0; i < 8; i++) {
			const mine = output.slice(i * 250, (i + 1) * 250);
			const expected = calls.filter((c) => c.flow === flows[i % 3]).slice(0, 250);
			expect(mine.map((item) => item.json.call_uuid)).toEqual(expected.map((c) => c.call_uuid));
			mine.forEach((item) => expect(item.pairedItem).toEqual({ item: i }));
		}
		expect(f.fake.counters.statsMaxConcurrent).toBe(1);
		expect(f.fake.counters.statsConcurrentRefusals).toBe(0);
	});

	it('Call → Get for many items at once: never two statistics requests at a time', async () => {
		const wanted = calls.slice(100, 130);
		const output = await run((i) => ({ resource: 'call', operation: 'get', callUuid: wanted[i].call_uuid, options: { concurrency: 10 } }), many(30));
		expectPaired(output, 30);
		output.forEach((item, i) => expect(item.json).toEqual(withIso(wanted[i])));
		expect(f.fake.counters.statsMaxConcurrent).toBe(1);
	});

	it('Limit 30 → the first 30 calls, one page asked', async () => {
		const output = await run(history({ returnAll: false, limit: 30 }));
		expect(output.map((item) => item.json.call_uuid)).toEqual(calls.slice(0, 30).map((c) => c.call_uuid));
		expect(f.fake.requestsTo(historyPath)).toHaveLength(1);
	});

	it('Newest First asks order=desc', async () => {
		const output = await run(history({ returnAll: false, limit: 5, order: 'desc' }));
		expect(output.map((item) => item.json.call_uuid)).toEqual(calls.slice(-5).reverse().map((c) => c.call_uuid));
	});

	it.each([
		['picker value without zone, in the workflow timezone', '2024-05-01T09:30:00', 'Europe/Moscow', '2024-05-01 06:30:00'],
		['picker value without zone, New York summer', '2024-05-01T02:30:00', 'America/New_York', '2024-05-01 06:30:00'],
		['ISO with Z (zone ignored)', '2024-05-01T06:30:00Z', 'Asia/Tokyo', '2024-05-01 06:30:00'],
		['ISO with offset', '2024-05-01T09:30:00+03:00', 'UTC', '2024-05-01 06:30:00'],
		['epoch seconds', 1714545000, 'Europe/Moscow', '2024-05-01 06:30:00'],
		['epoch milliseconds as text', '1714545000000', 'Europe/Moscow', '2024-05-01 06:30:00'],
		['a Luxon DateTime from an expression', DateTime.fromISO('2024-05-01T09:30:00', { zone: 'Europe/Moscow' }), 'UTC', '2024-05-01 06:30:00'],
	])('Start as %s → GMT in the request', async (_, start, timezone, expected) => {
		await run(history({ start, end: '2024-06-01T00:00:00Z', returnAll: false, limit: 1 }), [{}], { timezone });
		const [request] = f.fake.requestsTo(historyPath);
		expect(request.query.start_datetime).toBe(expected);
		expect(request.query.end_datetime).toBe('2024-06-01 00:00:00');
	});

	it('End in the workflow timezone, and an empty End means now', async () => {
		await run(history({ start: '2024-01-01', end: '2024-05-02 12:00', returnAll: false, limit: 1 }), [{}], { timezone: 'America/New_York' });
		expect(f.fake.requestsTo(historyPath)[0].query).toMatchObject({
			start_datetime: '2024-01-01 05:00:00',
			end_datetime: '2024-05-02 16:00:00',
		});
		f.fake.clearLog();
		const before = Date.now();
		await run(history({ returnAll: false, limit: 1 }));
		const end = Date.parse(`${String(f.fake.requestsTo(historyPath)[0].query.end_datetime).replace(' ', 'T')}Z`);
		expect(end).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
		expect(end).toBeLessThanOrEqual(Date.now());
	});

	it('Start after End, an empty Start or a non-date are parameter errors, sent nowhere', async () => {
		const after = await failure<NodeOperationError>(run(history({ start: '2024-05-02T00:00:00Z', end: '2024-05-01T00:00:00Z' })));
		expect(after).toBeInstanceOf(NodeOperationError);
		expect(after.message).toBe('"Start" (2024-05-02 00:00:00 GMT) is after "End" (2024-05-01 00:00:00 GMT)');
		expect(after.context.itemIndex).toBe(0);
		const empty = await failure<NodeOperationError>(run(history({ start: '' })));
		expect(empty.message).toBe('The "Start" parameter is empty');
		const word = await failure<NodeOperationError>(run(history({ end: 'yesterday' })));
		expect(word).toBeInstanceOf(NodeOperationError);
		expect(word.message).toMatch(/"End" parameter "yesterday" is not a date/);
		expect(statsRequests()).toHaveLength(0);
	});

	it('filters (direction, extension, numbers) reach the query and the answer', async () => {
		const sample = calls.find((c) => c.flow === 'out' && c.extension_id === 1002) as PbxCall;
		const output = await run(
			history({
				returnAll: false,
				limit: 10,
				filters: { flow: 'out', extensionId: ' 1002 ', toUsername: sample.to_username, fromUsername: sample.from_username },
			}),
		);
		const [request] = f.fake.requestsTo(historyPath);
		expect(request.query).toMatchObject({
			flow: 'out',
			extension_id: '1002',
			to_username: sample.to_username,
			from_username: sample.from_username,
		});
		expect(output.map((item) => item.json.call_uuid)).toContain(sample.call_uuid);
		for (const item of output) expect(item.json).toMatchObject({ flow: 'out', extension_id: 1002, to_username: sample.to_username });
	});
});

describe('calls, recordings, extensions, subscriptions, applications', () => {
	it('Call → Get returns the call; an unknown UUID is the PBX\'s 404 message', async () => {
		const [output] = await run({ resource: 'call', operation: 'get', callUuid: calls[42].call_uuid });
		expect(output.json).toEqual(withIso(calls[42]));
		const error = await failure<NodeApiError>(run({ resource: 'call', operation: 'get', callUuid: 'no-such-call' }));
		expect(error.message).toBe('The PBX refused reading call no-such-call (HTTP 404 Not Found): Not found');
		const path = await failure<NodeOperationError>(run({ resource: 'call', operation: 'get', callUuid: '../user' }));
		expect(path).toBeInstanceOf(NodeOperationError);
	});

	it('Recording → Get Many lists {call_uuid, record_uuid} in the window', async () => {
		const output = await run({ resource: 'recording', operation: 'getMany', ...ALL_TIME, returnAll: false, limit: 150, order: 'asc' });
		expect(output.map((item) => item.json)).toEqual(records.slice(0, 150));
		expect(f.fake.requestsTo(`${API}/client/${client}/record/`).map((r) => [r.query.page, r.query.per_page])).toEqual([['1', '150']]);
		f.fake.clearLog();
		const all = await run({ resource: 'recording', operation: 'getMany', ...ALL_TIME, returnAll: true, order: 'asc' });
		expect(all.map((item) => item.json)).toEqual(records);
		expect(f.fake.requestsTo(`${API}/client/${client}/record/`).every((r) => r.query.per_page === '500')).toBe(true);
	});

	it('Recording → Get URL gives a working storage URL', async () => {
		const { record_uuid } = records[7];
		const [output] = await run({ resource: 'recording', operation: 'getUrl', recordUuid: record_uuid });
		expect(output.json.record_uuid).toBe(record_uuid);
		const audio = Buffer.from(await (await fetch(String(output.json.record_url))).arrayBuffer());
		expect(audio.equals(f.fake.audioOf(record_uuid))).toBe(true);
	});

	it('Recording → Download: the exact bytes as binary data, with MIME type and file name', async () => {
		const wanted = [records[3], records[9]];
		const output = await run(
			(i) => ({ resource: 'recording', operation: 'download', recordUuid: wanted[i].record_uuid, binaryPropertyName: 'audio' }),
			many(2),
		);
		expectPaired(output, 2);
		output.forEach((item, i) => {
			const uuid = wanted[i].record_uuid;
			const expected = f.fake.audioOf(uuid);
			const binary = item.binary?.audio as IBinaryData;
			expect(Buffer.from(binary.data, 'base64').equals(expected)).toBe(true);
			expect(binary.mimeType).toBe('audio/mpeg');
			expect(binary.fileName).toBe(`${uuid}.mp3`);
			expect(item.json).toEqual({ record_uuid: uuid, fileName: `${uuid}.mp3`, mimeType: 'audio/mpeg', size: expected.length });
		});
		expect(f.fake.counters.recordDownloads).toBe(2);
	});

	it('Extension → Get Many: all, or one type', async () => {
		const all = await run({ resource: 'extension', operation: 'getMany', extensionType: '', returnAll: true });
		expect(all.map((item) => item.json)).toEqual(f.fake.extensions());
		const phones = await run({ resource: 'extension', operation: 'getMany', extensionType: 'phone', returnAll: false, limit: 2 });
		expect(phones.map((item) => item.json.id)).toEqual([1001, 1002]);
		expect(f.fake.requestsTo(`${API}/client/${client}/extension/`).at(-1)?.query).toMatchObject({ type: 'phone' });
	});

	it('Event Subscription: create (201), get many, delete (204)', async () => {
		const url = 'https://n8n.example.com/webhook/pbx-events';
		const [created] = await run({ resource: 'eventSubscription', operation: 'create', extensionId: '1001', eventType: 'hangup', url });
		expect(created.json).toMatchObject({ url, event_type: 'hangup', method: 'POST' });
		expect(typeof created.json.id).toBe('number');
		const listed = await run({ resource: 'eventSubscription', operation: 'getMany', extensionId: '1001' });
		expect(listed.map((item) => item.json)).toEqual([created.json]);
		const [deleted] = await run({ resource: 'eventSubscription', operation: 'delete', extensionId: '1001', subscriptionId: String(created.json.id) });
		expect(deleted.json).toEqual({ deleted: true, id: String(created.json.id), extensionId: '1001' });
		expect(f.fake.subscriptions()).toEqual([]);
		expect(f.fake.counters.subscriptionsCreated).toBe(1);
		expect(f.fake.counters.subscriptionsDeleted).toBe(1);
		const bad = await failure<NodeOperationError>(run({ resource: 'eventSubscription', operation: 'create', extensionId: '1001', eventType: 'hangup', url: 'not a url' }));
		expect(bad).toBeInstanceOf(NodeOperationError);
	});

	it('Application → Create Trusted outputs id, secret and a hint; a credential made from them gets tokens', async () => {
		const [output] = await run({ resource: 'application', operation: 'createTrusted', name: 'from n8n' });
		expect(Object.keys(output.json).sort()).toEqual(['hint', 'id', 'name', 'secret', 'type']);
		expect(output.json).toMatchObject({ name: 'from n8n', type: 'trusted' });
		expect(output.json.hint).toMatch(/Virtual PBX Trusted App API/);
		const app = f.fake.applications().find((a) => a.clientId === output.json.id);
		expect(app).toMatchObject({ secret: output.json.secret, type: 'trusted' });
		expect(f.fake.counters.applicationsCreated).toBe(1);

		f.fake.reset();
		f.fake.clearLog();
		store = credentialStore(credentialType, { host: f.fake.url, appId: String(output.json.id), appSecret: String(output.json.secret) });
		const [me] = await run(getMe);
		expect(me.json.client_id).toBe(f.fake.user.client_id);
		expect(grants()).toEqual({ attempted: 1, ok: 1 });
		expect(new URLSearchParams(f.fake.requestsTo(PBX_PATHS.token)[0].rawBody).get('client_id')).toBe(output.json.id);
	});

	it('Call → Make (click-to-call) sends src_num, dst_num and caller_id_name', async () => {
		const [output] = await run({
			resource: 'call',
			operation: 'make',
			extensionId: '1001',
			srcNumbers: '101, +15551230000',
			dstNumber: ' +15559870000 ',
			callerIdName: 'ACME lead',
		});
		const [callback] = f.fake.callbacks();
		expect(f.fake.callbacks()).toHaveLength(1);
		expect(callback.extensionId).toBe(1001);
		expect(callback.body).toEqual({ src_num: ['101', '+15551230000'], dst_num: '+15559870000', caller_id_name: 'ACME lead' });
		expect(output.json).toEqual({ call_api_id: callback.call_api_id, call_id: callback.call_id });
	});

	it('a Make whose answer is lost is reported, never resent (the phones may be ringing)', async () => {
		await run(getMe);
		f.fake.clearLog();
		f.fake.loseAnswers({ path: /\/callback\/?$/ });
		const error = await failure<NodeApiError>(
			run({ resource: 'call', operation: 'make', extensionId: '1001', srcNumbers: '101', dstNumber: '+15559870000' }),
		);
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error.message).toBe('Could not reach The PBX for the call from extension 1001 to +15559870000: the connection was dropped before an answer came');
		expect(error.context.itemIndex).toBe(0);
		expect(f.fake.callbacks()).toHaveLength(1);
		expect(f.fake.requestsTo(`${API}/extension/1001/callback/`)).toHaveLength(1);
	});

	it('a Make dropped before the PBX saw it is not resent either', async () => {
		f.fake.fail({ path: `${API}/extension/1001/callback/` }, { kind: 'drop' });
		await failure(run({ resource: 'call', operation: 'make', extensionId: '1001', srcNumbers: '101', dstNumber: '+15559870000' }));
		expect(f.fake.requestsTo(`${API}/extension/1001/callback/`)).toHaveLength(1);
		expect(f.fake.callbacks()).toHaveLength(0);
	});

	it('a dropped GET is retried (before or after the PBX handled it)', async () => {
		const path = `${API}/client/${client}/extension/`;
		f.fake.fail({ path }, { kind: 'drop' });
		// Each run: the dropped request, its retry, and page 2 (empty: a short first page may be
		// the server's cap, not the end).
		const first = await run({ resource: 'extension', operation: 'getMany', returnAll: true });
		expect(first).toHaveLength(6);
		expect(f.fake.requestsTo(path)).toHaveLength(3);
		f.fake.clearLog();
		f.fake.loseAnswers({ path });
		const second = await run({ resource: 'extension', operation: 'getMany', returnAll: true });
		expect(second).toHaveLength(6);
		expect(f.fake.requestsTo(path)).toHaveLength(3);
	});
});

describe('failures per item', () => {
	const getCall = (uuids: string[]) => (i: number) => ({ resource: 'call', operation: 'get', callUuid: uuids[i] });

	it('continue on fail: one error item per failed input, in place, with the PBX\'s message', async () => {
		const uuids = [calls[0].call_uuid, 'missing-1', calls[1].call_uuid, 'missing-2', calls[2].call_uuid];
		const output = await run(getCall(uuids), many(5), { continueOnFail: true });
		expectPaired(output, 5);
		expect(output[0].json.call_uuid).toBe(calls[0].call_uuid);
		expect(output[1].json).toEqual({ error: 'The PBX refused reading call missing-1 (HTTP 404 Not Found): Not found', httpCode: '404' });
		expect(output[2].json.call_uuid).toBe(calls[1].call_uuid);
		expect(output[3].json.error).toMatch(/missing-2 \(HTTP 404 Not Found\): Not found/);
		expect(output[4].json.call_uuid).toBe(calls[2].call_uuid);
	});

	it('continue on fail: a refused subscription and a parameter error each give their own item', async () => {
		const output = await run(
			(i) => ({
				resource: 'eventSubscription',
				operation: 'create',
				extensionId: ['1001', '9999', '1002'][i],
				eventType: 'answer',
				url: i === 2 ? 'ftp://nope' : 'https://n8n.example.com/hook',
			}),
			many(3),
			{ continueOnFail: true },
		);
		expectPaired(output, 3);
		expect(output[0].json.event_type).toBe('answer');
		expect(output[1].json.error).toBe('The PBX refused subscribing to answer events of extension 9999 (HTTP 404 Not Found): Not found');
		expect(output[2].json.error).toBe('The "URL" parameter "ftp://nope" is not an http(s) URL');
	});

	it('a 2xx that is not an API answer (damaged JSON, an HTML page) is an error, never a string item', async () => {
		f.fake.fail({ path: `${API}/user/` }, { kind: 'garbage' });
		f.fake.fail({ path: `${API}/user/` }, { kind: 'html', status: 200 });
		const output = await run((i) => ({ ...getMe, options: { concurrency: 1 } }), many(3), { continueOnFail: true });
		expectPaired(output, 3);
		expect(output[0].json).toMatchObject({ error: 'The PBX answered reading the current user with JSON that could not be read (HTTP 200)', httpCode: '200' });
		expect(output[1].json).toMatchObject({ error: 'The PBX answered reading the current user with an HTML page (HTTP 200), not an API answer' });
		expect(output[1].json.description).toMatch(/"Host URL"/);
		expect(output[2].json.client_id).toBe(f.fake.user.client_id);
		for (const item of output) expect(typeof item.json).toBe('object');
	});

	it('without continue on fail the error names its item', async () => {
		const error = await failure<NodeApiError>(run(getCall([calls[0].call_uuid, 'missing', calls[1].call_uuid]), many(3)));
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error.context.itemIndex).toBe(1);
		expect(error.httpCode).toBe('404');
		const param = await failure<NodeOperationError>(
			run((i) => ({ resource: 'call', operation: 'make', extensionId: '1001', srcNumbers: i === 2 ? ' , ' : '101', dstNumber: '+15559870000' }), many(3)),
		);
		expect(param).toBeInstanceOf(NodeOperationError);
		expect(param.message).toBe('The "Ring First" parameter is empty');
		expect(param.context.itemIndex).toBe(2);
	});
});

describe('secrets never leak', () => {
	it('no app secret or access token in outputs, error messages or descriptions', async () => {
		const outputs: unknown[] = [];
		const collect = async (params: NodeParams, items: IDataObject[] = [{}], continueOnFail = true) => {
			try {
				outputs.push(await run(params, items, { continueOnFail }));
			} catch (error) {
				const e = error as NodeApiError;
				outputs.push({ message: e.message, description: e.description, context: e.context, messages: e.messages, cause: String(e.cause) });
			}
		};
		await collect(getMe, many(3));
		await collect(history({ returnAll: false, limit: 5 }));
		await collect({ resource: 'recording', operation: 'getUrl', recordUuid: records[0].record_uuid });
		await collect({ resource: 'call', operation: 'get', callUuid: 'missing' }, [{}], false);
		f.fake.expireTokens();
		await collect(getMe, many(3));
		f.fake.fail({ path: `${API}/user/` }, { kind: 'html', status: 404 });
		await collect(getMe, [{}], false);
		f.fake.fail({ path: `${API}/user/` }, { status: 401, body: { message: 'Invalid token' } });
		f.fake.fail({ path: `${API}/user/` }, { status: 401, body: { message: 'Invalid token' } });
		await collect(getMe, [{}], false);
		f.fake.fail({ path: `${API}/user/` }, { status: 403, body: { message: 'Access denied' } });
		await collect(getMe, [{}], false);
		f.fake.fail({ path: `${API}/user/` }, { kind: 'garbage' });
		await collect(getMe, [{}], false);
		f.fake.loseAnswers({ path: /\/callback\/?$/ });
		await collect({ resource: 'call', operation: 'make', extensionId: '1001', srcNumbers: '101', dstNumber: '+15559870000' }, [{}], false);
		f.fake.fail({ path: /\/call_history\/?$/ }, { status: 429, body: { message: PBX_STATS_CONCURRENT_MESSAGE }, headers: { 'Retry-After': '3600' } });
		await collect(history({ returnAll: false, limit: 5 }), [{}], false);

		store = credentialStore(credentialType, f.credentials);
		f.fake.fail({ path: PBX_PATHS.token }, { status: 400, body: { error: 'invalid_request', error_description: `bad ${f.trusted.secret}` } });
		await collect(getMe, [{}], false);
		store = credentialStore(credentialType, f.credentials);

		const [created] = await run({ resource: 'application', operation: 'createTrusted', name: 'leak check' });
		const oneTime = String(created.json.secret);
		const { secret: _shown, ...rest } = created.json;
		outputs.push(rest);

		for (const override of [
			{ appSecret: 'wrong-secret-abcdef' },
			{ appId: 'no-such-app-id' },
			{ host: 'http://127.0.0.1:9' },
		] as Array<Record<string, string>>) {
			store = credentialStore(credentialType, { ...f.credentials, ...override });
			await collect(getMe, [{}], false);
			await collect(getMe, many(2));
		}

		const text = JSON.stringify(outputs);
		expect(text).toContain('The PBX');
		const issued = f.fake.issuedTokens();
		expect(issued.access.length).toBeGreaterThan(3);
		for (const token of [...issued.access, ...issued.refresh]) expect(text).not.toContain(token);
		for (const secret of [...issued.secrets, ...f.secrets, oneTime, 'wrong-secret-abcdef']) expect(text).not.toContain(secret);
		expect(text).not.toMatch(/Bearer [A-Za-z0-9]/);
		// The node's and the credential's descriptions carry no secret either.
		const described = JSON.stringify([node.description, credentialType.properties]);
		for (const secret of [...issued.secrets, ...issued.access, ...f.secrets]) expect(described).not.toContain(secret);
	});
});

describe('Simplify and ISO 8601 times', () => {
	it('Call History → Get Many: every *_time_gmt has an ISO *_time beside it (null stays null), in the call legs too', async () => {
		const output = await run(history({ returnAll: false, limit: 60 }));
		expect(output).toHaveLength(60);
		output.forEach((item, i) => expect(item.json).toEqual(withIso(calls[i])));
		const unanswered = output.find((item) => item.json.answer_time_gmt === null);
		expect(unanswered?.json.answer_time).toBeNull();
		const first = output[0].json;
		expect(Date.parse(String(first.start_time))).toBe(Date.parse(`${String(first.start_time_gmt).replace(' ', 'T')}Z`));
	});

	it('Call History → Get Many with Simplify: ten fields, the sync\'s call_uuid and start_time_gmt among them', async () => {
		const full = await run(history({ returnAll: false, limit: 20 }));
		expect(Object.keys(full[0].json).length).toBeGreaterThan(10);
		const output = await run(history({ returnAll: false, limit: 20, simplify: true }));
		expect(output).toHaveLength(20);
		output.forEach((item, i) => {
			const call = calls[i];
			expect(item.json).toEqual({
				call_uuid: call.call_uuid,
				start_time_gmt: call.start_time_gmt,
				start_time: iso(call.start_time_gmt),
				end_time: iso(call.end_time_gmt),
				flow: call.flow,
				result: call.result,
				external_number: externalOf(call),
				in_progress: false,
				duration: call.duration,
				extension_id: call.extension_id,
			});
			expect(item.pairedItem).toEqual({ item: 0 });
		});
	});

	it('Recording → Get Many with Simplify keeps call_uuid and record_uuid (the fields the PBX sends)', async () => {
		const output = await run({ resource: 'recording', operation: 'getMany', ...ALL_TIME, returnAll: false, limit: 5, order: 'asc', simplify: true });
		expect(output.map((item) => item.json)).toEqual(records.slice(0, 5));
	});
});
