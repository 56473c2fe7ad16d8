import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { ItemResult } from '../../../shared/items';
import type { CrmComClient } from '../../transport';
import { fieldsSetOption, identifierValue, identifierValueFields } from '../common';

const show = { resource: ['account'], operation: ['get'] };

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
		description: 'Which account field the value is matched against',
		displayOptions: { show },
	},
	...identifierValueFields(show, 'account', 'AR000111'),
	{
		displayName: 'Additional Fields',
		name: 'accountFields',
		type: 'collection',
		placeholder: 'Add field',
		default: {},
		displayOptions: { show },
		options: [fieldsSetOption('account')],
	},
];

/** accounts_receivable/show for one account. */
export async function execute(this: IExecuteFunctions, client: CrmComClient, itemIndex: number): Promise<ItemResult> {
	const identifier = identifierValue(this, itemIndex);
	const extra = this.getNodeParameter('accountFields', itemIndex, {}) as { fieldsSet?: string };
	const params: IDataObject = { accounts_receivable_identifier: identifier };
	if (extra.fieldsSet) params.fields_set = extra.fieldsSet;
	const data = await client.call('GET', 'accounts_receivable/show', params, { itemIndex, what: `the account lookup (${identifier})` });
	return (typeof data === 'object' && data !== null ? data : { data }) as IDataObject;
}

export const parallel = true;

/** A typed read: identical lookups of one run share one request (shared/reuse.ts). */
export const reusable = true;
