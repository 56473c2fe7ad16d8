/**
 * A cross-process lock for token renewal, built on the one atomic step n8n offers community
 * packages: the FIRST insert of a row in its processed-items store (the store of the Remove
 * Duplicates node, in n8n's database, shared by the main process and every worker).
 *
 * What n8n 2.41.1 does (n8n/dist/deduplication/deduplication-helper.js): one row per
 * (workflow id, context), context `n:<node id>` for scope `node`; in mode "latestIncrementalKey"
 * `checkProcessedAndRecord([0])` reads the row and INSERTs it when missing, reporting 0 as new;
 * when the row exists it reports 0 as processed (0 is never larger than the stored value). The
 * primary key is (workflowId, context), so of two concurrent first inserts one throws (SQLite and
 * PostgreSQL alike). "0 reported new" therefore means "this call created the row": the lock is
 * held until `clearAllProcessedItems` deletes the row.
 *
 * The lock is per node of a saved workflow: executions of the same workflow (a burst of webhook
 * calls, on any worker) renew one at a time; the others wait for the token the holder stores.
 * Not available (then renewal runs as before, with only the store re-check): trigger and
 * load-options contexts (no such helper), a workflow without an id (the helper throws), and a
 * node whose node-scope row is used for something else (the call sync's claim lock: see
 * `renewLock` in ClientOptions).
 */
import type { DeduplicationHelperFunctions } from 'n8n-workflow';
import { sleep } from 'n8n-workflow';

/** The two operations of n8n's store the lock needs (an in-memory model backs the unit tests). */
export interface RenewLockStore {
	/** Records 0 in the node-scope row; true when this call INSERTed the row. May throw. */
	take(): Promise<boolean>;
	/** Deletes the node-scope row. */
	release(): Promise<void>;
}

/** n8n's processed-items store of this node run, or undefined when the context has none. */
export function processedItemsLock(helpers: object): RenewLockStore | undefined {
	const h = helpers as Partial<DeduplicationHelperFunctions>;
	const record = h.checkProcessedAndRecord;
	const clear = h.clearAllProcessedItems;
	if (typeof record !== 'function' || typeof clear !== 'function') return undefined;
	const options = { mode: 'latestIncrementalKey' as const };
	return {
		async take() {
			const out = await record.call(helpers, [0], 'node', options);
			return out.new.length > 0;
		},
		async release() {
			await clear.call(helpers, 'node', options);
		},
	};
}

export const lockTiming = {
	/** How often a waiting execution reads the credential store (plus up to half of it at random). */
	pollMs: 250,
	/** How long a waiting execution waits for the holder's token before renewing itself. */
	waitMs: 20_000,
};

export type LockOutcome =
	/** This execution holds the lock: re-read the store, else renew; then `release()`. */
	| { kind: 'held'; release: () => Promise<void> }
	/** Another execution's token was found in the store (and adopted by `adopted`). */
	| { kind: 'adopted' }
	/** No lock here ('unavailable'), or the holder never stored a token within the bound ('timeout'). */
	| { kind: 'none'; reason: 'unavailable' | 'timeout' };

/**
 * Takes the renewal lock, or waits until another execution stored a token.
 *
 * `adopted()` reads the credential store and returns true when it took a fresh token from it.
 * A waiting execution polls the store, and tries the lock again each time (a holder whose
 * renewal failed releases the row without storing anything: the next waiter takes over). After
 * `waitMs` without a token (a crashed holder leaves its row behind), the row is deleted and the
 * lock tried once more; if another execution is faster, this one renews without the lock.
 */
export async function lockOrAdopt(
	store: RenewLockStore | undefined,
	adopted: () => Promise<boolean>,
	now: () => number = Date.now,
): Promise<LockOutcome> {
	if (!store) return { kind: 'none', reason: 'unavailable' };
	const held = (): LockOutcome => ({
		kind: 'held',
		release: async () => {
			try {
				await store.release();
			} catch {
				// Best effort: a row left behind costs the next renewal one wait of `waitMs`.
			}
		},
	});
	let first: boolean;
	try {
		first = await store.take();
	} catch {
		// A concurrent first insert won (then the row exists and this reports "not new"), or the
		// store cannot be used here (no workflow id: this throws again).
		try {
			first = await store.take();
		} catch {
			return { kind: 'none', reason: 'unavailable' };
		}
	}
	if (first) return held();
	const deadline = now() + lockTiming.waitMs;
	for (;;) {
		await sleep(lockTiming.pollMs + Math.floor(Math.random() * (lockTiming.pollMs / 2)));
		if (await adopted()) return { kind: 'adopted' };
		if (await takeQuietly(store)) return held();
		if (now() > deadline) {
			try {
				await store.release();
			} catch {
				// Renew without the lock below.
			}
			return (await takeQuietly(store)) ? held() : { kind: 'none', reason: 'timeout' };
		}
	}
}

async function takeQuietly(store: RenewLockStore): Promise<boolean> {
	try {
		return await store.take();
	} catch {
		return false;
	}
}
