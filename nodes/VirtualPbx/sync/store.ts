/**
 * The sync state of "Only Calls Not Yet Synced", kept in n8n's processed-items store (the one the
 * Remove Duplicates node uses, in n8n's database, shared by every process and every execution
 * mode, manual runs included), and the one atomic step that store offers, used as a mutex.
 *
 * What n8n 2.41.1 gives (n8n/dist/deduplication/deduplication-helper.js, read there):
 * - one database row per (workflow id, context); context '' for scope `workflow` (shared by all
 *   nodes of the workflow), `n:<node id>` for scope `node` (private to one node);
 * - every call is findOne → change in memory → update of the whole row: no transaction, the last
 *   writer wins, so two writers at once can lose each other's keys;
 * - checkProcessedAndRecord records every key it reports as new (there is no read-only test);
 * - when the row does not exist the call INSERTs it; the primary key is (workflowId, context)
 *   (@n8n/db ProcessedData: two PrimaryColumns), so of two concurrent first inserts one fails
 *   with a unique-constraint error on SQLite and on Postgres alike. That is the atomic primitive.
 */
import type { IExecuteFunctions } from 'n8n-workflow';

export type Scope = 'workflow' | 'node';

/** The operations of n8n's store the sync needs (an in-memory model of it backs the unit tests). */
export interface SyncStore {
	/** Records the keys; returns those that were already recorded (mode "entries"). */
	record(keys: string[]): Promise<Set<string>>;
	remove(keys: string[]): Promise<void>;
	clear(): Promise<void>;
	count(): Promise<number>;
	/**
	 * The lock row (node scope, mode "latestIncrementalKey"): records `value` when it is larger
	 * than the stored one, or INSERTs the row when there is none. True when `value` was new.
	 * Throws when a concurrent first insert won.
	 */
	lockRecord(value: number): Promise<boolean>;
	lockClear(): Promise<void>;
}

/**
 * Keys of the workflow-scope row kept at most (n8n drops the oldest beyond). Large enough for
 * every call of a long lookback window plus a backlog run, small enough for a row n8n rewrites
 * on every call (md5 base64, ~27 bytes a key: ~5 MB at the limit).
 */
export const MAX_ENTRIES = 200_000;

export function n8nStore(ctx: IExecuteFunctions): SyncStore {
	const entries = { mode: 'entries' as const, maxEntries: MAX_ENTRIES };
	const latest = { mode: 'latestIncrementalKey' as const };
	return {
		async record(keys) {
			if (keys.length === 0) return new Set();
			const out = await ctx.helpers.checkProcessedAndRecord(keys, 'workflow', entries);
			return new Set(out.processed.map(String));
		},
		async remove(keys) {
			if (keys.length > 0) await ctx.helpers.removeProcessed(keys, 'workflow', entries);
		},
		async clear() {
			await ctx.helpers.clearAllProcessedItems('workflow', entries);
		},
		async count() {
			return await ctx.helpers.getProcessedDataCount('workflow', entries);
		},
		async lockRecord(value) {
			const out = await ctx.helpers.checkProcessedAndRecord([value], 'node', latest);
			return out.new.length > 0;
		},
		async lockClear() {
			await ctx.helpers.clearAllProcessedItems('node', latest);
		},
	};
}
