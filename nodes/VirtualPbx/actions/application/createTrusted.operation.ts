import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import type { ItemResult } from '../../../shared/items';
import type { PbxClient } from '../../transport';

const show = { resource: ['application'], operation: ['createTrusted'] };

export const description: INodeProperties[] = [
	{
		displayName:
			'The new application\'s secret is output once and cannot be read again: copy the ID and secret into a "Virtual PBX Trusted App API" credential right after running this.',
		name: 'createTrustedNotice',
		type: 'notice',
		default: '',
		displayOptions: { show },
	},
	{
		displayName: 'Name',
		name: 'name',
		type: 'string',
		default: 'n8n',
		required: true,
		description: 'Name of the trusted application, as the PBX user will see it',
		displayOptions: { show },
	},
];

/** Creates a permanent trusted application; outputs its id and its one-time secret. */
export async function execute(this: IExecuteFunctions, client: PbxClient, itemIndex: number): Promise<ItemResult> {
	const name = String(this.getNodeParameter('name', itemIndex, '')).trim();
	if (name === '') throw new NodeOperationError(this.getNode(), 'The "Name" parameter is empty', { itemIndex });
	const body = await client.json<IDataObject>(
		{ method: 'POST', path: '/application/', body: { name, type: 'trusted' } },
		// Creating an application is not idempotent: a dropped connection is reported, not resent.
		{ itemIndex, idempotent: false, what: 'creating the trusted application' },
	);
	const id = body.id ?? body.client_id ?? body.app_id;
	const secret = body.secret ?? body.client_secret ?? body.app_secret;
	if (id === undefined || secret === undefined) {
		const message = `The PBX created the application but its answer has no ${id === undefined ? 'id' : 'secret'} (fields received: ${Object.keys(body).join(', ') || 'none'})`;
		throw new NodeApiError(this.getNode(), { message }, { message, itemIndex, description: 'Reset the application\'s secret in the PBX (PUT /application/{id}/reset_secret/) to get a new one.' });
	}
	return {
		id: String(id),
		secret: String(secret),
		name: (body.name as string) ?? name,
		type: (body.type as string) ?? 'trusted',
		hint: 'Create a "Virtual PBX Trusted App API" credential now with this id as App ID and this secret as App Secret: the PBX shows the secret only once.',
	};
}

export const parallel = false;
