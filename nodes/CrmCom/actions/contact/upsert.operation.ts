import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { ItemResult } from '../../../shared/items';
import type { CrmComClient } from '../../transport';
import { contactIdentifyBy, identifierParts, identifierValueFields } from '../common';
import { createContact } from './create.operation';
import { EMAILS_SET, PHONES_SET, PHONE_TYPES, fieldsCollection, phoneNumber, readContactFields } from './fields';
import { contactKey, onlyIfNewerField, readContact, readOnlyIfNewer, updateContact } from './write';

const show = { resource: ['contact'], operation: ['upsert'] };

export const description: INodeProperties[] = [
	{ ...contactIdentifyBy(show), default: 'phone', description: 'Which contact field the value is matched against to find the contact to update' },
	...identifierValueFields(show, 'contact', '+35722000001'),
	fieldsCollection(show, false),
	onlyIfNewerField(show),
];

/**
 * Looks the contact up by "Identify By" = "Value"; updates it when found, creates it otherwise.
 * Items with the same value go one after another in item order, and the lookup is never shared
 * with other items, so two calls from one new number in a run create one contact and the second
 * updates it. A contact created while matching by phone (or e-mail) gets that number (address),
 * so the next run finds it.
 */
export async function execute(this: IExecuteFunctions, client: CrmComClient, itemIndex: number): Promise<ItemResult> {
	const { field, value } = identifierParts(this, itemIndex);
	const fields = readContactFields(this, itemIndex, false);
	const onlyIfNewer = readOnlyIfNewer(this, itemIndex, fields);
	const current = await readContact(client, itemIndex, field, value);
	if (current !== undefined) {
		const body: IDataObject = { ...fields };
		delete body.type; // the type is set at creation only
		return { ...(await updateContact(this, client, itemIndex, { field, value, body, onlyIfNewer, current })), created: false };
	}
	const body: IDataObject = { ...fields };
	const chosen = String((this.getNodeParameter('fields', itemIndex, {}) as IDataObject).phoneType ?? '').toUpperCase();
	const phoneType = (PHONE_TYPES as readonly string[]).includes(chosen) ? chosen : 'MOBILE';
	if (field === 'phone' && !(PHONES_SET in body)) body[PHONES_SET] = [{ action: 'ADD', type: phoneType, number: phoneNumber(value) ?? value }];
	if (field === 'email' && !(EMAILS_SET in body)) body[EMAILS_SET] = [{ action: 'ADD', type: 'PERSONAL', email_address: value }];
	const created = await createContact(client, itemIndex, body);
	return { ...created, ...(onlyIfNewer !== undefined ? { written: true } : {}), created: true };
}

export function recordKey(this: IExecuteFunctions, itemIndex: number): string {
	const { field, value } = identifierParts(this, itemIndex);
	return contactKey(field, value);
}

export { stopsRun } from './write';

export const parallel = true;
