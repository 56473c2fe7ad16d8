/**
 * The n8n instance of a real-n8n test file, declared once (over ./harness.ts):
 *
 *   const fake = useFakeCrmCom({ … }, { fresh: false });
 *   const n8n = useN8n({
 *     credentials: () => [{ …, data: { serverUrl: fake.url, … } }],
 *     workflows: () => Object.values(WF),
 *   });
 *
 * beforeAll packs this package, installs it into a fresh n8n (startN8nInstance), imports the
 * credentials and workflows (read only then, so they may use fakes declared before) and, with
 * `server: true`, starts `n8n start`; afterAll disposes of the instance. The stand-in returned
 * forwards to the instance (test/support/lifecycle.ts). Fakes declared before useN8n start before
 * it and close after it.
 */
import { afterAll, beforeAll, expect } from 'vitest';

import { late } from '../support/lifecycle';
import {
	packPackage,
	startN8nInstance,
	type CredentialInput,
	type ExecutionItem,
	type ExecutionResult,
	type N8nInstance,
	type StartOptions,
	type WorkflowInput,
} from './harness';

export interface Closable {
	close(): Promise<void>;
}

export interface N8nSetup {
	/** Extra environment for every n8n process of the instance. */
	env?: StartOptions['env'];
	/**
	 * Runs once n8n is installed, before the imports: for what needs n8n's own URL (a fake PBX
	 * whose redirect URI is n8n's OAuth2 callback). What it returns is closed after the instance.
	 */
	prepare?: (n8n: N8nInstance) => Promise<Closable | void>;
	credentials?: () => CredentialInput[];
	workflows?: () => WorkflowInput[];
	/** Start the n8n server (REST API, webhooks, active workflows) after the imports. */
	server?: boolean;
	/** Where to note how long the set-up took (`set-up (…): N ms`). */
	timings?: string[];
	/** Timeout of the set-up hook (default: the config's hookTimeout). */
	timeoutMs?: number;
}

export function useN8n(setup: N8nSetup = {}): N8nInstance {
	const instance = late<N8nInstance>('the n8n instance');
	let prepared: Closable | void;
	beforeAll(async () => {
		const started = Date.now();
		const tarball = await packPackage();
		const n8n = instance.set(await startN8nInstance({ tarball, env: setup.env }));
		prepared = await setup.prepare?.(n8n);
		if (setup.credentials) await n8n.importCredentials(setup.credentials());
		if (setup.workflows) await n8n.importWorkflow(setup.workflows());
		if (setup.server) await n8n.startServer();
		setup.timings?.push(`set-up (pack, install, imports${setup.server ? ', server' : ''}): ${Date.now() - started} ms`);
	}, setup.timeoutMs);
	afterAll(async () => {
		await instance.get()?.dispose();
		await prepared?.close();
	});
	return instance.ref;
}

/** The n8n server for the tests of one describe block: started before them, stopped after. */
export function useN8nServer(n8n: N8nInstance, startTimeoutMs?: number): void {
	beforeAll(async () => {
		await n8n.startServer();
	}, startTimeoutMs);
	afterAll(async () => {
		await n8n.stopServer();
	});
}

/** The items a node output in a run that must have succeeded (its error in the failure message). */
export function okItems(result: ExecutionResult, node: string): ExecutionItem[] {
	expect(result.ok, JSON.stringify(result.error)).toBe(true);
	return result.nodes[node]?.items ?? [];
}
