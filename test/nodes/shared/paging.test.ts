/**
 * The pager never takes a server cap for the end of a list: an empty page ends it; a short page
 * only when shorter than what the server has shown it will return. Driven as a pure function and
 * through the nodes against fakes that cap pages below the asked size.
 */
import type { INodeExecutionData } from 'n8n-workflow';
import { describe, expect, it } from 'vitest';

import { CrmComApi } from '../../../credentials/CrmComApi.credentials';
import { VirtualPbxTrustedAppApi } from '../../../credentials/VirtualPbxTrustedAppApi.credentials';
import { CrmCom } from '../../../nodes/CrmCom/CrmCom.node';
import { VirtualPbx } from '../../../nodes/VirtualPbx/VirtualPbx.node';
import { DISCOVERY_SIZES, collectByOffset, collectByPageNumber, isLastPage } from '../../../nodes/shared/paging';
import { CRMCOM_GROUPS, CRMCOM_PATHS } from '../../fakes/crmcom';
import { PBX_PATHS } from '../../fakes/pbx';
import { credentialStore, runNode } from '../../support/context';
import { useCrmComFixture } from '../../support/crmcom';
import { usePbxFixture } from '../../support/pbx';

const rows = (n: number) => Array.from({ length: n }, (_, i) => i);

/** A list of `total` rows served `cap` at a time at most; pages numbered by the size served or asked. */
function offsetServer(total: number, cap: number) {
	const asks: Array<[number, number]> = [];
	const fetch = async (offset: number, size: number) => {
		asks.push([offset, size]);
		return rows(total).slice(offset, offset + Math.min(size, cap));
	};
	return { asks, fetch };
}

function pageServer(total: number, cap: number, numberBy: 'served' | 'asked') {
	const asks: Array<[number, number]> = [];
	const fetch = async (page: number, perPage: number) => {
		asks.push([page, perPage]);
		const served = Math.min(perPage, cap);
		const start = (page - 1) * (numberBy === 'served' ? served : perPage);
		return rows(total).slice(start, start + served);
	};
	return { asks, fetch };
}

describe('isLastPage', () => {
	it.each([
		[0, 100, 0, true],
		[0, 100, 100, true],
		[50, 100, 0, false],
		[50, 100, 50, false],
		[30, 100, 50, true],
		[100, 100, 100, false],
		[99, 100, 100, true],
	])('got %i, asked %i, shown %i → %s', (got, asked, shown, last) => {
		expect(isLastPage(got, asked, shown)).toBe(last);
	});
});

describe('collectByOffset', () => {
	it.each([
		[2500, 50],
		[2500, 100],
		[2500, 7],
		[7, 100],
		[0, 100],
		[100, 100],
		[150, 50],
	])('Return All of %i rows, server cap %i: every row once, in order', async (total, cap) => {
		const server = offsetServer(total, cap);
		const out = await collectByOffset(server.fetch, { returnAll: true, limit: 0, pageSize: 100 });
		expect(out).toEqual(rows(total));
	});

	it('Limit 120 with a cap of 50: exactly 120, in three requests', async () => {
		const server = offsetServer(2500, 50);
		const out = await collectByOffset(server.fetch, { returnAll: false, limit: 120, pageSize: 100 });
		expect(out).toEqual(rows(120));
		expect(server.asks).toEqual([
			[0, 100],
			[50, 70],
			[100, 20],
		]);
	});

	it('a vendor that ignores offset stops at maxPages', async () => {
		const out = await collectByOffset(async () => rows(100), { returnAll: true, limit: 0, pageSize: 100, maxPages: 3 });
		expect(out).toHaveLength(300);
	});
});

describe('collectByPageNumber', () => {
	for (const numberBy of ['served', 'asked'] as const) {
		it.each([
			[2500, 50],
			[2500, 100],
			[2500, 30],
			[7, 100],
			[0, 100],
			[200, 100],
		])(`Return All of %i rows, cap %i, pages numbered by the size ${numberBy}: every row once`, async (total, cap) => {
			const server = pageServer(total, cap, numberBy);
			const out = await collectByPageNumber(server.fetch, { returnAll: true, limit: 0, pageSize: 100 });
			expect(out).toEqual(rows(total));
		});
	}

	it('after a capped first page, later pages are asked at the served size', async () => {
		const server = pageServer(120, 50, 'asked');
		await collectByPageNumber(server.fetch, { returnAll: true, limit: 0, pageSize: 100 });
		expect(server.asks).toEqual([
			[1, 100],
			[2, 50],
			[3, 50],
		]);
	});

	it('Limit 70 with a cap of 50: exactly 70', async () => {
		const server = pageServer(2500, 50, 'served');
		expect(await collectByPageNumber(server.fetch, { returnAll: false, limit: 70, pageSize: 100 })).toEqual(rows(70));
	});

	describe('with page-size discovery', () => {
		const refusedError = new Error('per_page too large');
		/** pageServer that also refuses sizes above `max` (the PBX's unknown maximum). */
		const strict = (total: number, cap: number, max: number, numberBy: 'served' | 'asked') => {
			const server = pageServer(total, cap, numberBy);
			const fetch = async (page: number, perPage: number) => {
				if (perPage > max) {
					server.asks.push([page, perPage]);
					throw refusedError;
				}
				return await server.fetch(page, perPage);
			};
			return { asks: server.asks, fetch };
		};
		const discover = { sizes: DISCOVERY_SIZES, refused: (error: unknown) => error === refusedError };

		for (const numberBy of ['served', 'asked'] as const)
			it.each([
				[2500, 1000, 500],
				[2500, 1000, 200],
				[2500, 1000, 30],
				[2500, 50, 200],
				[2500, 120, 500],
				[0, 1000, 100],
			])(`Return All of %i rows, silent cap %i, sizes above %i refused, numbered by ${numberBy}: every row once`, async (total, cap, max) => {
				const server = strict(total, cap, max, numberBy);
				if (max < Math.min(...DISCOVERY_SIZES)) {
					await expect(collectByPageNumber(server.fetch, { returnAll: true, limit: 0, pageSize: 100 }, discover)).rejects.toBe(refusedError);
					return;
				}
				expect(await collectByPageNumber(server.fetch, { returnAll: true, limit: 0, pageSize: 100 }, discover)).toEqual(rows(total));
			});

		it('steps down once, then keeps the size that worked', async () => {
			const server = strict(450, 1000, 100, 'asked');
			await collectByPageNumber(server.fetch, { returnAll: true, limit: 0, pageSize: 100 }, discover);
			expect(server.asks).toEqual([[1, 500], [1, 200], [1, 100], [2, 100], [3, 100], [4, 100], [5, 100]]);
		});

		it('under a Limit asks for no more than the limit', async () => {
			const server = strict(2500, 1000, 500, 'asked');
			expect(await collectByPageNumber(server.fetch, { returnAll: false, limit: 70, pageSize: 100 }, discover)).toEqual(rows(70));
			expect(server.asks).toEqual([[1, 70]]);
			const big = strict(2500, 1000, 500, 'asked');
			expect(await collectByPageNumber(big.fetch, { returnAll: false, limit: 1200, pageSize: 100 }, discover)).toEqual(rows(1200));
			expect(big.asks).toEqual([[1, 500], [2, 500], [3, 500]]);
		});

		it('other errors pass through at once', async () => {
			const boom = new Error('boom');
			const fetch = async () => {
				throw boom;
			};
			await expect(collectByPageNumber(fetch, { returnAll: true, limit: 0, pageSize: 100 }, discover)).rejects.toBe(boom);
		});
	});
});

describe('through the nodes, against fakes with a 50-row cap', () => {
	const crm = useCrmComFixture({ pageCap: 50 }, { fresh: false });
	const pbx = usePbxFixture({ pageCap: 50, callCount: 230 }, { fresh: false });

	const crmRun = async (params: Record<string, unknown>): Promise<INodeExecutionData[]> =>
		await runNode(new CrmCom(), { store: credentialStore(new CrmComApi(), crm.credentials), params, items: [{}] });
	const pbxRun = async (params: Record<string, unknown>): Promise<INodeExecutionData[]> =>
		await runNode(new VirtualPbx(), {
			store: credentialStore(new VirtualPbxTrustedAppApi(), pbx.credentials),
			params: { authentication: 'trustedApp', ...params },
			items: [{}],
		});

	it('CRM.COM Get Group Members, Return All: all 2,500, unique, in order', async () => {
		crm.fake.clearLog();
		const output = await crmRun({ resource: 'account', operation: 'getGroupMembers', identifyBy: 'number', identifierValue: CRMCOM_GROUPS.big, returnAll: true });
		expect(output).toHaveLength(2500);
		expect(new Set(output.map((o) => o.json.id)).size).toBe(2500);
		expect(output[2499].json.number).toBe('AR002500');
		expect(crm.fake.requestsTo(CRMCOM_PATHS.groupMembers).length).toBe(51);
	});

	it('CRM.COM Job → Get Many, Return All: all 1,234', async () => {
		const output = await crmRun({ resource: 'job', operation: 'getMany', returnAll: true });
		expect(output).toHaveLength(1234);
		expect(new Set(output.map((o) => o.json.id)).size).toBe(1234);
	});

	it('PBX Recording → Get Many and Call History → Get Many, Return All: every row', async () => {
		const calls = pbx.fake.allCalls();
		const window = { start: '2000-01-01T00:00:00Z', end: '' };
		const history = await pbxRun({ resource: 'callHistory', operation: 'getMany', ...window, returnAll: true, order: 'asc' });
		expect(history).toHaveLength(calls.length);
		expect(new Set(history.map((o) => o.json.call_uuid)).size).toBe(calls.length);
		const records = calls.flatMap((c) => c.cdr);
		const recordings = await pbxRun({ resource: 'recording', operation: 'getMany', ...window, returnAll: true });
		expect(recordings).toHaveLength(records.length);
		expect(records.length).toBeGreaterThan(100);
	});

	it('PBX Extension → Get Many with a cap of 2: all 6 extensions', async () => {
		pbx.fake.settings.pageCap = 2;
		pbx.fake.clearLog();
		try {
			const output = await pbxRun({ resource: 'extension', operation: 'getMany', returnAll: true });
			expect(output).toHaveLength(6);
			expect(new Set(output.map((o) => o.json.id)).size).toBe(6);
			expect(pbx.fake.requestsTo(`${PBX_PATHS.api}/client/${pbx.fake.user.client_id}/extension/`).length).toBe(4);
		} finally {
			pbx.fake.settings.pageCap = 50;
		}
	});
});
