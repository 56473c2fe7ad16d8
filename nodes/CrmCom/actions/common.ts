import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

/**
 * The "Field Name" (for "Other Field") and "Value" parameters that complete an operation's
 * "Identify By": CRM.COM's `<x>_identifier=<field>=<value>` parameters.
 */
/** "Identify By" for a contact: the same choices wherever a contact is identified. */
export function contactIdentifyBy(show: { resource: string[]; operation: string[] }): INodeProperties {
	return {
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
	};
}

export function identifierValueFields(
	show: { resource: string[]; operation: string[] },
	what: string,
	placeholder: string,
): INodeProperties[] {
	return [
		{
			displayName: 'Field Name',
			name: 'identifierField',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'id_number',
			description: `Name of the ${what} identifier field, as in CRM.COM's API documentation`,
			displayOptions: { show: { ...show, identifyBy: ['other'] } },
		},
		{
			displayName: 'Value',
			name: 'identifierValue',
			type: 'string',
			default: '',
			required: true,
			placeholder,
			description: `Value of that ${what} field`,
			displayOptions: { show },
		},
	];
}

/** The chosen identifier field and its value, checked. */
export function identifierParts(ctx: IExecuteFunctions, itemIndex: number): { field: string; value: string } {
	const by = ctx.getNodeParameter('identifyBy', itemIndex) as string;
	const field = by === 'other' ? String(ctx.getNodeParameter('identifierField', itemIndex, '')).trim() : by;
	const value = String(ctx.getNodeParameter('identifierValue', itemIndex, '') ?? '').trim();
	if (field === '' || !/^[A-Za-z_][A-Za-z0-9_.]*$/.test(field)) {
		throw new NodeOperationError(ctx.getNode(), `The "Field Name" parameter "${field}" is not a field name`, { itemIndex, description: 'Use letters, digits and underscores, e.g. id_number.' });
	}
	if (value === '') {
		throw new NodeOperationError(ctx.getNode(), 'The "Value" parameter is empty', { itemIndex, description: 'Map the value to look up, e.g. the caller\'s number from an earlier step.' });
	}
	return { field, value };
}

/** CRM.COM's `<x>_identifier` query form, `field=value`. */
export function identifierValue(ctx: IExecuteFunctions, itemIndex: number): string {
	const { field, value } = identifierParts(ctx, itemIndex);
	return `${field}=${value}`;
}

export function returnAllFields(show: { resource: string[]; operation: string[] }): INodeProperties[] {
	return [
		{
			displayName: 'Return All',
			name: 'returnAll',
			type: 'boolean',
			default: false,
			description: 'Whether to return all results or only up to a given limit',
			displayOptions: { show },
		},
		{
			displayName: 'Limit',
			name: 'limit',
			type: 'number',
			default: 50,
			typeOptions: { minValue: 1 },
			description: 'Max number of results to return',
			displayOptions: { show: { ...show, returnAll: [false] } },
		},
	];
}

/** The largest page requested from CRM.COM list methods. */
export const PAGE_SIZE = 100;

export function fieldsSetOption(what: string): INodeProperties {
	return {
		displayName: 'Fields',
		name: 'fieldsSet',
		type: 'string',
		default: '',
		placeholder: 'id,name,phones',
		description: `Comma-separated ${what} fields to return (CRM.COM's fields_set). Empty returns all.`,
	};
}
