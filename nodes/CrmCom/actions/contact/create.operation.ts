import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { ItemResult } from '../../../shared/items';
import type { CrmComClient } from '../../transport';
import { fieldsCollection, readContactFields } from './fields';

const show = { resource: ['contact'], operation: ['create'] };

export const description: INodeProperties[] = [fieldsCollection(show, false)];

/**
 * contact_information/create with the fields the user set. A POST: sent once, never resent
 * after a lost connection (it may have been carried out).
 */
export async function execute(this: IExecuteFunctions, client: CrmComClient, itemIndex: number): Promise<ItemResult> {
	const body = readContactFields(this, itemIndex, false);
	const data = await client.call('POST', 'contact_information/create', body, { itemIndex, what: 'the contact creation' });
	return (typeof data === 'object' && data !== null && !Array.isArray(data) ? data : { data }) as IDataObject;
}

export const parallel = true;
