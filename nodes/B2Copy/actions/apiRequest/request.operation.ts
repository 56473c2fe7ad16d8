import type { IDataObject, IExecuteFunctions, IHttpRequestMethods, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

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
		description: 'Body to send as JSON (POST, PUT, PATCH, DELETE). Leave empty for none.',
		displayOptions: { show: { ...show, method: ['POST', 'PUT', 'PATCH', 'DELETE'] } },
	},
];

/** Reads the JSON body parameter, which may arrive as text or as an object from an expression. */
export function readJsonBody(ctx: IExecuteFunctions, itemIndex: number): IDataObject | IDataObject[] | undefined {
	const raw = ctx.getNodeParameter('jsonBody', itemIndex, '') as unknown;
	if (raw === undefined || raw === null || raw === '') return undefined;
	if (typeof raw === 'object') return raw as IDataObject;
	try {
		const parsed: unknown = JSON.parse(String(raw));
		if (typeof parsed !== 'object' || parsed === null) throw new Error('not an object');
		return parsed as IDataObject;
	} catch {
		throw new NodeOperationError(ctx.getNode(), 'The "JSON Body" parameter is not valid JSON', {
			itemIndex,
			description: 'Enter a JSON object such as {"account_login": "123456"}, or leave it empty.',
		});
	}
}

/** Any B2COPY call, authenticated by the credential. Array answers become one item each. */
export async function execute(
	this: IExecuteFunctions,
	client: B2CopyClient,
	itemIndex: number,
): Promise<ItemResult> {
	const method = this.getNodeParameter('method', itemIndex, 'GET') as IHttpRequestMethods;
	const base = await client.baseUrl();
	const path = resolvePath(this.getNode(), base, this.getNodeParameter('path', itemIndex, '') as string, itemIndex);
	const query = this.getNodeParameter('query.parameter', itemIndex, []) as Array<{ name: string; value: string }>;
	const qs: IDataObject = {};
	for (const { name, value } of query) if (name) qs[name] = value;
	const body = method === 'GET' ? undefined : readJsonBody(this, itemIndex);
	const answer = await client.request<unknown>(
		{ method, url: `${base}${path}`, qs, body, json: true },
		{ itemIndex, what: `${method} ${path.split('?')[0]}` },
	);
	if (Array.isArray(answer)) {
		return answer.map((entry) => (typeof entry === 'object' && entry !== null ? (entry as IDataObject) : { value: entry as string }));
	}
	if (typeof answer === 'object' && answer !== null) return answer as IDataObject;
	return { data: (answer ?? null) as string | null };
}

export const parallel = true;
