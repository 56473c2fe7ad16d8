import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { nameValueList, readNameValueList } from '../../../shared/apiRequest';
import type { ItemResult } from '../../../shared/items';
import { collectByOffset } from '../../../shared/paging';
import { rowsOf, type CrmComClient } from '../../transport';
import { PAGE_SIZE, returnAllFields } from '../common';

const show = { resource: ['job'], operation: ['getMany'] };

export const description: INodeProperties[] = [
	...returnAllFields(show),
	nameValueList('jobFilters', 'Filters', show, "Extra parameters of CRM.COM's jobs/list, e.g. life_cycle_state"),
];

/** jobs/list over offset paging; one item per job. */
export async function execute(this: IExecuteFunctions, client: CrmComClient, itemIndex: number): Promise<ItemResult> {
	const returnAll = this.getNodeParameter('returnAll', itemIndex, false) as boolean;
	const limit = this.getNodeParameter('limit', itemIndex, 50) as number;
	const base = readNameValueList(this, 'jobFilters', itemIndex);
	return await collectByOffset(
		async (offset, size) =>
			rowsOf(await client.call('GET', 'jobs/list', { ...base, number_of_results: size, offset }, { itemIndex, what: `the job list (offset ${offset})` })),
		{ returnAll, limit, pageSize: PAGE_SIZE },
	);
}

export const parallel = true;

/** A typed read: identical lookups of one run share one request (shared/reuse.ts). */
export const reusable = true;
