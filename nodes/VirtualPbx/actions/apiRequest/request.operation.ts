import type { IExecuteFunctions, IHttpRequestMethods, INodeProperties } from 'n8n-workflow';

import { answerItems, jsonBodyField, nameValueList, readJsonBody, readNameValueList } from '../../../shared/apiRequest';

import type { ItemResult } from '../../../shared/items';
import { resolvePath } from '../../../shared/operation';
import { API_PREFIX } from '../../auth';
import type { PbxClient } from '../../transport';

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
		placeholder: '/client/@me/extension/',
		description: 'Path after /api/ver1.0 (e.g. /user/). The access token is added for you.',
		displayOptions: { show },
	},
	{
		displayName: 'Statistics Request',
		name: 'statistics',
		type: 'boolean',
		default: false,
		description: 'Whether this is a statistics call (call history, recordings): the PBX allows only one at a time',
		displayOptions: { show },
	},
	nameValueList('query', 'Query Parameters', show),
	jsonBodyField(show, ['POST', 'PUT', 'DELETE'], 'Body to send as JSON. Leave empty for none.'),
];

/** Any PBX API call with the credential's token. Array answers become one item each. */
export async function execute(this: IExecuteFunctions, client: PbxClient, itemIndex: number): Promise<ItemResult> {
	const method = this.getNodeParameter('method', itemIndex, 'GET') as IHttpRequestMethods;
	let path = resolvePath(this.getNode(), await client.host(), this.getNodeParameter('path', itemIndex, '') as string, itemIndex);
	if (path.toLowerCase().startsWith(API_PREFIX)) path = path.slice(API_PREFIX.length) || '/';
	const qs = readNameValueList(this, 'query', itemIndex);
	const body = method === 'GET' ? undefined : readJsonBody(this, itemIndex, '{"name": "n8n"}');
	const statistics = this.getNodeParameter('statistics', itemIndex, false) as boolean;
	const answer = await client.json<unknown>({ method, path, qs, body, statistics }, { itemIndex, what: `${method} ${path.split('?')[0]}` });
	return answerItems(answer);
}

export const parallel = true;
