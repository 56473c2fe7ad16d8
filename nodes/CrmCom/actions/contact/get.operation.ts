import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';

import type { ItemResult } from '../../../shared/items';
import type { CrmComClient } from '../../transport';
import { contactIdentifyBy, fieldsSetOption, identifierValue, identifierValueFields } from '../common';

const show = { resource: ['contact'], operation: ['get'] };

export type OnNotFound = 'error' | 'nothing' | 'input';

export const description: INodeProperties[] = [
	contactIdentifyBy(show),
	...identifierValueFields(show, 'contact', 'CI000111'),
	{
		displayName: 'On Not Found',
		name: 'onNotFound',
		type: 'options',
		default: 'error',
		options: [
			{ name: 'Return Error', value: 'error', description: 'The item fails with CRM.COM\'s NOT_FOUND message' },
			{ name: 'Output Nothing', value: 'nothing', description: 'No output item for this input item' },
			{
				name: 'Output Input Item',
				value: 'input',
				description: 'The input item passes through unchanged, so later steps can still use it (e.g. to create the contact). An empty Value counts as not found.',
			},
		],
		description: 'What to do when no contact matches',
		displayOptions: { show },
	},
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
	const onNotFound = this.getNodeParameter('onNotFound', itemIndex, 'error') as OnNotFound;
	// An empty value (a withheld caller's number) matches no contact: with "Output Nothing" or
	// "Output Input Item" that is "not found", without asking CRM.COM.
	if (onNotFound !== 'error' && String(this.getNodeParameter('identifierValue', itemIndex, '') ?? '').trim() === '') return notFound(this, itemIndex, onNotFound);
	const identifier = identifierValue(this, itemIndex);
	const extra = this.getNodeParameter('contactFields', itemIndex, {}) as { fieldsSet?: string };
	const params: IDataObject = { contact_information_identifier: identifier };
	if (extra.fieldsSet) params.fields_set = extra.fieldsSet;
	const what = `the contact lookup (${identifier})`;
	const found = await client.lookup('GET', 'contact_information/show', params, { itemIndex, what });
	if (found.found) {
		const data = found.data;
		return (typeof data === 'object' && data !== null ? data : { data }) as IDataObject;
	}
	if (onNotFound !== 'error') return notFound(this, itemIndex, onNotFound);
	const message = `CRM.COM refused ${what}: ${found.said}`;
	throw new NodeApiError(this.getNode(), { message }, {
		message,
		description: 'No contact matches. Check "Identify By" and "Value", or set "On Not Found" to output nothing or the input item.',
		itemIndex,
	});
}

function notFound(ctx: IExecuteFunctions, itemIndex: number, onNotFound: 'nothing' | 'input'): ItemResult {
	if (onNotFound === 'nothing') return [];
	const input = ctx.getInputData()[itemIndex];
	return [{ json: input.json, ...(input.binary ? { binary: input.binary } : {}) }];
}

export const parallel = true;

/** A typed read: identical lookups of one run share one request (shared/reuse.ts). */
export const reusable = true;
