/**
 * The "Fields" collection of Contact → Create and Contact → Update, and the JSON body it
 * becomes. Only the fields the user sets are sent (CRM.COM leaves fields that are not sent
 * alone); an empty value is not sent either, so a mapped value that happens to be empty never
 * wipes a field. Clearing is explicit: "Fields to Clear" (update only) sends `null`.
 *
 * Everything is checked before any request, with a message that names the field.
 */
import type { IDataObject, IExecuteFunctions, INode, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

type Show = { resource: string[]; operation: string[] };

/** The common contact fields sent as they are: parameter name → CRM.COM field and display name. */
export const COMMON_FIELDS = {
	firstName: { field: 'first_name', label: 'First Name' },
	lastName: { field: 'last_name', label: 'Last Name' },
	companyName: { field: 'company_name', label: 'Company Name' },
	notes: { field: 'notes', label: 'Notes' },
} as const;

/**
 * CRM.COM keeps a contact's phones and e-mails as lists (Web API v4 "phone_update_parameters"):
 * a write sends `phones_set` / `emails_set`, a list of objects each with a mandatory `action`
 * (ADD, UPDATE, REMOVE), on ADD a mandatory `type`, and the number or address. There is no
 * top-level `phone` or `email` parameter (a server refuses unknown parameters).
 */
export const PHONE_TYPES = ['MOBILE', 'LANDLINE', 'FAX', 'CUSTOM1', 'CUSTOM2', 'CUSTOM3', 'CUSTOM4', 'CUSTOM5'] as const;
export const EMAIL_TYPES = ['PERSONAL', 'BUSINESS'] as const;
export const PHONES_SET = 'phones_set';
export const EMAILS_SET = 'emails_set';

const UDF = /^udf_(string|float|date)_([1-9]\d{0,2})$/;
const FIELD_NAME = /^[a-z][a-z0-9_]*$/;
/** Body fields the node sets itself: never taken from the user. */
const RESERVED = new Set(['token', 'contact_information_identifier', 'phone', 'email', PHONES_SET, EMAILS_SET]);

export function fieldsCollection(show: Show, forUpdate: boolean): INodeProperties {
	const options: INodeProperties[] = [
		{
			displayName: 'Company Name',
			name: 'companyName',
			type: 'string',
			default: '',
			description: 'Sent as company_name',
		},
		{
			displayName: 'Custom Fields',
			name: 'customFields',
			type: 'fixedCollection',
			typeOptions: { multipleValues: true },
			placeholder: 'Add custom field',
			default: {},
			description:
				'Other contact fields by their CRM.COM name, e.g. user-defined fields udf_string_1, udf_float_1 (a number) or udf_date_1 (a date such as 2024-05-31 or 2024-05-31T14:05:00Z)',
			options: [
				{
					displayName: 'Field',
					name: 'field',
					values: [
						{ displayName: 'Name', name: 'name', type: 'string', default: '', placeholder: 'udf_string_1' },
						{ displayName: 'Value', name: 'value', type: 'string', default: '' },
					],
				},
			],
		},
		{
			displayName: 'Email',
			name: 'email',
			type: 'string',
			placeholder: 'name@email.com',
			default: '',
			description: 'Added to the contact\'s e-mails (emails_set, action ADD) unless the contact already has it',
		},
		{
			displayName: 'Email Type',
			name: 'emailType',
			type: 'options',
			default: 'PERSONAL',
			options: [
				{ name: 'Business', value: 'BUSINESS' },
				{ name: 'Personal', value: 'PERSONAL' },
			],
			description: 'CRM.COM\'s type of the e-mail added with "Email"',
		},
		{
			displayName: 'First Name',
			name: 'firstName',
			type: 'string',
			default: '',
		},
		{
			displayName: 'Last Name',
			name: 'lastName',
			type: 'string',
			default: '',
		},
		{
			displayName: 'Notes',
			name: 'notes',
			type: 'string',
			default: '',
			typeOptions: { rows: 2 },
		},
		{
			displayName: 'Phone',
			name: 'phone',
			type: 'string',
			default: '',
			placeholder: '+35722000001',
			description: 'Added to the contact\'s phones (phones_set, action ADD) unless the contact already has it. Spaces, dashes, dots and brackets are removed.',
		},
		{
			displayName: 'Phone Type',
			name: 'phoneType',
			type: 'options',
			default: 'MOBILE',
			options: [
				{ name: 'Custom 1', value: 'CUSTOM1' },
				{ name: 'Custom 2', value: 'CUSTOM2' },
				{ name: 'Custom 3', value: 'CUSTOM3' },
				{ name: 'Custom 4', value: 'CUSTOM4' },
				{ name: 'Custom 5', value: 'CUSTOM5' },
				{ name: 'Fax', value: 'FAX' },
				{ name: 'Landline', value: 'LANDLINE' },
				{ name: 'Mobile', value: 'MOBILE' },
			],
			description: 'CRM.COM\'s type of the phone added with "Phone"',
		},
	];
	if (forUpdate) {
		options.push({
			displayName: 'Fields to Clear',
			name: 'clearFields',
			type: 'string',
			default: '',
			placeholder: 'notes, udf_string_2',
			description: 'Comma-separated CRM.COM field names to empty (sent as null)',
		});
	} else {
		options.push({
			displayName: 'Type',
			name: 'type',
			type: 'options',
			default: 'PERSON',
			options: [
				{ name: 'Person', value: 'PERSON' },
				{ name: 'Company', value: 'COMPANY' },
			],
			description: 'Whether the contact is a person or a company',
		});
	}
	options.sort((a, b) => a.displayName.localeCompare(b.displayName));
	return {
		displayName: 'Fields',
		name: 'fields',
		type: 'collection',
		placeholder: 'Add field',
		default: {},
		description: forUpdate
			? 'Only the fields added here are changed; empty values are not sent'
			: 'Only the fields added here are sent; empty values are not sent',
		displayOptions: { show },
		options,
	};
}

interface FieldsValue {
	firstName?: unknown;
	lastName?: unknown;
	companyName?: unknown;
	email?: unknown;
	phone?: unknown;
	phoneType?: unknown;
	emailType?: unknown;
	notes?: unknown;
	type?: unknown;
	clearFields?: unknown;
	customFields?: { field?: Array<{ name?: unknown; value?: unknown }> };
}

function asText(value: unknown): string {
	if (value === undefined || value === null) return '';
	if (typeof value === 'string') return value.trim();
	if (typeof value === 'number' || typeof value === 'boolean') return String(value);
	if (value instanceof Date) return Number.isNaN(value.getTime()) ? '' : value.toISOString();
	// A Luxon DateTime from an expression.
	const iso = (value as { toISO?: () => unknown }).toISO;
	if (typeof iso === 'function') return String(iso.call(value) ?? '');
	return JSON.stringify(value);
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** A calendar-exact date or date-time (ISO 8601), as typed; undefined when it is not one. */
export function checkDate(text: string): string | undefined {
	const match = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(text);
	if (!match) return undefined;
	const [, y, m, d, hh, mm, ss] = match;
	const date = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)));
	const sameDay =
		date.getUTCFullYear() === Number(y) && pad2(date.getUTCMonth() + 1) === m && pad2(date.getUTCDate()) === d;
	if (!sameDay) return undefined;
	if (hh !== undefined && (Number(hh) > 23 || Number(mm) > 59 || (ss !== undefined && Number(ss) > 59))) return undefined;
	return text;
}

/**
 * The JSON body fields for a create or an update, from the "Fields" collection. Throws a
 * NodeOperationError naming the field for anything CRM.COM could not take.
 */
export function readContactFields(ctx: IExecuteFunctions, itemIndex: number, forUpdate: boolean): IDataObject {
	const node = ctx.getNode();
	const fields = (ctx.getNodeParameter('fields', itemIndex, {}) ?? {}) as FieldsValue;
	const body: IDataObject = {};
	const origin = new Map<string, string>();
	const put = (name: string, value: IDataObject[string], label: string) => {
		const earlier = origin.get(name);
		if (earlier !== undefined) {
			throw new NodeOperationError(node, `The field "${name}" is set twice (in "${earlier}" and in "${label}")`, { itemIndex, description: 'Keep one of them.' });
		}
		origin.set(name, label);
		body[name] = value;
	};

	for (const [parameter, { field, label }] of Object.entries(COMMON_FIELDS)) {
		const text = asText(fields[parameter as keyof typeof COMMON_FIELDS]);
		if (text === '') continue;
		put(field, text, label);
	}
	const email = asText(fields.email);
	if (email !== '') {
		if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
			throw new NodeOperationError(node, `The "Email" field "${email}" is not an email address`, { itemIndex, description: 'Enter it like name@example.com, or remove the field.' });
		}
		const type = choice(fields.emailType, EMAIL_TYPES, 'PERSONAL', 'Email Type', node, itemIndex);
		put(EMAILS_SET, [{ action: 'ADD', type, email_address: email }], 'Email');
	}
	const phoneText = asText(fields.phone);
	if (phoneText !== '') {
		const number = phoneNumber(phoneText);
		if (number === undefined) {
			throw new NodeOperationError(node, `The "Phone" field "${phoneText}" is not a phone number`, { itemIndex, description: 'Enter digits, optionally with a leading + (e.g. +35722000001), or remove the field.' });
		}
		const type = choice(fields.phoneType, PHONE_TYPES, 'MOBILE', 'Phone Type', node, itemIndex);
		put(PHONES_SET, [{ action: 'ADD', type, number }], 'Phone');
	}
	if (!forUpdate && fields.type !== undefined) {
		const type = asText(fields.type).toUpperCase();
		if (type !== 'PERSON' && type !== 'COMPANY') throw new NodeOperationError(node, `The "Type" field "${asText(fields.type)}" is not Person or Company`, { itemIndex });
		put('type', type, 'Type');
	}

	const custom = fields.customFields?.field ?? [];
	custom.forEach((entry, position) => {
		const name = asText(entry.name);
		const label = `Custom Fields → ${name || `entry ${position + 1}`}`;
		if (name === '') {
			if (asText(entry.value) === '') return;
			throw new NodeOperationError(node, `The "Name" of custom field ${position + 1} is empty`, { itemIndex, description: 'Enter the CRM.COM field name, e.g. udf_string_1.' });
		}
		checkFieldName(name, 'Custom Fields', node, itemIndex);
		const text = asText(entry.value);
		if (text === '') return;
		put(name, customValue(name, text, node, itemIndex), label);
	});

	if (forUpdate) {
		const names = asText(fields.clearFields)
			.split(',')
			.map((name) => name.trim())
			.filter((name) => name !== '');
		for (const name of names) {
			checkFieldName(name, 'Fields to Clear', node, itemIndex);
			put(name, null, 'Fields to Clear');
		}
	}

	if (Object.keys(body).length === 0 && forUpdate) {
		throw new NodeOperationError(node, 'Nothing to update: add at least one field with a value under "Fields" (or name one in "Fields to Clear")', {
			itemIndex,
			description: 'Fields without a value are not sent.',
		});
	}
	if (Object.keys(body).length === 0) {
		throw new NodeOperationError(node, 'Nothing to create: add at least one field with a value under "Fields"', {
			itemIndex,
			description: 'Fields without a value are not sent.',
		});
	}
	return body;
}

/** A phone number as CRM.COM stores it: digits with an optional leading +; undefined when it is none. */
export function phoneNumber(text: string): string | undefined {
	const compact = text.trim().replace(/[\s().-]/g, '');
	return /^\+?\d{3,20}$/.test(compact) ? compact : undefined;
}

function choice<T extends string>(value: unknown, allowed: readonly T[], fallback: T, label: string, node: INode, itemIndex: number): T {
	const text = asText(value).toUpperCase();
	if (text === '') return fallback;
	if (!(allowed as readonly string[]).includes(text)) {
		throw new NodeOperationError(node, `The "${label}" field "${asText(value)}" is not one of ${allowed.join(', ')}`, { itemIndex });
	}
	return text as T;
}

function checkFieldName(name: string, where: string, node: INode, itemIndex: number): void {
	if (!FIELD_NAME.test(name) || RESERVED.has(name)) {
		throw new NodeOperationError(node, `The field name "${name}" in "${where}" is not a CRM.COM contact field name`, { itemIndex, description: 'Use lower-case letters, digits and underscores, e.g. udf_string_1 or id_number.' });
	}
	if (name.startsWith('udf_') && !UDF.test(name)) {
		throw new NodeOperationError(node, `The field name "${name}" in "${where}" is not a user-defined field`, { itemIndex, description: 'User-defined fields are named udf_string_N, udf_float_N or udf_date_N, with N a number from 1.' });
	}
}

function customValue(name: string, text: string, node: INode, itemIndex: number): string | number {
	const kind = UDF.exec(name)?.[1];
	if (kind === 'float') {
		const number = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : Number.NaN;
		if (!Number.isFinite(number)) {
			throw new NodeOperationError(node, `The value of "${name}" must be a number, not "${text}"`, { itemIndex, description: 'udf_float fields take numbers such as 42 or 3.5 (a dot for decimals).' });
		}
		return number;
	}
	if (kind === 'date') {
		const date = checkDate(text);
		if (date === undefined) {
			throw new NodeOperationError(node, `The value of "${name}" must be a date, not "${text}"`, { itemIndex, description: 'udf_date fields take dates such as 2024-05-31 or 2024-05-31T14:05:00Z.' });
		}
		return date as string;
	}
	return text;
}
