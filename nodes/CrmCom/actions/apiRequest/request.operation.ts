import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

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
	{
		displayName: 'Parameters',
		name: 'parameters',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		placeholder: 'Add parameter',
		default: {},
		description: 'Sent as query parameters for GET and as JSON body fields for POST',
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
		description: 'Fields for a POST as a JSON object, merged with the parameters above. Leave empty for none.',
		displayOptions: { show: { ...show, method: ['POST'] } },
	},
];

function parseBody(ctx: IExecuteFunctions, itemIndex: number): IDataObject {
	const raw = ctx.getNodeParameter('jsonBody', itemIndex, '') as unknown;
	if (raw === undefined || raw === null || raw === '') return {};
	if (typeof raw === 'object' && !Array.isArray(raw)) return raw as IDataObject;
	let parsed: unknown;
	try {
		parsed = JSON.parse(String(raw));
	} catch {
		parsed = undefined;
	}
	if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
		throw new NodeOperationError(ctx.getNode(), 'The "JSON Body" parameter is not a JSON object', {
			itemIndex,
			description: 'Enter an object such as {"contact_information_identifier": {"number": "CI000111"}}, or leave it empty.',
		});
	}
	return parsed as IDataObject;
}

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
	const parameters = this.getNodeParameter('parameters.parameter', itemIndex, []) as Array<{ name: string; value: string }>;
	const params: IDataObject = method === 'POST' ? parseBody(this, itemIndex) : {};
	for (const { name, value } of parameters) if (name && name !== 'token') params[name] = value;
	const data = await client.call(method, action, params, { itemIndex, what: `${method} ${action}` });
	if (Array.isArray(data)) return data.map((row) => (typeof row === 'object' && row !== null ? (row as IDataObject) : { value: row as string }));
	if (typeof data === 'object' && data !== null) return data as IDataObject;
	return { data: (data ?? null) as string | null };
}

export const parallel = true;
