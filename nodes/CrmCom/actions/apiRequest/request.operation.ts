import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { answerItems, jsonBodyField, nameValueList, readJsonBody, readNameValueList } from '../../../shared/apiRequest';

import type { ItemResult } from '../../../shared/items';
import type { CrmComClient, CrmComMethod } from '../../transport';

const show = { resource: ['apiRequest'], operation: ['request'] };

export const description: INodeProperties[] = [
	{
		displayName: 'Method',
		name: 'method',
		type: 'options',
		default: 'GET',
		options: [
			{ name: 'GET (Read)', value: 'GET' },
			{ name: 'POST (Create or Update)', value: 'POST' },
		],
		displayOptions: { show },
	},
	{
		displayName: 'Resource and Action',
		name: 'action',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'contact_information/show',
		description: 'The Web API method after /crmapi/rest/v2/, e.g. accounts_receivable/show. The session token is added for you.',
		displayOptions: { show },
	},
	nameValueList('parameters', 'Parameters', show, 'Sent as query parameters for GET and as JSON body fields for POST'),
	jsonBodyField(show, ['POST'], 'Fields for a POST as a JSON object, merged with the parameters above. Leave empty for none.'),
];

/** Any CRM.COM Web API method; returns the envelope's data, raises on a non-OK status. */
export async function execute(this: IExecuteFunctions, client: CrmComClient, itemIndex: number): Promise<ItemResult> {
	const method = this.getNodeParameter('method', itemIndex, 'GET') as CrmComMethod;
	const action = String(this.getNodeParameter('action', itemIndex, '')).trim().replace(/^\/+|\/+$/g, '').replace(/^crmapi\/rest\/v2\//i, '');
	if (!/^[a-z0-9_]+(\/[a-z0-9_]+)+$/i.test(action)) {
		throw new NodeOperationError(this.getNode(), `The "Resource and Action" "${action}" is not a CRM.COM method`, {
			itemIndex,
			description: 'Enter it like contact_information/show or accounts_receivable/group_members/list.',
		});
	}
	const body = method === 'POST' ? readJsonBody(this, itemIndex, '{"contact_information_identifier": {"number": "CI000111"}}') : undefined;
	const params: IDataObject = { ...(body ?? {}), ...readNameValueList(this, 'parameters', itemIndex) };
	return answerItems(await client.call(method, action, params, { itemIndex, what: `${method} ${action}` }));
}

/**
 * POSTs that name the same record (the same `*_identifier` parameters, e.g.
 * contact_information_identifier) go one after another, in item order; GETs and POSTs without an
 * identifier run in parallel.
 */
export function recordKey(this: IExecuteFunctions, itemIndex: number): string | undefined {
	if ((this.getNodeParameter('method', itemIndex, 'GET') as string) !== 'POST') return undefined;
	const body = readJsonBody(this, itemIndex, '{}') ?? {};
	const params: IDataObject = { ...body, ...readNameValueList(this, 'parameters', itemIndex) };
	const identifiers = Object.keys(params)
		.filter((key) => key.endsWith('_identifier'))
		.sort()
		.map((key) => [key, params[key]]);
	return identifiers.length > 0 ? `post:${JSON.stringify(identifiers)}` : undefined;
}

export const parallel = true;
