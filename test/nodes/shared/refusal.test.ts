/**
 * A refused token is renewed once and the request resent, whatever form the vendor's refusal
 * takes (401, or 403 — which one a vendor uses for a dead token is unknown), for every credential
 * with our own token handling (PBX trusted app, B2COPY, CRM.COM). A 403 that does not speak of
 * the token may be a permission refusal: it costs one renewal per run, never a loop, and its
 * message says what to do.
 */
import type { IDataObject, INodeExecutionData } from 'n8n-workflow';
import { beforeEach, describe, expect, it } from 'vitest';

import { B2CopyExternalCrmApi } from '../../../credentials/B2CopyExternalCrmApi.credentials';
import { CrmComApi } from '../../../credentials/CrmComApi.credentials';
import { VirtualPbxTrustedAppApi } from '../../../credentials/VirtualPbxTrustedAppApi.credentials';
import { B2Copy } from '../../../nodes/B2Copy/B2Copy.node';
import { CrmCom } from '../../../nodes/CrmCom/CrmCom.node';
import { VirtualPbx } from '../../../nodes/VirtualPbx/VirtualPbx.node';
import { forbiddenSpeaksOfToken } from '../../../nodes/shared/client';
import { PBX_PATHS } from '../../fakes/pbx';
import { useB2CopyFixture } from '../../support/b2copy';
import { credentialStore, many, runNode, type CredentialStore } from '../../support/context';
import { useCrmComFixture } from '../../support/crmcom';
import { usePbxFixture } from '../../support/pbx';

describe('which 403 speaks of the token', () => {
	it.each([
		[{ message: 'Access token is invalid or expired' }, true],
		[{ code: 'access_token_expired', message: 'Access token expired' }, true],
		[{ error: 'invalid_token' }, true],
		[{ message: 'Access denied' }, false],
		[{ message: 'Forbidden' }, false],
		['', false],
	])('%j → %s', (body, expected) => {
		expect(forbiddenSpeaksOfToken({ statusCode: 403, headers: {}, body })).toBe(expected);
	});
});

describe('Virtual PBX trusted app', () => {
	const node = new VirtualPbx();
	const type = new VirtualPbxTrustedAppApi();
	const f = usePbxFixture();
	let store: CredentialStore;
	const getMe = { authentication: 'trustedApp', resource: 'user', operation: 'getMe' };
	const grants = () => f.fake.counters.grants.client_credentials.ok;

	const run = async (items: IDataObject[], params: Record<string, unknown> = getMe, continueOnFail = false): Promise<INodeExecutionData[]> =>
		await runNode(node, { store, params, items, continueOnFail });

	beforeEach(() => {
		f.fake.settings.deadTokenStatus = 401;
		store = credentialStore(type, f.credentials);
	});

	for (const status of [401, 403] as const) {
		it(`a dead token answered with ${status}: one new token, every item succeeds`, async () => {
			await run(many(1));
			f.fake.settings.deadTokenStatus = status;
			f.fake.expireTokens();
			f.fake.reset();
			const output = await run(many(50), { ...getMe, options: { concurrency: 10 } });
			expect(output).toHaveLength(50);
			for (const item of output) expect(item.json.client_id).toBe(f.fake.user.client_id);
			expect(grants()).toBe(1);
			expect(f.fake.counters.apiUnauthorized).toBeGreaterThan(0);
			expect(f.fake.counters.apiUnauthorized).toBeLessThanOrEqual(10);
		});

		it(`a dead token answered with ${status}, token stored as valid for another hour: renewed anyway`, async () => {
			await run(many(1));
			store.data.expiresAt = Date.now() + 3600_000;
			f.fake.settings.deadTokenStatus = status;
			f.fake.expireTokens();
			f.fake.reset();
			const output = await run(many(3));
			expect(output).toHaveLength(3);
			expect(grants()).toBe(1);
		});
	}

	it('a permission 403 ("Access denied") on every item: one renewal in the run, one resend, then a message saying what to do', async () => {
		await run(many(1));
		f.fake.reset();
		f.fake.clearLog();
		const path = `${PBX_PATHS.api}/user/`;
		f.fake.fail({ path, times: 100 }, { status: 403, body: { message: 'Access denied' } });
		const output = await run(many(5), getMe, true);
		expect(output).toHaveLength(5);
		expect(grants()).toBe(1);
		// 5 items + 1 resend after the one renewal: no loop.
		expect(f.fake.requestsTo(path)).toHaveLength(6);
		expect(output[0].json.error).toMatch(/refused the access token .* even after a new one was obtained \(HTTP 403 Forbidden\): Access denied/);
		for (const item of output.slice(1)) expect(item.json.error).toMatch(/refused .*\(HTTP 403 Forbidden\): Access denied/);
		const descriptions = output.map((o) => JSON.stringify(o.json));
		for (const text of descriptions) {
			expect(text).toMatch(/permission/);
			expect(text).toMatch(/reconnect the credential/);
			for (const secret of [f.trusted.secret, ...f.fake.issuedTokens().access]) expect(text).not.toContain(secret);
		}
	});
});

describe('B2COPY', () => {
	const node = new B2Copy();
	const type = new B2CopyExternalCrmApi();
	const f = useB2CopyFixture({ accessTokenTtlSec: 600 });
	let store: CredentialStore;
	const echo = {
		resource: 'apiRequest',
		operation: 'request',
		method: 'GET',
		path: '/api/admin/test/echo',
		options: { concurrency: 5 },
	};

	const run = async (items: IDataObject[]): Promise<INodeExecutionData[]> => await runNode(node, { store, params: echo, items });

	beforeEach(() => {
		f.fake.settings.deadTokenStatus = 401;
		store = credentialStore(type, f.credentials);
	});

	for (const status of [401, 403] as const) {
		it(`a dead token answered with ${status}: renewed once, every item succeeds`, async () => {
			await run(many(1));
			f.fake.settings.deadTokenStatus = status;
			f.fake.expireAccessTokens();
			f.fake.reset();
			const output = await run(many(20));
			expect(output).toHaveLength(20);
			expect(f.fake.counters.refreshesOk + f.fake.counters.exchangesOk).toBe(1);
			expect(f.fake.counters.protectedOk).toBe(20);
		});
	}
});

describe('CRM.COM', () => {
	const node = new CrmCom();
	const type = new CrmComApi();
	const f = useCrmComFixture();
	let store: CredentialStore;
	const jobs = { resource: 'job', operation: 'getMany', returnAll: false, limit: 2 };

	const run = async (items: IDataObject[]): Promise<INodeExecutionData[]> => await runNode(node, { store, params: jobs, items });

	beforeEach(() => {
		store = credentialStore(type, f.credentials);
	});

	for (const mode of ['envelope200', 'http401', 'http403'] as const) {
		it(`a dead session token refused as ${mode}: one new login, every item succeeds`, async () => {
			f.fake.settings.authFailureMode = mode;
			await run(many(1));
			f.fake.expireTokens();
			f.fake.reset();
			const output = await run(many(5));
			expect(output).toHaveLength(10);
			expect(f.fake.counters.loginAttempts).toBe(1);
		});
	}
});
