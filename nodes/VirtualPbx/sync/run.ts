/**
 * The sync operations inside n8n: Get Many's "Only Calls Not Yet Synced", Mark as Synced and
 * Reset Sync State, on n8n's processed-items store (store.ts) and the core (core.ts).
 *
 * Where a run starts reading: from the configured Start on the first run and after a reset
 * (the store is empty); otherwise from a hint minus the lookback, rounded down to the hour
 * before (so that runs read whole hours, which they can seal: core.ts). The hint (the oldest call the
 * last run returned or saw claimed, else the newest call it read) is kept in Get Many's workflow
 * static data. n8n saves static data only for production runs (schedule, CLI, webhook), never
 * for manual runs, so in the editor the hint does not move and every run reads from Start:
 * slower, never wrong, because which calls are synced lives in the store alone (sealed hours,
 * which the store holds too, are skipped at two keys an hour). A lower hint is
 * always safe; the lookback makes a stale one harmless. The lookback never reaches before the
 * Start of the first run (kept beside the hint), so calls left out by Start stay out.
 */
import { createHash, randomInt } from 'node:crypto';

import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError, sleep } from 'n8n-workflow';

import { fetchCall, fetchCallPage } from '../callHistory';
import { isInProgress } from '../calls';
import { formatGmt } from '../datetime';
import type { PbxClient } from '../transport';
import { isOutageItem } from '../../shared/items';
import { callsSentAgain, dropFromList, syncedRemovals } from './aside';
import { HOUR_MS, SETTLE_MS, SyncBusyError, SyncStoreError, acquireLock, claimCalls, claimKey, markSynced, releaseLock, renewLock, type SyncEnv } from './core';
import { callPages, type PagerState } from './pager';
import { n8nStore } from './store';

export const HINT_KEY = 'syncFrom';
export const FLOOR_KEY = 'syncFloor';
/** In the workflow's global static data: this execution's claim slots, for Mark as Synced. */
export const CLAIMS_KEY = 'callSyncClaims';

/** The sync's environment inside n8n (tests may shorten the settle time). */
export function n8nEnv(ctx: IExecuteFunctions, override: Partial<SyncEnv> = {}): SyncEnv {
	return {
		store: n8nStore(ctx),
		now: () => Date.now(),
		sleep: async (ms) => await sleep(ms),
		random: () => randomInt(0, 1_000_000) / 1_000_000,
		settleMs: SETTLE_MS,
		...override,
	};
}

function gmtToMs(value: string): number {
	return Date.parse(`${value.replace(' ', 'T')}Z`);
}

function storeError(ctx: IExecuteFunctions, error: unknown, itemIndex: number): unknown {
	if (error instanceof SyncBusyError) {
		return new NodeOperationError(ctx.getNode(), 'Another run of this workflow is still reading call history', {
			itemIndex,
			description:
				'Only one run at a time picks calls to sync; this run waited 5 minutes. If no run is active, the waiting ends by itself within 2 minutes of the last one stopping.',
		});
	}
	if (error instanceof SyncStoreError) {
		return new NodeOperationError(ctx.getNode(), error.message, { itemIndex, description: 'Run the workflow again; calls not marked as synced come again.' });
	}
	return error;
}

/** What a sync reads, from the operation's (or trigger's) parameters. */
export interface SyncSettings {
	/** Where the first run starts (GMT 'YYYY-MM-DD HH:MM:SS'). */
	start: string;
	lookbackMs: number;
	maxCalls: number;
	leaseMs: number;
	skipInternal: boolean;
	/** Call-history query filters (flow, extension_id, to_username, from_username). */
	filters: IDataObject;
}

/** Prepends the calls sent again to the pages of the window. */
async function* withAgain(again: IDataObject[], pages: AsyncIterable<IDataObject[]>): AsyncGenerator<IDataObject[]> {
	if (again.length > 0) yield again;
	yield* pages;
}

/**
 * Where a run's window starts (GMT): `start` without a hint; else the hint minus the lookback, back
 * to the start of the hour before: a run then reads whole hours it can seal (core.ts) whatever the
 * time between runs; sealed hours cost two keys. Never before `floor`. Shared with the Call Trigger.
 */
export function windowStart(hint: string | undefined, lookbackMs: number, nowMs: number, floor: string, start: string): string {
	if (!hint) return start;
	const from = Math.min(gmtToMs(hint) - lookbackMs, nowMs);
	const out = formatGmt(Math.floor(from / HOUR_MS) * HOUR_MS - HOUR_MS);
	return out < floor ? floor : out;
}

export async function syncCalls(ctx: IExecuteFunctions, client: PbxClient, itemIndex: number, settings: SyncSettings, override: Partial<SyncEnv> = {}): Promise<IDataObject[]> {
	const { start: configuredStart, lookbackMs, maxCalls, leaseMs, skipInternal, filters } = settings;
	const env = n8nEnv(ctx, override);
	// The claim lock lives in this node's processed-items row: the token renewal lock
	// (shared/renewLock.ts) uses the same row and must never be taken in this run.
	client.renewLock = false;
	const staticData = ctx.getWorkflowStaticData('node');

	const empty = (await env.store.count()) === 0;
	const hint = !empty && typeof staticData[HINT_KEY] === 'string' ? (staticData[HINT_KEY] as string) : undefined;
	// The first run's Start is the floor: the lookback never reaches calls before it (Start is
	// often "now minus a day", and those older calls were left out on purpose).
	if (empty || typeof staticData[FLOOR_KEY] !== 'string') staticData[FLOOR_KEY] = configuredStart;
	const floor = staticData[FLOOR_KEY] as string;
	const start = windowStart(hint, lookbackMs, env.now(), floor, configuredStart);
	const end = formatGmt(env.now());
	const pager: PagerState = { perPage: 0, requests: 0 };
	// Set-aside calls sent again (Retry Set-Aside Calls): read one by one, delivered whatever their hour.
	const againUuids = empty ? [] : await callsSentAgain(ctx, env);
	const againRows: IDataObject[] = [];
	for (const uuid of againUuids) {
		const call = await fetchCall(client, itemIndex, uuid);
		if (call) againRows.push(call);
	}
	const pages = withAgain(
		againRows,
		callPages(
			async ({ start: from, page, perPage }) =>
				await fetchCallPage(client, itemIndex, { ...filters, start_datetime: from, end_datetime: end, order: 'asc' }, page, perPage),
			start,
			pager,
		),
	);

	try {
		await acquireLock(env);
	} catch (error) {
		throw storeError(ctx, error, itemIndex);
	}
	let result;
	try {
		result = await claimCalls(
			env,
			pages,
			{
				leaseMs,
				maxCalls,
				accept: (call) => !(skipInternal && call.flow === 'internal'),
				// Only ended calls are delivered: one still in progress comes once it ended.
				pending: isInProgress,
				again: new Set(againRows.map((call) => String(call.call_uuid))),
				seal: { scope: sealScope(ctx, filters, skipInternal), lookbackMs, from: start },
			},
			async () => await renewLock(env),
		);
	} catch (error) {
		throw storeError(ctx, error, itemIndex);
	} finally {
		await releaseLock(env);
	}
	if (result.hint) staticData[HINT_KEY] = result.hint;
	noteClaimSlot(ctx, result.slot);
	ctx.logger.debug(
		`Call sync: read ${result.read} calls from ${start}, ${result.done} synced already, ${result.claimedElsewhere} claimed by another run, ${result.calls.length} output; sealed ${result.sealed} hours, pruned ${result.pruned} done keys; ${result.storeCalls} store calls`,
	);
	return result.calls;
}

/** Seals belong to one sync node and its filters (another node may read other calls of an hour). */
function sealScope(ctx: IExecuteFunctions, filters: IDataObject, skipInternal: boolean): string {
	return createHash('md5')
		.update(JSON.stringify([ctx.getNode().id, filters, skipInternal]))
		.digest('base64url')
		.slice(0, 10);
}

/**
 * Tells Mark as Synced (same execution) which claim slot the calls were claimed in, so that it
 * removes those claim keys: the workflow's global static data is one object for all nodes of an
 * execution. Another execution's note is ignored.
 */
function noteClaimSlot(ctx: IExecuteFunctions, slot: number): void {
	const global = ctx.getWorkflowStaticData('global');
	const execution = ctx.getExecutionId();
	const note = global[CLAIMS_KEY] as { execution?: string; slots?: number[] } | undefined;
	const slots = note?.execution === execution && Array.isArray(note.slots) ? note.slots : [];
	if (!slots.includes(slot)) global[CLAIMS_KEY] = { execution, slots: [...slots, slot].slice(-4) };
}

export function claimSlots(ctx: IExecuteFunctions): number[] {
	const note = ctx.getWorkflowStaticData('global')[CLAIMS_KEY] as { execution?: string; slots?: unknown } | undefined;
	if (!note || note.execution !== ctx.getExecutionId() || !Array.isArray(note.slots)) return [];
	return note.slots.filter((slot): slot is number => typeof slot === 'number');
}

/** The call_uuid of an item for Mark as Synced, checked. */
export function callUuidOf(ctx: IExecuteFunctions, itemIndex: number): string {
	const value = ctx.getNodeParameter('callUuid', itemIndex, '') as unknown;
	const text = typeof value === 'string' ? value.trim() : typeof value === 'number' ? String(value) : '';
	if (text === '') {
		throw new NodeOperationError(ctx.getNode(), 'The "Call UUID" parameter is empty', {
			itemIndex,
			description: 'Map the call_uuid of the call this item is about, e.g. {{ $json.call_uuid }} or {{ $(\'Get Calls\').item.json.call_uuid }}.',
		});
	}
	return text;
}

/**
 * Mark as Synced / Mark as Failed never handle a call whose write did not happen because the
 * vendor was failing (an outage error item of a write step under continue-on-fail, see
 * shared/items.ts): the run stops instead, nothing is marked, and every call comes again.
 */
export function refuseOutageItems(ctx: IExecuteFunctions): void {
	const items = ctx.getInputData();
	const itemIndex = items.findIndex((item) => isOutageItem(item));
	if (itemIndex < 0) return;
	const said = String(items[itemIndex].json.error ?? '');
	throw new NodeOperationError(ctx.getNode(), 'A step before this one could not write the call: the service it writes to is failing, so the run stops and the calls come again in the next run', {
		itemIndex,
		description: `What that step was told: ${said.slice(0, 300)}. Nothing is marked for these calls; once the service answers again, the next run writes them.`,
	});
}

/** Removes this execution's claims of the calls (Mark as Failed: the next run delivers them again). */
export async function removeClaims(ctx: IExecuteFunctions, env: SyncEnv, uuids: string[]): Promise<void> {
	const slots = claimSlots(ctx);
	const keys = uuids.flatMap((uuid) => slots.map((slot) => claimKey(uuid, slot)));
	if (keys.length > 0) await env.store.remove(keys);
}

/** One store write (and check) for all items of a run: a per-run memo on the run's client. */
const batches = new WeakMap<object, Promise<void>>();

export async function markAllSynced(ctx: IExecuteFunctions, client: PbxClient, itemIndex: number): Promise<IDataObject> {
	const uuid = callUuidOf(ctx, itemIndex);
	let batch = batches.get(client);
	if (!batch) {
		const uuids: string[] = [];
		for (let i = 0; i < ctx.getInputData().length; i++) {
			try {
				uuids.push(callUuidOf(ctx, i));
			} catch {
				// that item fails on its own
			}
		}
		batch = markSynced(n8nEnv(ctx), uuids, claimSlots(ctx), syncedRemovals).then(() => dropFromList(ctx, uuids));
		batches.set(client, batch);
	}
	try {
		await batch;
	} catch (error) {
		throw storeError(ctx, error, itemIndex);
	}
	return { call_uuid: uuid, synced: true };
}

const resets = new WeakMap<object, Promise<number>>();

export async function resetSyncState(ctx: IExecuteFunctions, client: PbxClient): Promise<IDataObject> {
	let reset = resets.get(client);
	if (!reset) {
		const store = n8nStore(ctx);
		reset = (async () => {
			const count = await store.count();
			await store.clear();
			return count;
		})();
		resets.set(client, reset);
	}
	return { reset: true, keysRemoved: await reset };
}
