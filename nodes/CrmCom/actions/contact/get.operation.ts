import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { ItemResult } from '../../../shared/items';
import type { CrmComClient } from '../../transport';
import { fieldsSetOption, identifierFields, identifierValue } from '../common';

const show = { resource: ['contact'], operation: ['get'] };

export const description: INodeProperties[] = [
	...identifierFields(
		show,
		'contact',
		[
			{ name: 'Number', value: 'number' },
			{ name: 'ID', value: 'id' },
			{ name: 'Name', value: 'name' },
			{ name: 'Email', value: 'email' },
			{ name: 'Phone', value: 'phone' },
		],
		'CI000111',
	),
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
