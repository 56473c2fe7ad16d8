import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { ItemResult } from '../../../shared/items';
import { pathSegment } from '../../../shared/operation';
import type { PbxClient } from '../../transport';
import { extensionIdField } from '../common';

const show = { resource: ['call'], operation: ['make'] };

export const description: INodeProperties[] = [
	extensionIdField(show, 'The extension that places the call (its phones ring first)'),
	{
		displayName: 'Ring First',
		name: 'srcNumbers',
		type: 'string',
		default: '',
		required: true,
		placeholder: '101, +15551230000',
		description: 'Numbers or extensions to ring first, comma-separated; when one answers, the destination is called',
		displayOptions: { show },
	},
	{
		displayName: 'Destination Number',
		name: 'dstNumber',
		type: 'string',
		default: '',
		required: true,
		placeholder: '+15559870000',
		displayOptions: { show },
	},
	{
		displayName: 'Caller ID Name',
		name: 'callerIdName',
		type: 'string',
		default: '',
		description: 'Name shown on the phones rung first, e.g. the CRM contact\'s name',
		displayOptions: { show },
	},
];

/** Click-to-call. Never resent after a dropped connection: the call may already be ringing. */
export async function execute(this: IExecuteFunctions, client: PbxClient, itemIndex: number): Promise<ItemResult> {
	const extension = pathSegment(this.getNode(), this.getNodeParameter('extensionId', itemIndex, ''), 'Extension ID', itemIndex);
	const src = String(this.getNodeParameter('srcNumbers', itemIndex, ''))
		.split(/[,;\s]+/)
		.map((n) => n.trim())
		.filter(Boolean);
	const dst = String(this.getNodeParameter('dstNumber', itemIndex, '')).trim();
	if (src.length === 0) throw new NodeOperationError(this.getNode(), 'The "Ring First" parameter is empty', { itemIndex });
	if (dst === '') throw new NodeOperationError(this.getNode(), 'The "Destination Number" parameter is empty', { itemIndex });
	const body: IDataObject = { src_num: src, dst_num: dst };
	const name = String(this.getNodeParameter('callerIdName', itemIndex, '')).trim();
	if (name) body.caller_id_name = name;
	return await client.json<IDataObject>(
		{ method: 'POST', path: `/extension/${extension}/callback/`, body },
		{ itemIndex, idempotent: false, what: `the call from extension ${decodeURIComponent(extension)} to ${dst}` },
	);
}

export const parallel = true;
