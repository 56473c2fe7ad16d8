import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { ItemResult } from '../../../shared/items';
import type { CrmComClient } from '../../transport';
import { contactIdentifyBy, identifierParts, identifierValueFields } from '../common';
import { fieldsCollection, readContactFields } from './fields';

const show = { resource: ['contact'], operation: ['update'] };

export const description: INodeProperties[] = [
	contactIdentifyBy(show),
	...identifierValueFields(show, 'contact', 'CI000111'),
	fieldsCollection(show, true),
];

/**
 * contact_information/update: the contact identified like Contact → Get, only the fields the
 * user set (and `null` for "Fields to Clear"). A POST: sent once, never resent after a lost
 * connection.
 */
export async function execute(this: IExecuteFunctions, client: CrmComClient, itemIndex: number): Promise<ItemResult> {
	const { field, value } = identifierParts(this, itemIndex);
	const body: IDataObject = { ...readContactFields(this, itemIndex, true), contact_information_identifier: { [field]: value } };
	const data = await client.call('POST', 'contact_information/update', body, { itemIndex, what: `the contact update (${field}=${value})` });
	return (typeof data === 'object' && data !== null && !Array.isArray(data) ? data : { data }) as IDataObject;
}

export const parallel = true;
