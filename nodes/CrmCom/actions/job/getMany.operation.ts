import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { ItemResult } from '../../../shared/items';
import { collectByOffset } from '../../../shared/paging';
import { rowsOf, type CrmComClient } from '../../transport';
import { PAGE_SIZE, returnAllFields } from '../common';

const show = { resource: ['job'], operation: ['getMany'] };

export const description: INodeProperties[] = [
	...returnAllFields(show),
	{
		displayName: 'Filters',
		name: 'jobFilters',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		placeholder: 'Add filter',
		default: {},
		description: 'Extra parameters of CRM.COM\'s jobs/list, e.g. life_cycle_state',
		displayOptions: { show },
		options: [
			{
				displayName: 'Filter',
				name: 'filter',
				values: [
					{ displayName: 'Name', name: 'name', type: 'string', default: '' },
					{ displayName: 'Value', name: 'value', type: 'string', default: '' },
				],
			},
		],
	},
];

/** jobs/list over offset paging; one item per job. */
export async function execute(this: IExecuteFunctions, client: CrmComClient, itemIndex: number): Promise<ItemResult> {
	const returnAll = this.getNodeParameter('returnAll', itemIndex, false) as boolean;
	const limit = this.getNodeParameter('limit', itemIndex, 50) as number;
	const filters = this.getNodeParameter('jobFilters.filter', itemIndex, []) as Array<{ name: string; value: string }>;
	const base: IDataObject = {};
	for (const { name, value } of filters) if (name && name !== 'token') base[name] = value;
	return await collectByOffset(
		async (offset, size) =>
			rowsOf(await client.call('GET', 'jobs/list', { ...base, number_of_results: size, offset }, { itemIndex, what: `the job list (offset ${offset})` })),
		{ returnAll, limit, pageSize: PAGE_SIZE },
	);
}

export const parallel = true;
