/**
 * An in-memory model of n8n 2.41.1's processed-items store (n8n/dist/deduplication/
 * deduplication-helper.js + @n8n/db ProcessedData), faithful where the sync depends on it:
 * one row per (workflow, context); every call reads the row, waits (another caller may run in
 * between), then writes the whole row back (last writer wins, lost updates happen); a missing
 * row is INSERTed and a second concurrent INSERT fails (primary key); "entries" keeps md5
 * hashes and drops the oldest beyond maxEntries; "latestIncrementalKey" keeps the largest number.
 */
import { createHash } from 'node:crypto';

import type { SyncEnv } from '../../nodes/VirtualPbx/sync/core';
import type { SyncStore } from '../../nodes/VirtualPbx/sync/store';

type Row = { mode: 'entries'; data: string[] } | { mode: 'latest'; data: number };

const hash = (value: string | number): string => createHash('md5').update(String(value)).digest('base64');

export class ProcessedDb {
	readonly rows = new Map<string, Row>();
	writes = 0;
	uniqueViolations = 0;
	/** Milliseconds between a call's read and its write (random in [0, gapMs]). */
	constructor(public gapMs = 3) {}

	private async gap(): Promise<void> {
		const ms = Math.floor(Math.random() * (this.gapMs + 1));
		await new Promise((resolve) => setTimeout(resolve, ms));
	}

	private async read(context: string): Promise<Row | undefined> {
		await this.gap();
		const row = this.rows.get(context);
		return row ? structuredClone(row) : undefined;
	}

	private async write(context: string, row: Row, insert: boolean): Promise<void> {
		await this.gap();
		this.writes++;
		if (insert && this.rows.has(context)) {
			this.uniqueViolations++;
			throw new Error('SQLITE_CONSTRAINT: UNIQUE constraint failed: processed_data.workflowId, processed_data.context');
		}
		if (!insert && !this.rows.has(context)) return; // UPDATE of a deleted row: no effect
		this.rows.set(context, row);
	}

	async record(context: string, keys: string[], maxEntries: number): Promise<Set<string>> {
		const row = await this.read(context);
		const hashes = keys.map(hash);
		if (!row) {
			await this.write(context, { mode: 'entries', data: hashes.slice(-maxEntries) }, true);
			return new Set();
		}
		if (row.mode !== 'entries') throw new Error('incompatible mode');
		const had = new Set<string>();
		const present = new Set(row.data);
		keys.forEach((key, i) => {
			if (present.has(hashes[i])) had.add(key);
			else {
				row.data.push(hashes[i]);
				present.add(hashes[i]);
			}
		});
		row.data.splice(0, Math.max(0, row.data.length - maxEntries));
		await this.write(context, row, false);
		return had;
	}

	async remove(context: string, keys: string[]): Promise<void> {
		const row = await this.read(context);
		if (!row || row.mode !== 'entries') return;
		for (const h of keys.map(hash)) {
			const i = row.data.indexOf(h);
			if (i !== -1) row.data.splice(i, 1);
		}
		await this.write(context, row, false);
	}

	async latest(context: string, value: number): Promise<boolean> {
		const row = await this.read(context);
		if (!row) {
			await this.write(context, { mode: 'latest', data: value }, true);
			return true;
		}
		if (row.mode !== 'latest') throw new Error('incompatible mode');
		const isNew = value > row.data;
		if (isNew) row.data = value;
		await this.write(context, row, false);
		return isNew;
	}

	async clear(context: string): Promise<void> {
		await this.gap();
		this.rows.delete(context);
	}

	has(context: string, key: string): boolean {
		const row = this.rows.get(context);
		return row?.mode === 'entries' && row.data.includes(hash(key));
	}

	count(context: string): number {
		const row = this.rows.get(context);
		return row?.mode === 'entries' ? row.data.length : 0;
	}

	/**
	 * n8n's processed-items helpers of an execution (`checkProcessedAndRecord`, `removeProcessed`,
	 * `clearAllProcessedItems`, `getProcessedDataCount`) over this store, for node `nodeId`
	 * (workflow scope '', node scope `n:<nodeId>`). `before` runs first on every record and clear:
	 * to watch them, or to throw as n8n does for a workflow without an id.
	 */
	helpers(nodeId: string, before?: (operation: 'record' | 'clear', scope: string, items: Array<string | number>) => void) {
		const context = (scope: string) => (scope === 'node' ? `n:${nodeId}` : '');
		return {
			checkProcessedAndRecord: async (items: Array<string | number>, scope: string, opts: { mode: string; maxEntries?: number }) => {
				before?.('record', scope, items);
				if (opts.mode === 'entries') {
					const had = await this.record(context(scope), items.map(String), opts.maxEntries ?? Number.MAX_SAFE_INTEGER);
					return { new: items.filter((k) => !had.has(String(k))), processed: items.filter((k) => had.has(String(k))) };
				}
				const isNew = await this.latest(context(scope), Number(items[0]));
				return isNew ? { new: items, processed: [] } : { new: [], processed: items };
			},
			removeProcessed: async (items: Array<string | number>, scope: string) => await this.remove(context(scope), items.map(String)),
			clearAllProcessedItems: async (scope: string) => {
				before?.('clear', scope, []);
				await this.clear(context(scope));
			},
			getProcessedDataCount: async (scope: string) => this.count(context(scope)),
		};
	}

	/** The store one node of one workflow sees (workflow scope '' and its own node scope). */
	store(nodeId: string, maxEntries = 200_000): SyncStore {
		return {
			record: async (keys) => (keys.length === 0 ? new Set() : await this.record('', keys, maxEntries)),
			remove: async (keys) => {
				if (keys.length > 0) await this.remove('', keys);
			},
			clear: async () => await this.clear(''),
			count: async () => {
				await this.gap();
				return this.count('');
			},
			lockRecord: async (value) => await this.latest(`n:${nodeId}`, value),
			lockClear: async () => await this.clear(`n:${nodeId}`),
		};
	}
}

/** The sync core's environment over `db` for node `nodeId`: real time and sleep, Math.random, a 5 ms settle, a 1 s lock lease. */
export function syncEnv(db: ProcessedDb, overrides: Partial<Omit<SyncEnv, 'store'>> = {}, nodeId = 'getMany'): SyncEnv {
	return {
		store: db.store(nodeId),
		now: () => Date.now(),
		sleep: async (ms) => await new Promise((r) => setTimeout(r, ms)),
		random: Math.random,
		settleMs: 5,
		lockLeaseMs: 1000,
		...overrides,
	};
}
