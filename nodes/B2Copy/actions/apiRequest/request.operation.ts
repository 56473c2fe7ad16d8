import type { IExecuteFunctions, IHttpRequestMethods, INodeProperties } from 'n8n-workflow';

import { answerItems, jsonBodyField, nameValueList, readJsonBody, readNameValueList } from '../../../shared/apiRequest';

import type { ItemResult } from '../../../shared/items';
import { resolvePath } from '../../../shared/operation';
import type { B2CopyClient } from '../../transport';

const show = { resource: ['apiRequest'], operation: ['request'] };

export const description: INodeProperties[] = [
	{
		displayName: 'Method',
		name: 'method',
		type: 'options',
		default: 'GET',
		options: [
			{ name: 'DELETE', value: 'DELETE' },
			{ name: 'GET', value: 'GET' },
			{ name: 'PATCH', value: 'PATCH' },
			{ name: 'POST', value: 'POST' },
			{ name: 'PUT', value: 'PUT' },
		],
		displayOptions: { show },
	},
	{
		displayName: 'Path',
		name: 'path',
		type: 'string',
		default: '',
		required: true,
		placeholder: '/api/admin/fees/v2/fee/feeservice/processext',
		description: 'Path on the B2COPY host of the credential; the access token is added for you',
		displayOptions: { show },
	},
	nameValueList('query', 'Query Parameters', show),
	jsonBodyField(show, ['POST', 'PUT', 'PATCH', 'DELETE'], 'Body to send as JSON (POST, PUT, PATCH, DELETE). Leave empty for none.'),
];

/** Any B2COPY call, authenticated by the credential. Array answers become one item each. */
export async function execute(
	this: IExecuteFunctions,
	client: B2CopyClient,
	itemIndex: number,
): Promise<ItemResult> {
	const method = this.getNodeParameter('method', itemIndex, 'GET') as IHttpRequestMethods;
	const base = await client.baseUrl();
	const path = resolvePath(this.getNode(), base, this.getNodeParameter('path', itemIndex, '') as string, itemIndex);
	const qs = readNameValueList(this, 'query', itemIndex);
	const body = method === 'GET' ? undefined : readJsonBody(this, itemIndex, '{"account_login": "123456"}');
	const answer = await client.request<unknown>(
		{ method, url: `${base}${path}`, qs, body, json: true },
		{ itemIndex, what: `${method} ${path.split('?')[0]}` },
	);
	return answerItems(answer);
}

export const parallel = true;
