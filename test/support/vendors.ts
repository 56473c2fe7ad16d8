/**
 * The three vendor fixtures at once (B2COPY, CRM.COM, Virtual PBX), for tests that run every node:
 * started together before the tests of the file (or describe block), closed after them, and by
 * default each test gets fresh fakes (test/support/lifecycle.ts). Destructure freely:
 * `const { b2, crm, pbx } = useVendorFixtures()`.
 */
import { afterAll, beforeAll, beforeEach } from 'vitest';

import type { FakeB2CopyOptions } from '../fakes/b2copy';
import { json, startFakeServer, type FakeServer } from '../fakes/common';
import type { FakeCrmComOptions } from '../fakes/crmcom';
import type { FakePbxOptions } from '../fakes/pbx';
import { b2copyFixture, type B2CopyFixture } from './b2copy';
import { crmcomFixture, type CrmComFixture } from './crmcom';
import { freshen, late, useFake, type FakeUseOptions } from './lifecycle';
import { pbxFixture, type PbxFixture } from './pbx';

export interface VendorFixtures {
	b2: B2CopyFixture;
	crm: CrmComFixture;
	pbx: PbxFixture;
}

export interface VendorOptions {
	b2copy?: Partial<FakeB2CopyOptions>;
	crmcom?: Partial<FakeCrmComOptions>;
	pbx?: Partial<FakePbxOptions>;
}

export function useVendorFixtures(options: VendorOptions = {}, use: FakeUseOptions = {}): VendorFixtures {
	const b2 = late<B2CopyFixture>('the B2COPY fixture');
	const crm = late<CrmComFixture>('the CRM.COM fixture');
	const pbx = late<PbxFixture>('the PBX fixture');
	const all = [b2, crm, pbx] as const;
	beforeAll(async () => {
		// Settled one by one, so that what did start is closed after a failed start.
		const [b, c, p] = await Promise.allSettled([b2copyFixture(options.b2copy), crmcomFixture(options.crmcom), pbxFixture(options.pbx)]);
		if (b.status === 'fulfilled') b2.set(b.value);
		if (c.status === 'fulfilled') crm.set(c.value);
		if (p.status === 'fulfilled') pbx.set(p.value);
		for (const result of [b, c, p]) if (result.status === 'rejected') throw result.reason;
	}, use.timeoutMs);
	afterAll(async () => {
		await Promise.all(all.map(async (fixture) => await fixture.get()?.fake.close()));
	});
	if (use.fresh ?? true) beforeEach(() => all.forEach((fixture) => freshen(fixture.ref.fake)));
	return { b2: b2.ref, crm: crm.ref, pbx: pbx.ref };
}

/** A server on another 127.0.0.1 port that answers 200 to anything and logs it: where redirects must not lead. */
export function useRecorder(use: FakeUseOptions = {}): FakeServer {
	return useFake('the recording server', async () => await startFakeServer(({ res }) => json(res, 200, { recorded: true }), { name: 'recorder' }), use);
}
