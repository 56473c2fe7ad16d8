/**
 * Driving the Virtual PBX Call Trigger's poller (nodes/VirtualPbx/callTrigger/poll.ts) in unit
 * tests: a PollHost over the fake PBX fixture that records what the trigger emits, done promises
 * the test settles itself, and IRun results as n8n resolves them.
 */
import type { IDataObject, INodeExecutionData, IRun } from 'n8n-workflow';

import { VirtualPbxTrustedAppApi } from '../../credentials/VirtualPbxTrustedAppApi.credentials';
import type { DonePromise, PollHost } from '../../nodes/VirtualPbx/callTrigger/poll';
import { createPbxClient } from '../../nodes/VirtualPbx/transport';
import { createExecuteContext, credentialStore } from './context';
import type { PbxFixture } from './pbx';

export function deferred(): DonePromise {
	let resolve!: (value: IRun) => void;
	let reject!: (error: Error) => void;
	const promise = new Promise<IRun>((res, rej) => {
		resolve = res;
		reject = rej;
	});
	return { promise, resolve, reject } as unknown as DonePromise;
}

export const run = (status: IRun['status']): IRun =>
	({ status, mode: 'trigger', startedAt: new Date(), storedAt: 'db', data: { resultData: { runData: {} } } }) as unknown as IRun;

/** One execution the trigger started: its items and its done promise. */
export interface Emitted {
	items: INodeExecutionData[];
	done?: DonePromise;
}

export function triggerContext(f: PbxFixture, staticData: IDataObject) {
	const store = credentialStore(new VirtualPbxTrustedAppApi(), f.credentials);
	return createExecuteContext({ store, params: {}, staticData });
}

/** A PollHost on the fixture's PBX: emits go to `emitted`, warnings to `warnings`. */
export function pollHost(f: PbxFixture, staticData: IDataObject, emitted: Emitted[], warnings: string[] = []): PollHost {
	const ctx = triggerContext(f, staticData);
	return {
		client: createPbxClient(ctx, 'trustedApp', { renewLock: false }),
		staticData,
		nodeId: 'call-trigger-1',
		emit: (data, done) => emitted.push({ items: data[0], done }),
		createDeferredPromise: deferred,
		returnJsonArray: (rows) => rows.map((json) => ({ json })),
		debug: () => {},
		warn: (message) => warnings.push(message),
	};
}

export const uuidsOf = (batch: Emitted | undefined): string[] => (batch?.items ?? []).map((item) => String(item.json.call_uuid));
