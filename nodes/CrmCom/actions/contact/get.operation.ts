import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { ItemResult } from '../../../shared/items';
import type { CrmComClient } from '../../transport';
import { fieldsSetOption, identifierValue, identifierValueFields } from '../common';

const show = { resource: ['contact'], operation: ['get'] };

export const description: INodeProperties[] = [
	{
		displayName: 'Identify By',
		name: 'identifyBy',
		type: 'options',
		default: 'number',
		options: [
			{ name: 'Email', value: 'email' },
			{ name: 'ID', value: 'id' },
			{ name: 'Name', value: 'name' },
			{ name: 'Number', value: 'number' },
			{ name: 'Other Field', value: 'other' },
			{ name: 'Phone', value: 'phone' },
		],
		description: 'Which contact field the value is matched against',
		displayOptions: { show },
	},
	...identifierValueFields(show, 'contact', 'CI000111'),
	{
		displayName: 'Additional Fields',
		name: 'contactFields',
		type: 'collection',
		placeholder: 'Add field',
		default: {},
		displayOptions: { show },
		options: [fieldsSetOption('contact')],
	},
];

/** contact_information/show for one contact. */
export async function execute(this: IExecuteFunctions, client: CrmComClient, itemIndex: number): Promise<ItemResult> {
	const identifier = identifierValue(this, itemIndex);
	const extra = this.getNodeParameter('contactFields', itemIndex, {}) as { fieldsSet?: string };
	const params: IDataObject = { contact_information_identifier: identifier };
	if (extra.fieldsSet) params.fields_set = extra.fieldsSet;
	const data = await client.call('GET', 'contact_information/show', params, { itemIndex, what: `the contact lookup (${identifier})` });
	return (typeof data === 'object' && data !== null ? data : { data }) as IDataObject;
}

export const parallel = true;

/** A typed read: identical lookups of one run share one request (shared/reuse.ts). */
export const reusable = true;
