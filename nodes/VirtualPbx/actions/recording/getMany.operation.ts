import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { ItemResult } from '../../../shared/items';
import { collectByPageNumber } from '../../../shared/paging';
import type { PbxClient } from '../../transport';
import { PER_PAGE, STATISTICS_PAGES, orderField, returnAllFields, rowsOf, windowFields, windowQuery } from '../common';
import { recordingRows, simplifyField } from '../rows';

const show = { resource: ['recording'], operation: ['getMany'] };

export const description: INodeProperties[] = [...windowFields(show, 'recording'), ...returnAllFields(show), simplifyField(show, 'recording'), orderField(show)];

/** Recordings in a GMT window ({call_uuid, record_uuid}, ISO times beside GMT ones); a statistics request. */
export async function execute(this: IExecuteFunctions, client: PbxClient, itemIndex: number): Promise<ItemResult> {
	const query = { ...windowQuery(this, itemIndex), order: this.getNodeParameter('order', itemIndex, 'asc') as string };
	const returnAll = this.getNodeParameter('returnAll', itemIndex, false) as boolean;
	const limit = this.getNodeParameter('limit', itemIndex, 50) as number;
	const simplify = this.getNodeParameter('simplify', itemIndex, false) as boolean;
	const clientId = await client.clientId(itemIndex);
	const rows = await collectByPageNumber(
		async (page, perPage) =>
			rowsOf(
				await client.json(
					{ path: `/client/${clientId}/record/`, qs: { ...query, page, per_page: perPage }, statistics: true },
					{ itemIndex, what: `recordings page ${page}` },
				),
			),
		{ returnAll, limit, pageSize: PER_PAGE },
		STATISTICS_PAGES,
	);
	return recordingRows(rows, simplify);
}

export const parallel = true;

/** A typed read: identical lookups of one run share one request (shared/reuse.ts). */
export const reusable = true;
