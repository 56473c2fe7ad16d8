/**
 * A fake B2COPY with one registered key pair, admin and device IP, and the matching credential
 * data: the starting point of B2COPY tests in every tier.
 */
import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import { createB2CopyClient } from '../../nodes/B2Copy/transport';
import { B2COPY_PATHS, startFakeB2Copy, type FakeB2Copy, type FakeB2CopyOptions } from '../fakes/b2copy';
import { generateEcKeyPair, type EcKeyPair } from '../fakes/keys';
import { createExecuteContext, type CredentialStore, type TestContext } from './context';
import { useFixture, type FakeUseOptions } from './lifecycle';

export const ADMIN_ID = '42';
export const DEVICE_IP = '203.0.113.10';
export const KEY_ID = 'crm-key-1';

export interface B2CopyFixture {
	fake: FakeB2Copy;
	keys: EcKeyPair;
	credentials: ICredentialDataDecryptedObject;
}

export async function b2copyFixture(options: Partial<FakeB2CopyOptions> = {}): Promise<B2CopyFixture> {
	const keys = generateEcKeyPair();
	const fake = await startFakeB2Copy({
		keys: { [KEY_ID]: keys.publicPem },
		admins: { [ADMIN_ID]: { allowedIps: [DEVICE_IP] } },
		...options,
	});
	return {
		fake,
		keys,
		credentials: {
			host: fake.url,
			adminId: ADMIN_ID,
			deviceIp: DEVICE_IP,
			keyId: KEY_ID,
			privateKey: keys.privatePkcs8Pem,
			assertionLifetime: 300,
		},
	};
}

/** `b2copyFixture(options)` for the file or describe block (test/support/lifecycle.ts). */
export function useB2CopyFixture(options: Partial<FakeB2CopyOptions> = {}, use: FakeUseOptions = {}): B2CopyFixture {
	return useFixture('the B2COPY fixture', async () => await b2copyFixture(options), use);
}

/**
 * One execution of a B2COPY node over a credential store shared with other executions (as n8n's
 * database is): its own context and client, and `echo(i)`, one request to the fake's echo route
 * (`?i=<i>`). `prepare` adjusts the context before the client is made.
 */
export function b2copyExecution(store: CredentialStore, fakeUrl: string, prepare?: (ctx: TestContext) => void) {
	const ctx = createExecuteContext({ store, params: {} });
	prepare?.(ctx);
	const client = createB2CopyClient(ctx);
	const echo = async (i: number) =>
		await client.request<{ query: Record<string, string> }>(
			{ method: 'GET', url: `${fakeUrl}${B2COPY_PATHS.echo}`, qs: { i: String(i) }, json: true },
			{ itemIndex: 0 },
		);
	return { client, echo };
}
