/** The concurrency limit every fake can impose (FakeServer.maxInFlight). */
import { afterAll, beforeAll, expect, it } from 'vitest';

import { json, startFakeServer, type FakeServer } from './common';

let fake: FakeServer;

beforeAll(async () => {
	fake = await startFakeServer(({ res }) => json(res, 200, { ok: true }));
});
afterAll(async () => {
	await fake.close();
});

it('more than maxInFlight requests at once: the extra ones get 429 at once; later ones pass again', async () => {
	fake.latencyMs = 1500;
	fake.maxInFlight = 3;
	const statuses = await Promise.all(Array.from({ length: 7 }, async () => (await fetch(`${fake.url}/x`)).status));
	const refused = statuses.filter((s) => s === 429).length;
	expect(statuses.filter((s) => s === 200).length + refused).toBe(7);
	expect(refused).toBeGreaterThanOrEqual(4);
	expect(fake.inFlight).toEqual({ now: 0, peak: 3, refused });
	fake.latencyMs = 0;
	for (let i = 0; i < 4; i++) expect((await fetch(`${fake.url}/x`)).status).toBe(200);
	expect(fake.inFlight.refused).toBe(refused);
	expect(fake.requests.filter((r) => r.fault === 'status')).toHaveLength(refused);
});

it('0 lifts the limit', async () => {
	fake.latencyMs = 200;
	fake.maxInFlight = 0;
	const statuses = await Promise.all(Array.from({ length: 10 }, async () => (await fetch(`${fake.url}/x`)).status));
	expect(statuses.every((s) => s === 200)).toBe(true);
	expect(fake.inFlight.peak).toBeGreaterThan(3);
});
