import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { ItemResult } from '../../../shared/items';
import type { CrmComClient } from '../../transport';
import { contactIdentifyBy, identifierParts, identifierValueFields } from '../common';
import { fieldsCollection, readContactFields } from './fields';
import { contactKey, onlyIfNewerField, readOnlyIfNewer, updateContact } from './write';

const show = { resource: ['contact'], operation: ['update'] };

export const description: INodeProperties[] = [
	contactIdentifyBy(show),
	...identifierValueFields(show, 'contact', 'CI000111'),
	fieldsCollection(show, true),
	onlyIfNewerField(show),
];

/**
 * contact_information/update: the contact identified like Contact → Get, only the fields the
 * user set (and `null` for "Fields to Clear"). A POST: sent once, never resent after a lost
 * connection. Items updating the same contact go one after another, in item order.
 */
export async function execute(this: IExecuteFunctions, client: CrmComClient, itemIndex: number): Promise<ItemResult> {
	const { field, value } = identifierParts(this, itemIndex);
	const body = readContactFields(this, itemIndex, true);
	return await updateContact(this, client, itemIndex, { field, value, body, onlyIfNewer: readOnlyIfNewer(this, itemIndex, body) });
}

export function recordKey(this: IExecuteFunctions, itemIndex: number): string {
	const { field, value } = identifierParts(this, itemIndex);
	return contactKey(field, value);
}

export { stopsRun } from './write';

export const parallel = true;
