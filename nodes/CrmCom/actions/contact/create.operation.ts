import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { ItemResult } from '../../../shared/items';
import type { CrmComClient } from '../../transport';
import { EMAILS_SET, PHONES_SET, fieldsCollection, readContactFields } from './fields';
import { contactKey } from './write';

const show = { resource: ['contact'], operation: ['create'] };

export const description: INodeProperties[] = [fieldsCollection(show, false)];

/**
 * contact_information/create with the fields the user set. A POST: sent once, never resent
 * after a lost connection (it may have been carried out). To create a contact only when none
 * has the number yet, use Contact → Create or Update.
 */
export async function execute(this: IExecuteFunctions, client: CrmComClient, itemIndex: number): Promise<ItemResult> {
	return await createContact(client, itemIndex, readContactFields(this, itemIndex, false));
}

export async function createContact(client: CrmComClient, itemIndex: number, body: IDataObject): Promise<IDataObject> {
	const data = await client.call('POST', 'contact_information/create', body, { itemIndex, what: 'the contact creation' });
	return (typeof data === 'object' && data !== null && !Array.isArray(data) ? data : { data }) as IDataObject;
}

/** Creations of the same phone number (else e-mail) go one after another. */
export function recordKey(this: IExecuteFunctions, itemIndex: number): string | undefined {
	const body = readContactFields(this, itemIndex, false);
	const phone = (body[PHONES_SET] as IDataObject[] | undefined)?.[0]?.number;
	if (typeof phone === 'string') return contactKey('phone', phone);
	const email = (body[EMAILS_SET] as IDataObject[] | undefined)?.[0]?.email_address;
	return typeof email === 'string' ? contactKey('email', email) : undefined;
}

export { stopsRun } from './write';

export const parallel = true;
