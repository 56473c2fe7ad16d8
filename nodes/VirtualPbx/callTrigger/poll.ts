/**
 * The Virtual PBX Call Trigger's polls: the call sync's core (sync/core.ts `claimCalls`, the
 * pager, `isInProgress`, the window start of sync/run.ts) on a store in the trigger node's static
 * data (sync/staticStore.ts), with the execution's outcome as the confirmation:
 *
 * - each poll claims the ended calls not yet delivered (oldest first, at most Max Calls per Poll)
 *   and emits them as one execution, one item per call, with a done promise;
 * - n8n resolves that promise with the execution's IRun once it finished
 *   (trigger-execution-context.factory.js `settleDonePromise` → `getPostExecutePromise`; in queue
 *   mode main waits for the worker's job the same way): status `success` → the calls are marked
 *   done (`markSynced`) and never come again; anything else (error, crashed, canceled, waiting, a
 *   rejected promise, no execution started) → their claims are removed and the next poll delivers
 *   them again;
 * - while an execution runs its calls stay claimed (renewed every poll), so a slow execution never
 *   gets its calls delivered a second time; a claim whose outcome this process never learns (n8n
 *   was restarted meanwhile) expires after one to two "Retry After Restart" periods;
 * - failure isolation (isolation.ts): the calls of a failed execution are emitted one per
 *   execution at the next polls; a call that keeps failing alone while other executions of its
 *   poll succeed is set aside after "Max Attempts per Call" (marked done, listed).
 *
 * The state reaches n8n's database when the trigger emits (see staticStore.ts): done marks made
 * after an emit are saved by the next emit, so a restart in between delivers those calls again.
 */
import { createHash, randomInt } from 'node:crypto';

import type { IDataObject, INodeExecutionData, IRun, ITriggerFunctions } from 'n8n-workflow';

import { fetchCallPage } from '../callHistory';
import { isInProgress } from '../calls';
import { formatGmt } from '../datetime';
import { callRows } from '../actions/rows';
import type { PbxClient } from '../transport';
import { acquireLock, claimCalls, claimKey, HOUR_MS, markSynced, releaseLock, renewLock, type SyncEnv } from '../sync/core';
import { callPages, type PagerState } from '../sync/pager';
import { windowStart } from '../sync/run';
import { staticStore, type MemoryLock } from '../sync/staticStore';
import { DEFAULT_MAX_ATTEMPTS } from '../sync/aside';
import { claimLimit, countAttempts, listSetAside, noteOutcome, planExecutions, PollOutcome, SUSPECTS_PER_POLL } from './isolation';

export const HINT_FIELD = 'syncFrom';
export const FLOOR_FIELD = 'syncFloor';
/** Calls that ended before this (GMT, the first poll's time) are not new: never emitted. */
export const SINCE_FIELD = 'syncSince';

export type Direction = 'in' | 'out' | 'internal';
export type CallResult = 'answered' | 'missed';

export interface CallFilters {
	/** Empty: every direction. */
	directions: Direction[];
	/** Empty: answered and missed. */
	results: CallResult[];
	/** Extension IDs; empty: every extension. */
	extensions: string[];
}

export interface PollSettings {
	filters: CallFilters;
	lookbackMs: number;
	maxCalls: number;
	/** How long a claim lasts when its outcome is never learnt (after a restart): one to two of these. */
	leaseMs: number;
	simplify: boolean;
	/** Max Attempts per Call (default DEFAULT_MAX_ATTEMPTS). */
	maxAttempts?: number;
	/** Suspects emitted per poll at most (default SUSPECTS_PER_POLL). */
	suspectsPerPoll?: number;
}

/** Answered: the PBX says so, or the call was bridged; missed: every other ended call. */
export function resultOf(call: IDataObject): CallResult {
	if (typeof call.result === 'string' && call.result.trim().toLowerCase() === 'answered') return 'answered';
	return Number(call.bridged_duration ?? 0) > 0 ? 'answered' : 'missed';
}

export function matches(call: IDataObject, filters: CallFilters): boolean {
	if (filters.directions.length > 0 && !filters.directions.includes(String(call.flow) as Direction)) return false;
	if (filters.results.length > 0 && !filters.results.includes(resultOf(call))) return false;
	if (filters.extensions.length > 0 && !filters.extensions.includes(String(call.extension_id ?? ''))) return false;
	return true;
}

/**
 * Which calls the trigger delivers. A call in progress is judged by what cannot change (direction,
 * extension) so that it holds its hour and the window until it ended; its result is judged then.
 * An ended call that ended before the trigger's first poll is not a new call: its end never
 * changes, so leaving it out is final (and it never keeps an hour from being sealed).
 */
export function accepts(call: IDataObject, filters: CallFilters, since: string): boolean {
	if (isInProgress(call)) return matches(call, { ...filters, results: [] });
	return matches(call, filters) && String(call.end_time_gmt) >= since;
}

/** Whether n8n reported the execution as succeeded. */
export function succeeded(run: IRun | undefined): boolean {
	if (!run) return false;
	if (run.status !== undefined) return run.status === 'success';
	return run.finished === true && !run.data?.resultData?.error;
}

/** The done promise a trigger passes to `emit` (n8n resolves it with the execution's IRun). */
export type DonePromise = NonNullable<Parameters<ITriggerFunctions['emit']>[2]>;

/** What the poller needs from the trigger context (a fake one in the unit tests). */
export interface PollHost {
	client: PbxClient;
	staticData: IDataObject;
	nodeId: string;
	emit(data: INodeExecutionData[][], done: DonePromise): void;
	createDeferredPromise(): DonePromise;
	returnJsonArray(rows: IDataObject[]): INodeExecutionData[];
	debug(message: string): void;
	/** For what the user should know (a call set aside); `debug` when absent. */
	warn?(message: string): void;
}

export interface PollReport {
	emitted: number;
	read: number;
	done: number;
	inFlight: number;
	from: string;
}

/** One trigger activation: its in-memory lock and the calls of executions still running. */
export class CallPoller {
	private readonly lock: MemoryLock = {};
	/** call_uuid → the claim slots it holds, for executions whose outcome is not known yet. */
	private readonly inFlight = new Map<string, number[]>();
	private running = false;
	/** Settles of done promises still being written (the tests wait for them). */
	readonly settling = new Set<Promise<void>>();

	constructor(
		private readonly settings: PollSettings,
		private readonly envOverride: Partial<SyncEnv> = {},
	) {}

	env(host: PollHost): SyncEnv {
		return {
			store: staticStore(host.staticData, this.lock),
			now: () => Date.now(),
			sleep: async () => {},
			random: () => randomInt(0, 1_000_000) / 1_000_000,
			// One process, one poll at a time: nothing can overwrite a write (staticStore.ts).
			settleMs: 0,
			...this.envOverride,
		};
	}

	/** One poll; undefined when the previous poll is still running (that tick is skipped). */
	async poll(host: PollHost): Promise<PollReport | undefined> {
		if (this.running) return undefined;
		this.running = true;
		try {
			return await this.pollOnce(host);
		} finally {
			this.running = false;
		}
	}

	private async pollOnce(host: PollHost): Promise<PollReport> {
		const { filters, lookbackMs, maxCalls, leaseMs } = this.settings;
		const env = this.env(host);
		const data = host.staticData;
		const now = env.now();
		if (typeof data[SINCE_FIELD] !== 'string') {
			// The first poll: new calls are those that end from now on; the window reaches one
			// lookback back for calls that started before and end later.
			data[SINCE_FIELD] = formatGmt(now);
			data[FLOOR_FIELD] = formatGmt(Math.floor((now - lookbackMs) / HOUR_MS) * HOUR_MS);
		}
		const since = data[SINCE_FIELD] as string;
		const floor = typeof data[FLOOR_FIELD] === 'string' ? (data[FLOOR_FIELD] as string) : since;
		const hint = typeof data[HINT_FIELD] === 'string' ? (data[HINT_FIELD] as string) : undefined;
		const start = windowStart(hint, lookbackMs, now, floor, floor);

		// Calls of executions still running stay claimed in the current slot.
		const slot = Math.floor(now / leaseMs);
		const renew: string[] = [];
		for (const [uuid, slots] of this.inFlight) {
			if (!slots.includes(slot)) {
				slots.push(slot);
				renew.push(claimKey(uuid, slot));
			}
		}
		if (renew.length > 0) await env.store.record(renew);

		const end = formatGmt(now);
		const pager: PagerState = { perPage: 0, requests: 0 };
		const pages = callPages(
			async ({ start: from, page, perPage }) =>
				await fetchCallPage(host.client, 0, { start_datetime: from, end_datetime: end, order: 'asc' }, page, perPage),
			start,
			pager,
		);
		await acquireLock(env);
		let result;
		try {
			result = await claimCalls(
				env,
				pages,
				{
					leaseMs,
					// Suspects come on top of the batch's Max Calls per Poll (isolation.ts).
					maxCalls: claimLimit(data, maxCalls),
					accept: (call) => accepts(call, filters, since),
					pending: isInProgress,
					seal: { scope: sealScope(host.nodeId, filters), lookbackMs, from: start },
				},
				async () => await renewLock(env),
			);
		} finally {
			await releaseLock(env);
		}
		if (result.hint) data[HINT_FIELD] = result.hint;
		const report: PollReport = { emitted: result.calls.length, read: result.read, done: result.done, inFlight: this.inFlight.size, from: start };
		host.debug(
			`Virtual PBX Call Trigger: read ${result.read} calls from ${start}, ${result.done} delivered already, ${result.claimedElsewhere} in executions still running, ${result.calls.length} emitted; sealed ${result.sealed} hours; ${pager.requests} requests`,
		);
		if (result.calls.length === 0) return report;

		// Suspects alone, the other calls together; calls beyond either share wait unclaimed.
		const plan = planExecutions(data, result.calls, maxCalls, this.settings.suspectsPerPoll ?? SUSPECTS_PER_POLL);
		if (plan.deferred.length > 0) {
			await env.store.remove(plan.deferred.map((uuid) => claimKey(uuid, result.slot)));
			host.debug(`Virtual PBX Call Trigger: ${plan.deferred.length} calls wait for a later poll`);
		}
		report.emitted = result.calls.length - plan.deferred.length;
		const outcome = new PollOutcome(plan.executions.length);
		for (const calls of plan.executions) this.emitExecution(host, env, calls, result.slot, outcome);
		report.inFlight = this.inFlight.size;
		return report;
	}

	private emitExecution(host: PollHost, env: SyncEnv, calls: IDataObject[], slot: number, outcome: PollOutcome): void {
		const uuids = calls.map((call) => String(call.call_uuid));
		for (const uuid of uuids) this.inFlight.set(uuid, [slot]);
		const done = host.createDeferredPromise();
		const settle = done.promise.then(
			async (run: IRun | undefined) => await this.settle(host, env, uuids, succeeded(run), outcome),
			async () => await this.settle(host, env, uuids, false, outcome),
		);
		this.settling.add(settle);
		void settle.finally(() => this.settling.delete(settle));
		host.emit([host.returnJsonArray(callRows(calls, this.settings.simplify))], done);
	}

	/**
	 * Success: the calls are delivered. Otherwise their claims go, they become suspects and the
	 * next poll delivers them again; once the poll's last execution settled, calls that failed
	 * alone count an attempt if another execution succeeded, and those at Max Attempts are set aside.
	 */
	private async settle(host: PollHost, env: SyncEnv, uuids: string[], success: boolean, outcome: PollOutcome): Promise<void> {
		const slots = [...new Set(uuids.flatMap((uuid) => this.inFlight.get(uuid) ?? []))];
		for (const uuid of uuids) this.inFlight.delete(uuid);
		// Suspects before the claims go: a poll that claims them again emits them alone.
		noteOutcome(host.staticData, uuids, success);
		if (success) {
			await markSynced(env, uuids, slots);
		} else {
			await env.store.remove(uuids.flatMap((uuid) => slots.map((slot) => claimKey(uuid, slot))));
		}
		const due = countAttempts(host.staticData, outcome.settled(uuids, success), this.settings.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
		if (due.length === 0) return;
		await markSynced(env, due.map((call) => call.call_uuid));
		listSetAside(host.staticData, due, new Date(env.now()).toISOString());
		for (const call of due) {
			(host.warn ?? host.debug).call(
				host,
				`Virtual PBX Call Trigger: call ${call.call_uuid} set aside after ${call.attempts} failed attempts (its executions failed while others succeeded); it is not emitted again. Retry its failed executions in the execution list once the record is fixed.`,
			);
		}
	}
}

/** Seals belong to one trigger node and its filters. */
function sealScope(nodeId: string, filters: CallFilters): string {
	return createHash('md5')
		.update(JSON.stringify([nodeId, filters]))
		.digest('base64url')
		.slice(0, 10);
}

/**
 * "Fetch Test Event": up to `count` recent ended calls matching the filters, newest window first
 * read (newest first, then output oldest first). Reads no state and writes none.
 */
export async function recentCalls(client: PbxClient, filters: CallFilters, count: number, nowMs: number, days = 7, maxPages = 5): Promise<IDataObject[]> {
	const found: IDataObject[] = [];
	const query = { start_datetime: formatGmt(nowMs - days * 24 * HOUR_MS), end_datetime: formatGmt(nowMs), order: 'desc' };
	const perPage = 100;
	for (let page = 1; page <= maxPages && found.length < count; page++) {
		const rows = await fetchCallPage(client, 0, query, page, perPage);
		for (const call of rows) {
			if (found.length < count && !isInProgress(call) && matches(call, filters)) found.push(call);
		}
		if (rows.length < perPage) break;
	}
	return found.reverse();
}
