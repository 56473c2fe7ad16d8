import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { ItemResult } from '../../../shared/items';
import { collectByOffset } from '../../../shared/paging';
import { rowsOf, type CrmComClient } from '../../transport';
import { PAGE_SIZE, identifierValue, identifierValueFields, returnAllFields } from '../common';

const show = { resource: ['account'], operation: ['getGroupMembers'] };

export const description: INodeProperties[] = [
	{
		displayName: 'Identify By',
		name: 'identifyBy',
		type: 'options',
		default: 'number',
		options: [
			{ name: 'ID', value: 'id' },
			{ name: 'Name', value: 'name' },
			{ name: 'Number', value: 'number' },
			{ name: 'Other Field', value: 'other' },
		],
		description: 'Which group account field the value is matched against',
		displayOptions: { show },
	},
	...identifierValueFields(show, 'group account', 'AR000111'),
	...returnAllFields(show),
];

/** accounts_receivable/group_members/list over offset paging; one item per member. */
export async function execute(this: IExecuteFunctions, client: CrmComClient, itemIndex: number): Promise<ItemResult> {
	const identifier = identifierValue(this, itemIndex);
	const returnAll = this.getNodeParameter('returnAll', itemIndex, false) as boolean;
	const limit = this.getNodeParameter('limit', itemIndex, 50) as number;
	return await collectByOffset(
		async (offset, size) =>
			rowsOf(
				await client.call(
					'GET',
					'accounts_receivable/group_members/list',
					{ accounts_receivable_identifier: identifier, number_of_results: size, offset },
					{ itemIndex, what: `the group members of ${identifier} (offset ${offset})` },
				),
			),
		{ returnAll, limit, pageSize: PAGE_SIZE },
	);
}

export const parallel = true;

/** A typed read: identical lookups of one run share one request (shared/reuse.ts). */
export const reusable = true;
