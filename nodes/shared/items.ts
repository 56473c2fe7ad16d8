/**
 * Runs an operation over the node's input items with a bounded number in flight, and shapes the
 * output the way n8n's own nodes do: output order follows input order, every output item
 * carries `pairedItem`, and under "continue on fail" each failed input yields exactly one error
 * item in its place.
 */
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { Lanes } from './lanes';

export type ItemResult = IDataObject | IDataObject[] | INodeExecutionData[] | undefined;

export interface RunOptions {
	/** Items processed at the same time (1 = one after the other). */
	concurrency: number;
	/**
	 * The record an item writes (e.g. `contact:number=CI000111`), or undefined. Items with the same
	 * key run one after another in item order, whatever `concurrency` allows; other items still
	 * run beside them. A vendor answering concurrent writes out of order then cannot apply an
	 * older write after a newer one.
	 */
	recordKey?: (itemIndex: number) => string | undefined;
	/**
	 * Errors for which this returns true are an outage of the vendor, not a problem of one item.
	 * Without continue-on-fail they are thrown as any error. Under continue-on-fail n8n would turn
	 * a thrown error into the node's input items on its regular output (as if each had worked), so
	 * instead no further item is sent and this item and every item not sent become error items
	 * flagged `outage: true` (see OUTAGE_FIELD): steps after the node can tell "not written, the
	 * vendor is failing" from "refused for its own data".
	 */
	stopsRun?: (error: NodeApiError | NodeOperationError) => boolean;
}

/** Set to true on the error items of a vendor outage under continue-on-fail (RunOptions.stopsRun). */
export const OUTAGE_FIELD = 'outage';

/**
 * Whether an input item is the error item of a vendor outage (nothing was written for it). n8n
 * replaces the json of an item that carries `error` (the error output) with `{ error: message }`,
 * so the flag is also on the error's context.
 */
export function isOutageItem(item: INodeExecutionData | undefined): boolean {
	if (item?.json?.[OUTAGE_FIELD] === true) return true;
	const context = (item?.error as { context?: IDataObject } | undefined)?.context;
	return context?.[OUTAGE_FIELD] === true;
}

function isExecutionData(value: unknown): value is INodeExecutionData {
	return typeof value === 'object' && value !== null && 'json' in value;
}

export function toOutputItems(result: ItemResult, itemIndex: number): INodeExecutionData[] {
	if (result === undefined) return [];
	const list = Array.isArray(result) ? result : [result];
	return list.map((entry) => {
		if (isExecutionData(entry)) return { ...entry, pairedItem: { item: itemIndex } };
		// n8n items hold objects: anything else (a string, a number) goes under "value".
		const json = typeof entry === 'object' && entry !== null && !Array.isArray(entry) ? (entry as IDataObject) : { value: entry as unknown as string };
		return { json, pairedItem: { item: itemIndex } };
	});
}

/**
 * The error item n8n users expect under continue-on-fail. With "On Error: Continue (using error
 * output)" n8n moves an item to the error output only when it carries `error` (or when its json
 * holds nothing but error/message/details): `withError` sets it.
 */
export function errorItem(error: unknown, itemIndex: number, withError = false): INodeExecutionData {
	const json: IDataObject = {
		error: error instanceof Error ? error.message : String(error),
	};
	if (error instanceof NodeApiError || error instanceof NodeOperationError) {
		if (error.description) json.description = error.description;
	}
	if (error instanceof NodeApiError && error.httpCode) json.httpCode = error.httpCode;
	const item: INodeExecutionData = { json, pairedItem: { item: itemIndex } };
	if (withError && (error instanceof NodeApiError || error instanceof NodeOperationError)) item.error = error;
	return item;
}

/** Gives an error the item it belongs to, so n8n shows which item failed. */
export function attachItemIndex(
	ctx: IExecuteFunctions,
	error: unknown,
	itemIndex: number,
): NodeApiError | NodeOperationError {
	if (error instanceof NodeApiError || error instanceof NodeOperationError) {
		if (error.context.itemIndex === undefined) error.context.itemIndex = itemIndex;
		return error;
	}
	const message = error instanceof Error ? error.message : String(error);
	return new NodeOperationError(ctx.getNode(), message, { itemIndex });
}

/**
 * Calls `handle` for every input item, at most `concurrency` at once (items with the same
 * `recordKey` one after another, in item order). Without continue-on-fail the first failure
 * stops new items from starting and is thrown (the one with the lowest item index, once the
 * items already in flight have settled).
 */
export async function runItems(
	ctx: IExecuteFunctions,
	options: RunOptions,
	handle: (itemIndex: number) => Promise<ItemResult>,
): Promise<INodeExecutionData[]> {
	const count = ctx.getInputData().length;
	const continueOnFail = ctx.continueOnFail();
	const errorOutput = ctx.getNode().onError === 'continueErrorOutput';
	const results: INodeExecutionData[][] = new Array(count);
	const failures = new Map<number, unknown>();
	let outage: NodeApiError | NodeOperationError | undefined;
	/** One lane per record: its items one after another, in item order. */
	const records = new Lanes();
	let next = 0;
	let stopped = false;

	const keyOf = (itemIndex: number): string | undefined => {
		try {
			return options.recordKey?.(itemIndex);
		} catch {
			return undefined; // a parameter the item cannot read: `handle` fails it with its own message
		}
	};

	const run = async (itemIndex: number): Promise<void> => {
		try {
			results[itemIndex] = toOutputItems(await handle(itemIndex), itemIndex);
		} catch (error) {
			const shaped = attachItemIndex(ctx, error, itemIndex);
			const stops = options.stopsRun?.(shaped) === true;
			if (continueOnFail && !stops) {
				results[itemIndex] = [errorItem(shaped, itemIndex, errorOutput)];
			} else if (continueOnFail) {
				outage ??= shaped;
				stopped = true;
			} else {
				failures.set(itemIndex, shaped);
				stopped = true;
			}
		}
	};

	const worker = async (): Promise<void> => {
		while (!stopped) {
			const itemIndex = next++;
			if (itemIndex >= count) return;
			const key = keyOf(itemIndex);
			if (key === undefined) {
				await run(itemIndex);
				continue;
			}
			// Items are taken in index order, so the item this one waits for has a lower index and
			// is already running (or waiting for an even lower one): no cycle.
			await records.run(key, async () => {
				if (!stopped) await run(itemIndex);
			});
		}
	};

	const workers = Math.max(1, Math.min(Math.floor(options.concurrency) || 1, count));
	await Promise.all(Array.from({ length: workers }, worker));
	if (failures.size > 0) {
		const first = Math.min(...failures.keys());
		throw failures.get(first);
	}
	if (outage) {
		outage.context[OUTAGE_FIELD] = true;
		for (let itemIndex = 0; itemIndex < count; itemIndex++) {
			if (results[itemIndex] !== undefined) continue;
			const item = errorItem(outage, itemIndex, errorOutput);
			item.json[OUTAGE_FIELD] = true;
			results[itemIndex] = [item];
		}
	}
	return results.flat();
}
