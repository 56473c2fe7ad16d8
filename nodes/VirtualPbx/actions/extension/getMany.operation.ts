import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { ItemResult } from '../../../shared/items';
import { collectByPageNumber } from '../../../shared/paging';
import type { PbxClient } from '../../transport';
import { PER_PAGE, returnAllFields, rowsOf } from '../common';

const show = { resource: ['extension'], operation: ['getMany'] };

export const description: INodeProperties[] = [
	{
		displayName: 'Type',
		name: 'extensionType',
		type: 'options',
		default: '',
		options: [
			{ name: 'All', value: '' },
			{ name: 'Fax', value: 'fax' },
			{ name: 'IVR', value: 'ivr' },
			{ name: 'Phone', value: 'phone' },
			{ name: 'Queue', value: 'queue' },
		],
		displayOptions: { show },
	},
	...returnAllFields(show),
];

/** The client's extensions. */
export async function execute(this: IExecuteFunctions, client: PbxClient, itemIndex: number): Promise<ItemResult> {
	const type = this.getNodeParameter('extensionType', itemIndex, '') as string;
	const returnAll = this.getNodeParameter('returnAll', itemIndex, false) as boolean;
	const limit = this.getNodeParameter('limit', itemIndex, 50) as number;
	const clientId = await client.clientId(itemIndex);
	const base: IDataObject = type ? { type } : {};
	return await collectByPageNumber(
		async (page, perPage) =>
			rowsOf(await client.json({ path: `/client/${clientId}/extension/`, qs: { ...base, page, per_page: perPage } }, { itemIndex, what: `extensions page ${page}` })),
		{ returnAll, limit, pageSize: PER_PAGE },
	);
}

export const parallel = true;

/** A typed read: identical lookups of one run share one request (shared/reuse.ts). */
export const reusable = true;
