/**
 * Failure isolation for the Virtual PBX Call Trigger (issue 19's rule, "one refused record never
 * halts the rest", applied to the trigger): a call whose write the CRM refuses for its own data
 * fails every execution it is in; without isolation it would be in every poll's batch (oldest
 * first) and no call would be delivered any more. A CRM outage, which fails every execution, must
 * lose nothing.
 *
 * - The calls of a failed execution become suspects (SUSPECTS_FIELD: call_uuid → failed attempts
 *   counted). The next polls emit each suspect in an execution of its own, the other calls
 *   together in one (of at most Max Calls per Poll: suspects come on top, so that however many
 *   there are, the other calls are still delivered); at most SUSPECTS_PER_POLL suspects a poll
 *   (oldest first), so that an outage does not turn every poll into hundreds of failed
 *   executions. Calls beyond either share are not emitted that poll (their claims are dropped)
 *   and wait for a later one.
 * - A poll's executions are judged together once the last of them settled: when at least one
 *   succeeded, each call that failed alone in its execution counts one failed attempt; when every
 *   one failed (the CRM, or the workflow, is down for every call), nothing is counted.
 * - An execution that succeeded clears its calls (no longer suspects, attempts forgotten).
 * - At Max Attempts per Call a call is set aside: marked done, so it is never emitted again, and
 *   put on SET_ASIDE_FIELD (call_uuid, attempts, set_aside_at; the newest MAX_SET_ASIDE). Its
 *   failed executions, one call each, stay in n8n's execution list, where n8n's Retry runs them
 *   again once the record is fixed.
 *
 * All of it lives in the trigger node's static data next to the sync state (sync/staticStore.ts)
 * and reaches n8n's database the same way, with the next emit. Each change assigns a fresh object
 * to a top-level field, which n8n sees as a change (it does not watch nested objects added later).
 */
import type { IDataObject } from 'n8n-workflow';

import { DEFAULT_MAX_ATTEMPTS, MAX_ATTEMPTS_LIMIT, MAX_SET_ASIDE } from '../sync/aside';

export const SUSPECTS_FIELD = 'syncSuspects';
export const SET_ASIDE_FIELD = 'syncSetAside';
/** Suspects emitted (each alone) per poll at most. */
export const SUSPECTS_PER_POLL = 20;

export interface SetAsideCall {
	call_uuid: string;
	/** Failed attempts counted (Max Attempts per Call when it was set aside). */
	attempts: number;
	/** When it was set aside (ISO). */
	set_aside_at: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The suspects: call_uuid → failed attempts counted so far. */
export function suspectsOf(data: IDataObject): Record<string, number> {
	const stored = data[SUSPECTS_FIELD];
	return isRecord(stored) ? (stored as Record<string, number>) : {};
}

/** The calls set aside, oldest first. */
export function setAsideOf(data: IDataObject): SetAsideCall[] {
	const stored = data[SET_ASIDE_FIELD];
	return Array.isArray(stored) ? (stored as unknown as SetAsideCall[]) : [];
}

function saveSuspects(data: IDataObject, suspects: Record<string, number>): void {
	data[SUSPECTS_FIELD] = { ...suspects };
}

function saveSetAside(data: IDataObject, list: SetAsideCall[]): void {
	data[SET_ASIDE_FIELD] = list.slice(Math.max(0, list.length - MAX_SET_ASIDE)) as unknown as IDataObject[];
}

const isSuspect = (suspects: Record<string, number>, uuid: string): boolean => Object.prototype.hasOwnProperty.call(suspects, uuid);

/** How many calls a poll claims at most: the batch's share plus one for each suspect. */
export function claimLimit(data: IDataObject, maxCalls: number): number {
	return maxCalls + Object.keys(suspectsOf(data)).length;
}

export interface ExecutionPlan {
	/** The poll's executions: each suspect alone (oldest first), then the other calls in one. */
	executions: IDataObject[][];
	/** Calls beyond the suspects' or the batch's share: not emitted this poll (the caller drops their claims). */
	deferred: string[];
}

/** Splits a poll's claimed calls (oldest first) into its executions. */
export function planExecutions(data: IDataObject, calls: IDataObject[], maxCalls: number, perPoll = SUSPECTS_PER_POLL): ExecutionPlan {
	const suspects = suspectsOf(data);
	const alone: IDataObject[][] = [];
	const batch: IDataObject[] = [];
	const deferred: string[] = [];
	for (const call of calls) {
		const uuid = String(call.call_uuid);
		if (!isSuspect(suspects, uuid)) {
			if (batch.length < maxCalls) batch.push(call);
			else deferred.push(uuid);
		} else if (alone.length < perPoll) {
			alone.push([call]);
		} else {
			deferred.push(uuid);
		}
	}
	return { executions: batch.length > 0 ? [...alone, batch] : alone, deferred };
}

/** The executions of one poll, judged together once all of them settled. */
export class PollOutcome {
	private open: number;
	private anySucceeded = false;
	private readonly failedAlone: string[] = [];

	constructor(executions: number) {
		this.open = executions;
	}

	/**
	 * Records one execution's outcome. Returns the calls that count a failed attempt: once the
	 * poll's last execution settled and at least one of them succeeded, those that failed alone.
	 */
	settled(uuids: string[], success: boolean): string[] {
		this.open--;
		if (success) this.anySucceeded = true;
		else if (uuids.length === 1) this.failedAlone.push(uuids[0]);
		return this.open === 0 && this.anySucceeded ? this.failedAlone : [];
	}
}

/** After an execution settled: success clears its calls, failure makes them suspects. */
export function noteOutcome(data: IDataObject, uuids: string[], success: boolean): void {
	const suspects = suspectsOf(data);
	if (success) {
		if (uuids.some((uuid) => isSuspect(suspects, uuid))) {
			const kept = { ...suspects };
			for (const uuid of uuids) delete kept[uuid];
			saveSuspects(data, kept);
		}
		// A call set aside while an execution of it still ran, which then succeeded: delivered.
		const list = setAsideOf(data);
		if (list.some((entry) => uuids.includes(entry.call_uuid))) saveSetAside(data, list.filter((entry) => !uuids.includes(entry.call_uuid)));
		return;
	}
	// A call set aside meanwhile (done) never comes again: no suspect.
	const aside = new Set(setAsideOf(data).map((entry) => entry.call_uuid));
	const fresh = uuids.filter((uuid) => !isSuspect(suspects, uuid) && !aside.has(uuid));
	if (fresh.length > 0) saveSuspects(data, { ...suspects, ...Object.fromEntries(fresh.map((uuid) => [uuid, 0])) });
}

/**
 * Counts one failed attempt for each call still a suspect (one that succeeded or was set aside
 * meanwhile is skipped) and returns those that reached `maxAttempts`: they are no longer
 * suspects, the caller marks them done and lists them (`listSetAside`).
 */
export function countAttempts(data: IDataObject, uuids: string[], maxAttempts: number): SetAsideCall[] {
	const suspects = { ...suspectsOf(data) };
	const due: SetAsideCall[] = [];
	for (const uuid of new Set(uuids)) {
		if (!isSuspect(suspects, uuid)) continue;
		const attempts = Number(suspects[uuid] ?? 0) + 1;
		if (attempts >= maxAttempts) {
			delete suspects[uuid];
			due.push({ call_uuid: uuid, attempts, set_aside_at: '' });
		} else {
			suspects[uuid] = attempts;
		}
	}
	if (uuids.length > 0) saveSuspects(data, suspects);
	return due;
}

/** Puts calls on the set-aside list (a call listed already moves to the end). */
export function listSetAside(data: IDataObject, calls: SetAsideCall[], at: string): void {
	const uuids = new Set(calls.map((call) => call.call_uuid));
	const kept = setAsideOf(data).filter((entry) => !uuids.has(entry.call_uuid));
	saveSetAside(data, [...kept, ...calls.map((call) => ({ ...call, set_aside_at: at }))]);
}

/** Max Attempts per Call as a whole number from 1 to MAX_ATTEMPTS_LIMIT. */
export function attemptsLimit(value: unknown): number {
	const n = Math.floor(Number(value ?? DEFAULT_MAX_ATTEMPTS));
	return Number.isFinite(n) ? Math.min(MAX_ATTEMPTS_LIMIT, Math.max(1, n)) : DEFAULT_MAX_ATTEMPTS;
}
