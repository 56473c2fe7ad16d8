/**
 * The cross-process renewal lock (nodes/shared/renewLock.ts) over an in-memory model of n8n's
 * processed-items store (test/support/processedStore.ts: read, then write; a second concurrent
 * INSERT of a row fails). Each VendorClient stands for one execution of the same workflow node
 * (in queue mode, on any worker); they share one credential store and one processed-items store.
 */
import type { IDataObject } from 'n8n-workflow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { B2CopyExternalCrmApi } from '../../../credentials/B2CopyExternalCrmApi.credentials';
import { VirtualPbxTrustedAppApi } from '../../../credentials/VirtualPbxTrustedAppApi.credentials';
import { B2COPY_PATHS } from '../../../nodes/B2Copy/auth';
import { VirtualPbx } from '../../../nodes/VirtualPbx/VirtualPbx.node';
import { lockTiming } from '../../../nodes/shared/renewLock';
import { b2copyExecution, useB2CopyFixture } from '../../support/b2copy';
import { createExecuteContext, credentialStore, type CredentialStore, type TestContext } from '../../support/context';
import { usePbxFixture } from '../../support/pbx';
import { ProcessedDb } from '../../support/processedStore';

const NODE_ROW = 'n:node-1';
const f = useB2CopyFixture({ accessTokenTtlSec: 600 });
let store: CredentialStore;
let db: ProcessedDb;
/** Every call the node made on its node-scope row: [operation, value]. */
let nodeScopeCalls: Array<[string, number | undefined]>;

/** n8n's dedup helpers of an execution, over `db` (or throwing, like a workflow without an id). */
function helpersOver(ctx: TestContext, broken = false): void {
	const helpers = db.helpers(ctx.getNode().id, (operation, scope, items) => {
		if (scope === 'node') nodeScopeCalls.push(operation === 'record' ? ['record', Number(items[0])] : ['clear', undefined]);
		if (broken) throw new Error('The "workflow.id" value is undefined');
	});
	Object.assign(ctx.helpers, helpers);
}

/** One execution of the workflow node: its own context and client over the shared stores. */
function execution(options: { broken?: boolean } = {}) {
	return b2copyExecution(store, f.fake.url, (ctx) => helpersOver(ctx, options.broken));
}

async function burst(n: number, options: { broken?: boolean } = {}) {
	const runs = Array.from({ length: n }, () => execution(options));
	const answers = await Promise.all(runs.map(async (r, i) => await r.echo(i)));
	expect(answers.map((a) => a.query.i)).toEqual(runs.map((_, i) => String(i)));
	const sum = (key: 'adoptions' | 'renewals' | 'lockHolds') => runs.reduce((total, r) => total + r.client[key], 0);
	return { runs, adoptions: sum('adoptions'), renewals: sum('renewals'), lockHolds: sum('lockHolds') };
}

const saved = { ...lockTiming };

beforeEach(() => {
	store = credentialStore(new B2CopyExternalCrmApi(), f.credentials);
	db = new ProcessedDb(3);
	nodeScopeCalls = [];
});
afterEach(() => {
	Object.assign(lockTiming, saved);
});

describe('renewal under the processed-items lock', () => {
	it('twenty executions that find no token at once (300 ms at the token endpoint): one exchange, the others adopt it; the row is released', async () => {
		f.fake.fail({ path: B2COPY_PATHS.exchange, every: 1 }, { kind: 'slow', ms: 300 });
		const r = await burst(20);
		expect(f.fake.counters.exchanges).toBe(1);
		expect(f.fake.counters.refreshes).toBe(0);
		expect(r.renewals).toBe(1);
		expect(r.adoptions).toBe(19);
		expect(r.lockHolds).toBeGreaterThanOrEqual(1);
		expect(db.rows.has(NODE_ROW)).toBe(false);
	});

	it('after the vendor expired the token: twenty executions holding the refused token renew once (one exchange, no refresh)', async () => {
		await execution().echo(0);
		const runs = Array.from({ length: 20 }, () => execution());
		for (const r of runs) await r.client.getCredentials(); // all read the token before it dies
		f.fake.expireAccessTokens();
		f.fake.reset();
		f.fake.fail({ path: B2COPY_PATHS.exchange, every: 1 }, { kind: 'slow', ms: 300 });
		const answers = await Promise.all(runs.map(async (r, i) => await r.echo(i)));
		expect(answers.map((a) => a.query.i)).toEqual(runs.map((_, i) => String(i)));
		expect(f.fake.counters.exchanges).toBe(1);
		expect(f.fake.counters.refreshes).toBe(0);
		expect(runs.reduce((n, r) => n + r.client.adoptions, 0)).toBe(19);
		expect(db.rows.has(NODE_ROW)).toBe(false);
	});

	it('an insert race (two executions INSERT the row at once; one insert fails) still ends with one exchange', async () => {
		db = new ProcessedDb(40); // long read→write gaps: concurrent first inserts collide
		f.fake.fail({ path: B2COPY_PATHS.exchange, every: 1 }, { kind: 'slow', ms: 200 });
		const r = await burst(10);
		expect(db.uniqueViolations).toBeGreaterThanOrEqual(1);
		expect(f.fake.counters.exchanges).toBe(1);
		expect(r.adoptions).toBe(9);
		expect(db.rows.has(NODE_ROW)).toBe(false);
	});

	it('a crashed holder (its row left behind): the next execution waits the bound, clears the row and renews', async () => {
		lockTiming.waitMs = 400;
		lockTiming.pollMs = 50;
		await db.latest(NODE_ROW, 0); // a holder that died before releasing
		const started = Date.now();
		const r = await burst(1);
		expect(Date.now() - started).toBeGreaterThanOrEqual(400);
		expect(f.fake.counters.exchanges).toBe(1);
		expect(r.renewals).toBe(1);
		expect(nodeScopeCalls.filter(([op]) => op === 'clear').length).toBeGreaterThanOrEqual(2); // the stale row, then its own
		expect(db.rows.has(NODE_ROW)).toBe(false);
	});

	it('a holder whose renewal fails releases the row: a waiter takes over at once, without waiting the bound', async () => {
		lockTiming.waitMs = 60_000;
		f.fake.fail({ path: B2COPY_PATHS.exchange, times: 1 }, { status: 401, body: { message: 'Invalid signature' } });
		const a = execution();
		const b = execution();
		const started = Date.now();
		const [ra, rb] = await Promise.allSettled([a.echo(0), b.echo(1)]);
		expect(Date.now() - started).toBeLessThan(10_000);
		const outcomes = [ra.status, rb.status].sort();
		expect(outcomes).toEqual(['fulfilled', 'rejected']); // the holder's sign-in was refused
		expect(f.fake.counters.exchangesOk).toBe(1); // the waiter's own, after the holder released
		expect(a.client.lockHolds + b.client.lockHolds).toBe(2);
		expect(db.rows.has(NODE_ROW)).toBe(false);
	});

	it('no lock where the store cannot be used (it throws, e.g. a workflow without an id): renewal as before', async () => {
		const r = await burst(1, { broken: true });
		expect(r.lockHolds).toBe(0);
		expect(r.renewals).toBe(1);
		expect(nodeScopeCalls).toEqual([['record', 0], ['record', 0]]); // tried twice, then gave up
	});

	it('a single execution (single-process n8n, a manual run) takes the lock, renews at once and releases it', async () => {
		const r = await burst(1);
		expect(r.lockHolds).toBe(1);
		expect(f.fake.counters.exchanges).toBe(1);
		expect(nodeScopeCalls).toEqual([['record', 0], ['clear', undefined]]);
	});
});

describe('the call sync keeps its node-scope row to itself', () => {
	const pbx = usePbxFixture({}, { fresh: false });

	async function runPbx(params: IDataObject) {
		store = credentialStore(new VirtualPbxTrustedAppApi(), pbx.credentials);
		const ctx = createExecuteContext({ store, params: { authentication: 'trustedApp', ...params } });
		helpersOver(ctx);
		return (await new VirtualPbx().execute.call(ctx))[0];
	}

	it('Call History → Get Many never touches the row (here holding a sync claim) when it renews; User → Get Me does take the lock', async () => {
		lockTiming.waitMs = 300;
		pbx.fake.reset();
		const claim = Date.now() + 600_000;
		await db.latest(NODE_ROW, claim); // another run's sync holds its claim lock in this row
		const history = await runPbx({ resource: 'callHistory', operation: 'getMany', start: '2000-01-01T00:00:00Z', end: '', returnAll: true, order: 'asc' });
		expect(history.length).toBeGreaterThan(0);
		expect(pbx.fake.counters.grants.client_credentials.ok).toBe(1);
		expect(nodeScopeCalls).toEqual([]);
		expect(db.rows.get(NODE_ROW)).toEqual({ mode: 'latest', data: claim });

		await db.clear(NODE_ROW);
		store.data.accessToken = '';
		await runPbx({ resource: 'user', operation: 'getMe' });
		expect(pbx.fake.counters.grants.client_credentials.ok).toBe(2);
		expect(nodeScopeCalls).toEqual([['record', 0], ['clear', undefined]]);
	});

	it('"Only Calls Not Yet Synced" with no token: the sync takes its own lock, the renewal none', async () => {
		pbx.fake.reset();
		const out = await runPbx({ resource: 'callHistory', operation: 'getMany', syncMode: true, start: '2000-01-01T00:00:00Z', lookbackMinutes: 240, maxCalls: 1000, leaseMinutes: 10, skipInternal: true, filters: {} });
		expect(out.length).toBeGreaterThan(0);
		expect(pbx.fake.counters.grants.client_credentials.ok).toBe(1);
		// The sync's own lock writes expiries (> 0) after its INSERT of 0; the renewal lock would
		// add an INSERT of 0 and a clear before the first grant. Exactly one INSERT of 0: the sync's.
		expect(nodeScopeCalls.filter(([op, v]) => op === 'record' && v === 0).length).toBe(1);
	});
});
