/**
 * Calls whose write a CRM refused for their own data (Call History → Mark as Failed): each
 * failure is counted in the sync state; the call is not synced, so the next run delivers it
 * again; after "Max Attempts" it is set aside: counted as synced (it no longer holds up anything)
 * and kept on a list that Call History → Get Set-Aside Calls shows and Call History → Retry
 * Set-Aside Calls sends again.
 *
 * Keys of the sync state (workflow-scope processed-items row, core.ts):
 * - `fail:<call_uuid>:<n>` for the n-th failed attempt (n = 1..max; the first absent one is this
 *   attempt's number);
 * - `aside:<call_uuid>` while the call is set aside;
 * - `retry:<call_uuid>` once it was sent again, until Mark as Synced (or Mark as Failed setting
 *   it aside again) handles it.
 *
 * The store hashes its keys and cannot be listed, so the list itself (call uuid, the CRM's
 * words, attempts, when) lives in the workflow's static data, which n8n saves for active runs
 * (schedule, trigger, webhook, CLI) only. In runs started from the editor a call that reached
 * Max Attempts is therefore not set aside but stays pending (it comes again next run); the
 * store alone says what is set aside, so the list shown never holds a call sent again.
 */
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import { doneKey, recordVerified, type SyncEnv } from './core';

/** In the workflow's global static data: the set-aside calls, by call uuid. */
export const SET_ASIDE_KEY = 'callSyncSetAside';
/** Entries kept on the list at most (the oldest go first). */
export const MAX_SET_ASIDE = 500;
export const DEFAULT_MAX_ATTEMPTS = 3;
export const MAX_ATTEMPTS_LIMIT = 10;

export const failKey = (uuid: string, attempt: number): string => `fail:${uuid}:${attempt}`;
export const asideKey = (uuid: string): string => `aside:${uuid}`;
export const retryKey = (uuid: string): string => `retry:${uuid}`;

export interface SetAsideEntry {
	call_uuid: string;
	error: string;
	attempts: number;
	set_aside_at: string;
}

type SetAsideList = Record<string, SetAsideEntry>;

function listOf(ctx: IExecuteFunctions): SetAsideList {
	const global = ctx.getWorkflowStaticData('global');
	const list = global[SET_ASIDE_KEY];
	return typeof list === 'object' && list !== null && !Array.isArray(list) ? (list as unknown as SetAsideList) : {};
}

function saveList(ctx: IExecuteFunctions, list: SetAsideList): void {
	const entries = Object.values(list).sort((a, b) => a.set_aside_at.localeCompare(b.set_aside_at));
	const kept = entries.slice(Math.max(0, entries.length - MAX_SET_ASIDE));
	ctx.getWorkflowStaticData('global')[SET_ASIDE_KEY] = Object.fromEntries(kept.map((e) => [e.call_uuid, e])) as unknown as IDataObject;
}

/** Whether this run's static data is saved (n8n never saves it for runs started in the editor). */
export function listIsKept(ctx: IExecuteFunctions): boolean {
	return ctx.getMode() !== 'manual';
}

export interface FailureOutcome {
	attempt: number;
	setAside: boolean;
}

/**
 * Counts one failed attempt for each call (a call named twice counts once) and sets aside those
 * at `maxAttempts` when the list can be kept. Returns each call's outcome.
 */
export async function recordFailures(
	ctx: IExecuteFunctions,
	env: SyncEnv,
	failures: Map<string, string>,
	maxAttempts: number,
): Promise<Map<string, FailureOutcome>> {
	const outcome = new Map<string, FailureOutcome>();
	let open = [...failures.keys()];
	for (let attempt = 1; attempt <= maxAttempts && open.length > 0; attempt++) {
		const had = await env.store.record(open.map((uuid) => failKey(uuid, attempt)));
		for (const uuid of open) if (!had.has(failKey(uuid, attempt))) outcome.set(uuid, { attempt, setAside: false });
		open = open.filter((uuid) => had.has(failKey(uuid, attempt)));
	}
	for (const uuid of open) outcome.set(uuid, { attempt: maxAttempts + 1, setAside: false }); // beyond the attempts: set aside now
	const due = [...outcome].filter(([, o]) => o.attempt >= maxAttempts).map(([uuid]) => uuid);
	if (due.length > 0 && listIsKept(ctx)) {
		await recordVerified(env, [...due.map(doneKey), ...due.map(asideKey)]);
		await env.store.remove(due.map(retryKey));
		const list = listOf(ctx);
		const at = new Date(env.now()).toISOString();
		for (const uuid of due) {
			const o = outcome.get(uuid)!;
			o.attempt = Math.min(o.attempt, maxAttempts);
			o.setAside = true;
			list[uuid] = { call_uuid: uuid, error: failures.get(uuid)!.slice(0, 500), attempts: o.attempt, set_aside_at: at };
		}
		saveList(ctx, list);
	}
	return outcome;
}

/** Tests keys without leaving any behind: those present, the others removed again. */
async function present(env: SyncEnv, keys: string[]): Promise<Set<string>> {
	if (keys.length === 0) return new Set();
	const had = await env.store.record(keys);
	const recordedNow = keys.filter((key) => !had.has(key));
	if (recordedNow.length > 0) await env.store.remove(recordedNow);
	return had;
}

/** The calls set aside now (on the list and still marked in the sync state). */
export async function setAsideCalls(ctx: IExecuteFunctions, env: SyncEnv): Promise<SetAsideEntry[]> {
	const list = listOf(ctx);
	const entries = Object.values(list);
	const had = await present(env, entries.map((e) => asideKey(e.call_uuid)));
	// Entries no longer set aside stay on the list until Mark as Synced confirms them: a call sent
	// again is found through them (callsSentAgain).
	const current = entries.filter((e) => had.has(asideKey(e.call_uuid)));
	return current.sort((a, b) => a.set_aside_at.localeCompare(b.set_aside_at));
}

/** Sends set-aside calls again: no longer set aside, not synced, attempts counted from zero. */
export async function sendAgain(env: SyncEnv, uuids: string[]): Promise<void> {
	if (uuids.length === 0) return;
	const attempts = Array.from({ length: MAX_ATTEMPTS_LIMIT + 1 }, (_, i) => i + 1);
	await env.store.remove(uuids.flatMap((uuid) => [asideKey(uuid), doneKey(uuid), ...attempts.map((n) => failKey(uuid, n))]));
	await recordVerified(env, uuids.map(retryKey));
}

/** The listed calls sent again and not synced since: the sync delivers them whatever their hour. */
export async function callsSentAgain(ctx: IExecuteFunctions, env: SyncEnv): Promise<string[]> {
	const uuids = Object.keys(listOf(ctx));
	const had = await present(env, uuids.map(retryKey));
	return uuids.filter((uuid) => had.has(retryKey(uuid)));
}

/** What Mark as Synced removes besides the claims: a call synced is no longer sent again. */
export const syncedRemovals = (uuid: string): string[] => [retryKey(uuid)];

/** Mark as Synced drops synced calls from the list (when this run's static data is kept). */
export function dropFromList(ctx: IExecuteFunctions, uuids: string[]): void {
	if (!listIsKept(ctx)) return;
	const list = listOf(ctx);
	let changed = false;
	for (const uuid of uuids) {
		if (uuid in list) {
			delete list[uuid];
			changed = true;
		}
	}
	if (changed) saveList(ctx, list);
}
