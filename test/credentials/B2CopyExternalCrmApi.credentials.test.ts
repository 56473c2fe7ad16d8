import { importSPKI, jwtVerify } from 'jose';
import type { IHttpRequestOptions } from 'n8n-workflow';
import { describe, expect, it } from 'vitest';

import { B2CopyExternalCrmApi, b2copyAuthenticate } from '../../credentials/B2CopyExternalCrmApi.credentials';
import { B2COPY_PATHS } from '../../nodes/B2Copy/auth';
import { useB2CopyFixture } from '../support/b2copy';
import { testHttpRequest } from '../support/http';

const type = new B2CopyExternalCrmApi();

describe('B2COPY External CRM API credential', () => {
	const f = useB2CopyFixture({}, { fresh: false });

	it('has one hidden expirable token property, first among hidden ones, and password-typed secrets', () => {
		const expirable = type.properties.filter((p) => p.type === 'hidden' && p.typeOptions?.expirable);
		expect(expirable.map((p) => p.name)).toEqual(['accessToken']);
		for (const name of ['privateKey', 'accessToken', 'refreshToken']) {
			expect(type.properties.find((p) => p.name === name)?.typeOptions?.password).toBe(true);
		}
		expect(type.properties.find((p) => p.name === 'assertionLifetime')?.default).toBe(300);
	});

	it('preAuthentication returns what n8n must persist', async () => {
		const output = (await type.preAuthentication!.call(
			{ helpers: { httpRequest: testHttpRequest } } as never,
			{ ...f.credentials, accessToken: '', refreshToken: '' },
		)) as Record<string, unknown>;
		expect(Object.keys(output).sort()).toEqual(['accessToken', 'expiresAt', 'inputsFingerprint', 'refreshToken']);
		expect(f.fake.issuedTokens().access).toContain(output.accessToken);
	});

	it('authenticate adds the Bearer token without touching the caller\'s headers', async () => {
		const headers = { 'X-Other': '1' };
		const request: IHttpRequestOptions = { url: `${f.fake.url}/api/admin/test/echo`, headers };
		const out = await (b2copyAuthenticate as (c: object, r: IHttpRequestOptions) => Promise<IHttpRequestOptions>)(
			{ ...f.credentials, accessToken: 'abc' },
			request,
		);
		expect(out.headers).toEqual({ 'X-Other': '1', Authorization: 'Bearer abc' });
		expect(headers).toEqual({ 'X-Other': '1' });
		expect(out.body).toBeUndefined();
	});

	it('the Test request is the exchange itself, with a freshly signed assertion', async () => {
		const test = type.test.request;
		expect(test.url).toBe(B2COPY_PATHS.exchange);
		expect(test.method).toBe('POST');
		const out = await (b2copyAuthenticate as (c: object, r: IHttpRequestOptions) => Promise<IHttpRequestOptions>)(
			{ ...f.credentials, accessToken: 'abc' },
			{ baseURL: f.fake.url, url: test.url as string, method: 'POST' },
		);
		const assertion = (out.body as { external_token: string }).external_token;
		const { payload } = await jwtVerify(assertion, await importSPKI(f.keys.publicPem, 'ES256'));
		expect(payload.admin_id).toBe(f.credentials.adminId);
		const answer = (await testHttpRequest({ ...out, json: true })) as Record<string, unknown>;
		expect(answer.access_token).toBeTruthy();
	});
});
