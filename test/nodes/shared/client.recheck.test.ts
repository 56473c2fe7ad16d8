/**
 * The client re-checks n8n's credential store before renewing (issue 12): executions that share
 * one credential (in queue mode, on different worker processes) adopt the token another one
 * stored instead of each renewing, and never send a refresh token another one already rotated.
 * Each VendorClient here stands for one execution; they share one store, as n8n's database.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { B2CopyExternalCrmApi } from '../../../credentials/B2CopyExternalCrmApi.credentials';
import { renewalTiming } from '../../../nodes/shared/client';
import { b2copyExecution, useB2CopyFixture } from '../../support/b2copy';
import { credentialStore, type CredentialStore } from '../../support/context';

const f = useB2CopyFixture({ accessTokenTtlSec: 600 });
let store: CredentialStore;

beforeEach(() => {
	store = credentialStore(new B2CopyExternalCrmApi(), f.credentials);
});
afterEach(() => {
	renewalTiming.renewalJitterMs = 0;
});

/** One execution: its own context and client over the shared store. */
const execution = () => b2copyExecution(store, f.fake.url);

describe('re-checking the credential store before a renewal', () => {
	it('a run whose token was refused adopts the token another execution stored meanwhile: no second renewal', async () => {
		await execution().echo(0); // first token, stored
		const a = execution();
		await a.client.getCredentials(); // A read the credential (token T1) before the others renewed
		f.fake.expireAccessTokens();
		f.fake.reset();
		const b = execution();
		expect((await b.echo(1)).query.i).toBe('1'); // B: T1 refused → new exchange → T2 stored
		expect(f.fake.counters.exchangesOk).toBe(1);
		expect((await a.echo(2)).query.i).toBe('2'); // A: T1 refused → T2 from the store
		expect(a.client.adoptions).toBe(1);
		expect(a.client.renewals).toBe(0);
		const c = f.fake.counters;
		expect(c.exchanges).toBe(1);
		expect(c.refreshes).toBe(0);
	});

	it('an adopted token that is refused too gets this request its own renewal (a new exchange, never a refresh)', async () => {
		await execution().echo(0);
		const a = execution();
		await a.client.getCredentials(); // holds T1
		f.fake.expireAccessTokens();
		await execution().echo(1); // stores T2
		f.fake.expireAccessTokens(); // T2 dies too (its stored expiry still looks fresh)
		f.fake.reset();
		expect((await a.echo(2)).query.i).toBe('2'); // refused → adopt T2 → refused → renew
		expect(a.client.adoptions).toBe(1);
		expect(a.client.renewals).toBe(1);
		const c = f.fake.counters;
		expect(c.exchangesOk).toBe(1);
		expect(c.refreshes).toBe(0);
	});

	it('without the renewal lock (no processed-items store in this context), ten executions that find no token at once converge on few acquisitions thanks to the jittered wait', async () => {
		renewalTiming.renewalJitterMs = 1_000;
		const runs = Array.from({ length: 10 }, () => execution());
		const answers = await Promise.all(runs.map(async (r, i) => await r.echo(i)));
		expect(answers.map((a) => a.query.i)).toEqual(runs.map((_, i) => String(i)));
		const acquisitions = f.fake.counters.exchanges + f.fake.counters.refreshes;
		expect(f.fake.counters.refreshes).toBe(0);
		expect(acquisitions).toBeGreaterThanOrEqual(1);
		expect(acquisitions).toBeLessThanOrEqual(3);
		expect(runs.reduce((n, r) => n + r.client.adoptions, 0)).toBeGreaterThanOrEqual(10 - acquisitions);
		expect(runs.reduce((n, r) => n + r.client.lockHolds, 0)).toBe(0);
	});
});
