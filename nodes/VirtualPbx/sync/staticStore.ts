/**
 * The call sync's state (store.ts's SyncStore) in a trigger node's static data, for the Virtual
 * PBX Call Trigger: a trigger context has no processed-items helpers (n8n 2.41.1 gives them to
 * execute contexts only), but it has its node's static data, which n8n keeps in its database.
 *
 * Why a plain object is enough: an active trigger runs in one process only (n8n main; in queue
 * mode the leader main, `ScheduledTaskManager.register` skips followers), and the trigger runs
 * one poll at a time (VirtualPbxCallTrigger.node.ts). So there is no concurrent writer: a write is
 * never lost and `record` needs no second check (the trigger's SyncEnv has settleMs 0).
 *
 * The claim-phase lock is kept in memory (`lock`), not in the static data: it only has to exclude
 * overlapping polls of one process, and a lock saved by a crashed process would hold the next
 * process back for a lease. It follows the processed-items store's "latestIncrementalKey" row
 * that core.ts expects: a value is recorded when larger than the stored one (or when there is no
 * row yet, which is the acquire), `lockClear` deletes the row.
 *
 * When the state reaches n8n's database: n8n saves a trigger's static data when the trigger
 * emits (trigger-execution-context.factory.js, `emit` → `saveStaticData`) and when the workflow is
 * activated, only if it changed. A change made after an emit (the done marks written when the
 * execution succeeded) is saved with the next emit: if n8n stops in between, the restarted trigger
 * reads the older state and delivers those calls again. Every older state errs that way (fewer
 * done marks, an earlier sync point): calls may come twice, never get lost.
 *
 * Nested objects assigned to static data are not observed by n8n (ObservableObject watches the
 * objects that existed when the workflow was loaded), so every change also bumps a top-level
 * revision, which marks the static data as changed.
 */
import type { IDataObject } from 'n8n-workflow';

import type { SyncStore } from './store';

export const KEYS_FIELD = 'syncKeys';
export const REVISION_FIELD = 'syncRevision';

/** The in-memory lock row of one trigger activation. */
export interface MemoryLock {
	value?: number;
}

function keysOf(data: IDataObject): Record<string, number> {
	const keys = data[KEYS_FIELD];
	if (typeof keys === 'object' && keys !== null && !Array.isArray(keys)) return keys as Record<string, number>;
	const fresh: Record<string, number> = {};
	data[KEYS_FIELD] = fresh;
	return data[KEYS_FIELD] as Record<string, number>;
}

function touch(data: IDataObject): void {
	const revision = typeof data[REVISION_FIELD] === 'number' ? (data[REVISION_FIELD] as number) : 0;
	data[REVISION_FIELD] = revision + 1;
}

/** A SyncStore over `data` (the trigger node's static data); `lock` is this activation's lock. */
export function staticStore(data: IDataObject, lock: MemoryLock = {}): SyncStore {
	return {
		async record(keys) {
			const stored = keysOf(data);
			const had = new Set<string>();
			let changed = false;
			for (const key of keys) {
				if (Object.prototype.hasOwnProperty.call(stored, key)) {
					had.add(key);
				} else {
					stored[key] = 1;
					changed = true;
				}
			}
			if (changed) touch(data);
			return had;
		},
		async remove(keys) {
			const stored = keysOf(data);
			let changed = false;
			for (const key of keys) {
				if (Object.prototype.hasOwnProperty.call(stored, key)) {
					delete stored[key];
					changed = true;
				}
			}
			if (changed) touch(data);
		},
		async clear() {
			data[KEYS_FIELD] = {};
			touch(data);
		},
		async count() {
			return Object.keys(keysOf(data)).length;
		},
		async lockRecord(value) {
			if (lock.value !== undefined && value <= lock.value) return false;
			lock.value = value;
			return true;
		},
		async lockClear() {
			lock.value = undefined;
		},
	};
}
