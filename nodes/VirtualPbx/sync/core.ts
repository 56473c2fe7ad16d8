/**
 * "Only Calls Not Yet Synced": exactly-once delivery of call-history rows to the end of a
 * workflow, on n8n's processed-items store (see store.ts for what that store can and cannot do).
 *
 * Keys of the workflow-scope row (shared by Get Many and Mark as Synced of one workflow):
 * - `done:<call_uuid>`: written by Mark as Synced only. A call with it never comes again.
 * - `seal:<scope>:<hour>:a|b`: written by Get Many (under the lock) for an hour of call start
 *   times that ended more than one lookback ago and whose calls are all done; the hour is then
 *   skipped whole and the `done:` keys of its calls are removed (see sealCandidates). So the row
 *   holds the `done:` keys of recent hours plus one pair of keys an hour, not every call ever
 *   synced; n8n rewrites the whole row on every store call, so its size is each run's cost.
 * - `claim:<call_uuid>:<slot>`, slot = floor(now / lease): written by Get Many for the calls it
 *   outputs. A call is claimed while a key of the current or the previous slot exists, i.e. for
 *   one to two leases. A run that fails before Mark as Synced leaves its claims to expire, and a
 *   later run delivers those calls again ("Retry Unsynced Calls After"). Mark as Synced removes
 *   the claim keys of the calls it confirms.
 *
 * Get Many checks claims first (recording a claim key is harmless: it is a claim) and checks
 * `done:` only for calls nobody claims; since the store cannot test without recording, the
 * `done:` keys it records for calls that are not done are removed right away.
 *
 * Lost updates (two writers of the row at once): every writer checks its own keys again after
 * SETTLE_MS (longer than one read-modify-write of the row) and repeats until they are all
 * there; checking re-adds a lost key.
 *
 * Overlapping Get Many runs take turns: their claim phase runs under a lock in Get Many's own
 * node-scope row, acquired by INSERTing that row (atomic) and released by deleting it.
 *
 * What remains unguarded, stated plainly: removing a `done:` key recorded only as a test can be
 * undone by a Mark as Synced of another run writing the row at the same moment (the store has
 * no compare-and-set); that call would then count as synced. It needs a new call to be checked
 * in the very second another run's Mark as Synced writes. A call whose claim expired while its
 * run was still working (a run longer than the lease) can be delivered twice. Sealing assumes a
 * call is listed within the lookback of its start (a call listed later, in a sealed hour, is
 * skipped) and one sync reader per call (a second Get Many node reading the same calls would
 * find their `done:` keys pruned by the first one's seals). A removal lost to a concurrent
 * rewrite of the row leaves stale keys behind: harmless, they only take room.
 */
import type { IDataObject } from 'n8n-workflow';

import type { SyncStore } from './store';

export interface SyncEnv {
	store: SyncStore;
	now(): number;
	sleep(ms: number): Promise<void>;
	random(): number;
	/** Wait before checking one's own writes again; longer than one read-modify-write. */
	settleMs: number;
	/** Lifetime of the lock's expiry (LOCK_LEASE_MS; shorter in tests). */
	lockLeaseMs?: number;
}

export const SETTLE_MS = 1000;
/** A crashed holder's lock is taken over after this; a live holder renews it after each page. */
export const LOCK_LEASE_MS = 120_000;
/** How long a run waits for another run's claim phase before failing with a clear message. */
export const LOCK_WAIT_MS = 300_000;
const VERIFY_ROUNDS = 10;

export const doneKey = (uuid: string): string => `done:${uuid}`;
export const claimKey = (uuid: string, slot: number): string => `claim:${uuid}:${slot}`;

export class SyncBusyError extends Error {}
export class SyncStoreError extends Error {}

async function pause(env: SyncEnv, base: number): Promise<void> {
	await env.sleep(base + Math.floor(env.random() * base));
}

/**
 * Takes the claim-phase lock. The lock row holds the holder's expiry (epoch ms, mode
 * latestIncrementalKey); recording 0 can only be "new" when the row did not exist, i.e. when
 * this call INSERTed it: that is the atomic acquire (of two concurrent INSERTs one fails).
 *
 * A crashed holder leaves its row; a live one renews its expiry after every page. Only a run
 * that has waited one lock lease looks at the expiry (before, a crashed holder's expiry cannot
 * have passed; and that look can itself insert a row, so waiters of a live claim phase, which
 * takes seconds, never make it); an expiry in the past, seen twice, is deleted and the acquire
 * tried again. Two waiters recovering from a crash at the same instant can still race: the
 * store offers nothing better.
 */
export async function acquireLock(env: SyncEnv, maxWaitMs = LOCK_WAIT_MS): Promise<void> {
	const started = env.now();
	for (;;) {
		let inserted = false;
		try {
			inserted = await env.store.lockRecord(0);
		} catch {
			inserted = false; // another run's INSERT won
		}
		if (inserted && (await holdLock(env))) return;
		if (!inserted && env.now() - started > leaseOf(env) && (await expired(env))) {
			await env.sleep(3 * env.settleMs);
			if (await expired(env)) {
				await env.store.lockClear();
				await pause(env, env.settleMs);
				continue;
			}
		}
		if (env.now() - started > maxWaitMs) {
			throw new SyncBusyError('Another run of this workflow has been reading call history for too long');
		}
		await pause(env, env.settleMs);
	}
}

const leaseOf = (env: SyncEnv): number => env.lockLeaseMs ?? LOCK_LEASE_MS;

/**
 * Whether the lock row holds an expiry in the past. Recording a past time never extends a
 * lock; when the row was just deleted (released) it INSERTs a row that is itself expired, and
 * when a concurrent INSERT wins the answer is "not expired": either way the caller looks again.
 */
async function expired(env: SyncEnv): Promise<boolean> {
	try {
		return await env.store.lockRecord(env.now() - 2 * env.settleMs);
	} catch {
		return false;
	}
}

/** Writes this holder's expiry and checks it stuck; false when the row was taken meanwhile. */
export async function holdLock(env: SyncEnv): Promise<boolean> {
	const expiry = env.now() + leaseOf(env);
	try {
		await env.store.lockRecord(expiry);
		for (let round = 0; round < VERIFY_ROUNDS; round++) {
			await env.sleep(env.settleMs);
			if (!(await env.store.lockRecord(expiry))) return true; // the stored expiry is ours (or later)
		}
	} catch {
		return false;
	}
	return false;
}

/** Pushes the holder's expiry forward (after each page). */
export async function renewLock(env: SyncEnv): Promise<void> {
	await env.store.lockRecord(env.now() + leaseOf(env));
}

export async function releaseLock(env: SyncEnv): Promise<void> {
	await env.store.lockClear();
}

/**
 * Records keys, then checks them again after SETTLE_MS until none was lost (one check when
 * nothing raced). Returns the number of store calls made.
 */
export async function recordVerified(env: SyncEnv, keys: string[]): Promise<number> {
	if (keys.length === 0) return 0;
	await env.store.record(keys);
	for (let round = 0; round < VERIFY_ROUNDS; round++) {
		await pause(env, env.settleMs);
		const had = await env.store.record(keys);
		if (keys.every((key) => had.has(key))) return round + 2;
	}
	throw new SyncStoreError('The sync state could not be written: other runs kept overwriting it');
}

export interface SealOptions {
	/** Tells apart the sync nodes (and filters) of one workflow: a seal covers only its reader's calls. */
	scope: string;
	/** The Lookback (ms): the longest a call may take to appear in call history after it started. */
	lookbackMs: number;
	/** Where this run's window starts (GMT): an hour that begins before it was not read whole. */
	from: string;
}

export interface ClaimOptions {
	/** Claims expire after one to two leases. */
	leaseMs: number;
	maxCalls: number;
	/** False for calls the run skips (internal calls): never claimed, never output. */
	accept(call: IDataObject): boolean;
	/**
	 * True for calls not finished yet (still in progress): neither claimed nor output nor counted
	 * as done, their hour is never sealed, and they hold the next run's window back (unless they
	 * started more than one lookback before the newest call read), so they come once they ended.
	 */
	pending?(call: IDataObject): boolean;
	/**
	 * Calls asked for again (set-aside calls sent again): delivered like the others whatever
	 * hour they are in (a sealed one included) and never moving the next run's window.
	 */
	again?: Set<string>;
	/** Seal old hours whose calls are all synced and prune their `done:` keys (see sealCandidates). */
	seal?: SealOptions;
}

export interface ClaimResult {
	calls: IDataObject[];
	/** Safe start for the next run's window (before its lookback): see `hintOf`. */
	hint?: string;
	/** Calls read (all pages, duplicates within the run not counted). */
	read: number;
	/** Calls skipped because they are synced already, or claimed by a run still working. */
	done: number;
	claimedElsewhere: number;
	/** The claim slot the run's calls were claimed in (Mark as Synced removes those claim keys). */
	slot: number;
	/** Hours sealed by this run, and `done:` keys pruned with them. */
	sealed: number;
	pruned: number;
	/** Store calls (each one read-modify-write of the row) made by the claim phase. */
	storeCalls: number;
}

const startOf = (call: IDataObject): string => String(call.start_time_gmt ?? '');

export const HOUR_MS = 3_600_000;
/** 'YYYY-MM-DD HH' of a GMT time 'YYYY-MM-DD HH:MM:SS'. */
const hourOf = (gmt: string): string => gmt.slice(0, 13);
const gmtMs = (gmt: string): number => Date.parse(`${gmt.slice(0, 19).replace(' ', 'T')}Z`);
const formatGmtMs = (ms: number): string => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
const hourStartMs = (hour: string): number => Date.parse(`${hour.replace(' ', 'T')}:00:00Z`);

/**
 * A sealed hour: every call of it this node reads is synced, and no call of it can still appear.
 * Two keys, both written by the sealer, both needed: checking a key records it, and a check's
 * clean-up (removal) undone by a concurrent writer of the row would leave one key standing, which
 * alone seals nothing (it would take the same accident twice, on the other key).
 */
export const sealKeys = (scope: string, hour: string): [string, string] => [`seal:${scope}:${hour}:a`, `seal:${scope}:${hour}:b`];

interface HourState {
	sealed: boolean;
	/** Every call of the hour this run checked was found done (none returned, claimed or left). */
	allDone: boolean;
	/** The done calls of the hour (their `done:` keys are pruned when the hour is sealed). */
	doneUuids: string[];
}

/**
 * Hours this run may seal: not sealed yet, begun at or after the window's start (read whole from
 * their beginning), every call of them found done, and ended at least one lookback before the
 * PBX's clock when the run began. That clock is never read from this machine (it may be skewed):
 * the newest call the run saw had started by the last page's request, so the PBX's clock at the
 * first request was at least `newest start − run time`. A call of a sealed hour listed within the
 * lookback of its start was therefore listed before the first page was asked for, and read.
 * That also proves the hour was read to its end (a later call was read after it).
 */
export function sealCandidates(hours: Map<string, HourState>, from: string, newestSeen: string, elapsedMs: number, lookbackMs: number): string[] {
	if (newestSeen === '') return [];
	const horizon = gmtMs(newestSeen) - Math.max(0, elapsedMs) - lookbackMs;
	const fromMs = gmtMs(from);
	const out: string[] = [];
	for (const [hour, state] of hours) {
		const begins = hourStartMs(hour);
		if (!state.sealed && state.allDone && state.doneUuids.length > 0 && begins >= fromMs && begins + HOUR_MS <= horizon) out.push(hour);
	}
	return out;
}

/**
 * The claim phase (call it under the lock): reads pages oldest first, keeps the calls neither
 * done nor claimed, claims them, stops after `maxCalls`. Calls are told apart by call_uuid, so a
 * call seen twice in a run (page shifts, overlapping re-reads) counts once.
 *
 * With `seal`, hours already sealed are skipped whole (two keys checked per hour, not three per
 * call), and old hours found all done are sealed and their `done:` keys removed: the row keeps
 * what later runs still need (recent calls, seals), not every call ever synced. Seals are checked,
 * written and used only inside the claim phase, i.e. under the lock.
 */
export async function claimCalls(
	env: SyncEnv,
	pages: AsyncIterable<IDataObject[]>,
	options: ClaimOptions,
	onPage?: () => Promise<void>,
): Promise<ClaimResult> {
	const began = env.now();
	const slot = Math.floor(began / options.leaseMs);
	const seen = new Set<string>();
	const out: IDataObject[] = [];
	const hours = new Map<string, HourState>();
	const seal = options.seal;
	let storeCalls = 0;
	const record = async (keys: string[]): Promise<Set<string>> => {
		if (keys.length === 0) return new Set();
		storeCalls++;
		return await env.store.record(keys);
	};
	let newestSeen = '';
	let oldestKept = '';
	const pendingStarts: string[] = [];
	const pendingHours = new Set<string>();
	const again = options.again ?? new Set<string>();
	let done = 0;
	let claimedElsewhere = 0;
	const keep = (call: IDataObject): void => {
		if (again.has(String(call.call_uuid))) return;
		const start = startOf(call);
		if (oldestKept === '' || start < oldestKept) oldestKept = start;
	};
	const hourState = (call: IDataObject): HourState | undefined => hours.get(hourOf(startOf(call)));
	const notDone = (call: IDataObject): void => {
		const state = hourState(call);
		if (state) state.allDone = false;
	};
	for await (const rows of pages) {
		let fresh: Array<{ call: IDataObject; uuid: string }> = [];
		for (const call of rows) {
			const uuid = String(call.call_uuid ?? '');
			if (uuid === '' || seen.has(uuid)) continue;
			seen.add(uuid);
			if (!again.has(uuid) && startOf(call) > newestSeen) newestSeen = startOf(call);
			if (!options.accept(call)) continue;
			if (options.pending?.(call)) {
				pendingStarts.push(startOf(call));
				pendingHours.add(hourOf(startOf(call)));
				continue;
			}
			fresh.push({ call, uuid });
		}
		const undo: string[] = [];
		if (seal && fresh.length > 0) {
			// Hours met for the first time in this run: sealed ones are skipped whole.
			const unknown = [...new Set(fresh.filter(({ uuid }) => !again.has(uuid)).map(({ call }) => hourOf(startOf(call))))].filter((hour) => !hours.has(hour));
			if (unknown.length > 0) {
				const hadA = await record(unknown.map((hour) => sealKeys(seal.scope, hour)[0]));
				const maybe = unknown.filter((hour) => hadA.has(sealKeys(seal.scope, hour)[0]));
				const hadB = await record(maybe.map((hour) => sealKeys(seal.scope, hour)[1]));
				for (const hour of unknown) {
					const [a, b] = sealKeys(seal.scope, hour);
					const sealed = hadA.has(a) && hadB.has(b);
					hours.set(hour, { sealed, allDone: true, doneUuids: [] });
					if (!hadA.has(a)) undo.push(a); // recorded only as a test
					else if (!hadB.has(b)) undo.push(b);
				}
			}
			const before = fresh.length;
			fresh = fresh.filter(({ call, uuid }) => again.has(uuid) || !hourState(call)!.sealed);
			done += before - fresh.length;
		}
		if (fresh.length > 0) {
			const keys = (uuid: string): [string, string] => [claimKey(uuid, slot), claimKey(uuid, slot - 1)];
			const had = await record(fresh.flatMap(({ uuid }) => keys(uuid)));
			const free: typeof fresh = [];
			for (const entry of fresh) {
				const pair = keys(entry.uuid);
				if (pair.some((key) => had.has(key))) {
					claimedElsewhere++;
					keep(entry.call);
					notDone(entry.call);
					undo.push(...pair.filter((key) => !had.has(key)));
				} else {
					free.push(entry);
				}
			}
			const doneHad = await record(free.map(({ uuid }) => doneKey(uuid)));
			for (const entry of free) {
				const pair = keys(entry.uuid);
				if (doneHad.has(doneKey(entry.uuid))) {
					done++;
					hourState(entry.call)?.doneUuids.push(entry.uuid);
					undo.push(...pair);
					continue;
				}
				notDone(entry.call);
				undo.push(doneKey(entry.uuid)); // recorded only as a test
				if (out.length < options.maxCalls) {
					out.push(entry.call);
					keep(entry.call);
					undo.push(pair[1]);
				} else {
					undo.push(...pair); // beyond Max Calls per Run: left for the next run
				}
			}
		}
		if (undo.length > 0) {
			storeCalls++;
			await env.store.remove(undo);
		}
		if (onPage) await onPage();
		if (out.length >= options.maxCalls) break;
	}
	const toSeal = seal ? sealCandidates(hours, seal.from, newestSeen, env.now() - began, seal.lookbackMs).filter((hour) => !pendingHours.has(hour)) : [];
	// Calls in progress hold the next window back, unless they started more than one lookback
	// before the newest call read (a call longer than the lookback is not waited for).
	const horizon = newestSeen === '' || !seal ? '' : formatGmtMs(gmtMs(newestSeen) - seal.lookbackMs);
	for (const start of pendingStarts) {
		if (start >= horizon && (oldestKept === '' || start < oldestKept)) oldestKept = start;
	}
	// Claims lost to a concurrent writer of the row are written again; seals are checked to have
	// stuck before the `done:` keys they replace are removed.
	const claims = out.map((call) => claimKey(String(call.call_uuid), slot));
	const seals = seal ? toSeal.flatMap((hour) => sealKeys(seal.scope, hour)) : [];
	storeCalls += await recordVerified(env, [...claims, ...seals]);
	const prune = toSeal.flatMap((hour) => hours.get(hour)!.doneUuids.map(doneKey));
	if (prune.length > 0) {
		storeCalls++;
		await env.store.remove(prune);
	}
	return {
		calls: out,
		hint: oldestKept || newestSeen || undefined,
		read: seen.size,
		done,
		claimedElsewhere,
		slot,
		sealed: toSeal.length,
		pruned: prune.length,
		storeCalls,
	};
}

/**
 * Records the calls as synced, then removes their claim keys (no longer needed once `done:` is
 * there). `slots`: the claim slots of this execution's Get Many; a claim key left behind (another
 * slot) only takes room until n8n drops the oldest keys.
 */
export async function markSynced(env: SyncEnv, uuids: string[], slots: number[] = [], extraRemovals: (uuid: string) => string[] = () => []): Promise<void> {
	const unique = [...new Set(uuids)];
	await recordVerified(env, unique.map(doneKey));
	const removals = unique.flatMap((uuid) => [...slots.map((slot) => claimKey(uuid, slot)), ...extraRemovals(uuid)]);
	if (removals.length > 0) await env.store.remove(removals);
}
