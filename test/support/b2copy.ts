/**
 * A fake B2COPY with one registered key pair, admin and device IP, and the matching credential
 * data: the starting point of B2COPY tests in every tier.
 */
import { createB2CopyClient } from '../../nodes/B2Copy/transport';
import { B2COPY_PATHS, type FakeB2CopyOptions } from '../fakes/b2copy';
import { b2copyFixture, type B2CopyFixture } from './b2copyFixture';
import { createExecuteContext, type CredentialStore, type TestContext } from './context';
import { useFixture, type FakeUseOptions } from './lifecycle';

export { ADMIN_ID, DEVICE_IP, KEY_ID, b2copyFixture, type B2CopyFixture } from './b2copyFixture';

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
