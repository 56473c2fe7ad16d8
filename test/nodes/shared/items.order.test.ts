/**
 * runItems: items that write one record run one after another in item order while other records
 * run beside them; write steps stop the run on an outage under continue-on-fail; error items
 * carry the error for n8n's error output.
 */
import type { IExecuteFunctions } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';
import { describe, expect, it } from 'vitest';

import { isOutageItem, runItems } from '../../../nodes/shared/items';

const node = { id: 'n', name: 'Write', type: 't', typeVersion: 1, position: [0, 0] as [number, number], parameters: {} };

function ctx(count: number, continueOnFail = false, onError?: string): IExecuteFunctions {
	return {
		getInputData: () => Array.from({ length: count }, (_, i) => ({ json: { i } })),
		continueOnFail: () => continueOnFail,
		getNode: () => ({ ...node, ...(onError ? { onError } : {}) }),
	} as unknown as IExecuteFunctions;
}

const wait = async (ms: number) => await new Promise((r) => setTimeout(r, ms));

describe('per-record order', () => {
	it('items of one record finish in item order even when the first is slowest; other records overlap them', async () => {
		const records = ['a', 'b', 'a', 'c', 'a', 'b'];
		const delays = [60, 40, 20, 10, 0, 0];
		const finished: number[] = [];
		const active = new Set<string>();
		let overlap = 0;
		let sameRecordAtOnce = 0;
		await runItems(ctx(6), { concurrency: 5, recordKey: (i) => records[i] }, async (i) => {
			if ([...active].some((k) => k.startsWith(`${records[i]}:`))) sameRecordAtOnce++;
			if (active.size > 0) overlap++;
			active.add(`${records[i]}:${i}`);
			await wait(delays[i]!);
			active.delete(`${records[i]}:${i}`);
			finished.push(i);
			return { i };
		});
		expect(sameRecordAtOnce).toBe(0);
		expect(overlap).toBeGreaterThan(0);
		expect(finished.filter((i) => records[i] === 'a')).toEqual([0, 2, 4]);
		expect(finished.filter((i) => records[i] === 'b')).toEqual([1, 5]);
	});

	it('without a key items still run in parallel; a failure stops the items waiting behind it', async () => {
		let inFlight = 0;
		let most = 0;
		await runItems(ctx(8), { concurrency: 4 }, async () => {
			most = Math.max(most, ++inFlight);
			await wait(10);
			inFlight--;
			return {};
		});
		expect(most).toBe(4);
		const ran: number[] = [];
		const error = await runItems(ctx(3), { concurrency: 3, recordKey: () => 'x' }, async (i) => {
			ran.push(i);
			if (i === 0) throw new Error('refused');
			return {};
		}).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(ran).toEqual([0]);
	});
});

describe('continue-on-fail for write steps', () => {
	const refusal = () => new NodeOperationError(node, 'refused for its data');
	const outage = () => new NodeApiError(node, { message: 'down' }, { message: 'CRM.COM is unavailable', httpCode: '503' });
	const stopsRun = (e: unknown) => e instanceof NodeApiError;

	it('a refusal of one item becomes its error item (with the error, for the error output); an outage sends no further item and flags this one and every unsent one (n8n would pass a thrown error\'s input on as if it had worked)', async () => {
		const out = await runItems(ctx(3, true, 'continueErrorOutput'), { concurrency: 2, stopsRun }, async (i) => {
			if (i === 1) throw refusal();
			return { ok: i };
		});
		expect(out.map((o) => o.json)).toEqual([{ ok: 0 }, { error: 'refused for its data' }, { ok: 2 }]);
		expect(out[1]!.error).toBeInstanceOf(NodeOperationError);
		expect(out.map((o) => o.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
		const sent: number[] = [];
		const flagged = await runItems(ctx(4, true, 'continueErrorOutput'), { concurrency: 1, stopsRun }, async (i) => {
			sent.push(i);
			if (i === 1) throw outage();
			if (i === 2) throw refusal();
			return { ok: i };
		});
		expect(sent).toEqual([0, 1]);
		expect(flagged.map((o) => o.json)).toEqual([
			{ ok: 0 },
			{ error: 'CRM.COM is unavailable', description: 'down', httpCode: '503', outage: true },
			{ error: 'CRM.COM is unavailable', description: 'down', httpCode: '503', outage: true },
			{ error: 'CRM.COM is unavailable', description: 'down', httpCode: '503', outage: true },
		]);
		expect(flagged.slice(1).every((o) => o.error instanceof NodeApiError)).toBe(true);
		expect(flagged.map((o) => o.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }, { item: 3 }]);
		expect([isOutageItem(flagged[0]), isOutageItem(flagged[1])]).toEqual([false, true]);
		// n8n replaces the json of every item carrying `error` with { error: message }
		// (WorkflowExecute.normalizeNodeErrors): the flag survives on the error.
		const normalized = flagged.map((o) => (o.error ? { ...o, json: { error: o.error.message } } : o));
		expect(normalized.map((o) => isOutageItem(o))).toEqual([false, true, true, true]);
		// Without continue-on-fail the outage is thrown as any error.
		const error = await runItems(ctx(3, false), { concurrency: 1, stopsRun }, async (i) => {
			if (i === 1) throw outage();
			return { ok: i };
		}).catch((e: unknown) => e);
		expect((error as NodeApiError).message).toBe('CRM.COM is unavailable');
	});

	it('with "Continue (regular output)" the error item has no error property', async () => {
		const out = await runItems(ctx(1, true), { concurrency: 1 }, async () => {
			throw refusal();
		});
		expect(out[0]!.error).toBeUndefined();
		expect(out[0]!.json.error).toBe('refused for its data');
	});
});
