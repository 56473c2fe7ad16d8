import type { IDataObject, IExecuteFunctions, IHttpRequestMethods, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

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
	{
		displayName: 'Query Parameters',
		name: 'query',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		placeholder: 'Add parameter',
		default: {},
		displayOptions: { show },
		options: [
			{
				displayName: 'Parameter',
				name: 'parameter',
				values: [
					{ displayName: 'Name', name: 'name', type: 'string', default: '' },
					{ displayName: 'Value', name: 'value', type: 'string', default: '' },
				],
			},
		],
	},
	{
		displayName: 'JSON Body',
		name: 'jsonBody',
		type: 'json',
		default: '',
		description: 'Body to send as JSON. Leave empty for none.',
		displayOptions: { show: { ...show, method: ['POST', 'PUT', 'DELETE'] } },
	},
];

/** Any PBX API call with the credential's token. Array answers become one item each. */
export async function execute(this: IExecuteFunctions, client: PbxClient, itemIndex: number): Promise<ItemResult> {
	const method = this.getNodeParameter('method', itemIndex, 'GET') as IHttpRequestMethods;
	let path = resolvePath(this.getNode(), await client.host(), this.getNodeParameter('path', itemIndex, '') as string, itemIndex);
	if (path.toLowerCase().startsWith(API_PREFIX)) path = path.slice(API_PREFIX.length) || '/';
	const query = this.getNodeParameter('query.parameter', itemIndex, []) as Array<{ name: string; value: string }>;
	const qs: IDataObject = {};
	for (const { name, value } of query) if (name) qs[name] = value;
	let body: IDataObject | undefined;
	const raw = method === 'GET' ? '' : (this.getNodeParameter('jsonBody', itemIndex, '') as unknown);
	if (typeof raw === 'object' && raw !== null) body = raw as IDataObject;
	else if (typeof raw === 'string' && raw.trim() !== '') {
		let parsed: unknown;
		try {
			parsed = JSON.parse(raw);
		} catch {
			parsed = undefined;
		}
		if (typeof parsed !== 'object' || parsed === null) {
			throw new NodeOperationError(this.getNode(), 'The "JSON Body" parameter is not valid JSON', { itemIndex });
		}
		body = parsed as IDataObject;
	}
	const statistics = this.getNodeParameter('statistics', itemIndex, false) as boolean;
	const answer = await client.json<unknown>({ method, path, qs, body, statistics }, { itemIndex, what: `${method} ${path.split('?')[0]}` });
	if (Array.isArray(answer)) return answer.map((row) => (typeof row === 'object' && row !== null ? (row as IDataObject) : { value: row as string }));
	if (typeof answer === 'object' && answer !== null) return answer as IDataObject;
	return { data: (answer ?? null) as string | null };
}

export const parallel = true;
