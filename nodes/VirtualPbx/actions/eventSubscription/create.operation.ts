import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { ItemResult } from '../../../shared/items';
import { pathSegment } from '../../../shared/operation';
import type { PbxClient } from '../../transport';
import { extensionIdField } from '../common';
import { EVENT_TYPES } from './common';

const show = { resource: ['eventSubscription'], operation: ['create'] };

export const description: INodeProperties[] = [
	extensionIdField(show, 'The extension whose events are sent'),
	{
		displayName: 'Event Type',
		name: 'eventType',
		type: 'options',
		default: 'hangup',
		options: EVENT_TYPES,
		displayOptions: { show },
	},
	{
		displayName: 'URL',
		name: 'url',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'https://example.com/pbx-events',
		description: 'Where the PBX POSTs the events (form-encoded). For n8n workflows use the Virtual PBX Trigger instead: it registers itself.',
		displayOptions: { show },
	},
];

/** Registers a URL for one event type of one extension. */
export async function execute(this: IExecuteFunctions, client: PbxClient, itemIndex: number): Promise<ItemResult> {
	const extension = pathSegment(this.getNode(), this.getNodeParameter('extensionId', itemIndex, ''), 'Extension ID', itemIndex);
	const eventType = this.getNodeParameter('eventType', itemIndex) as string;
	const url = String(this.getNodeParameter('url', itemIndex, '')).trim();
	if (!/^https?:\/\/\S+$/i.test(url)) {
		throw new NodeOperationError(this.getNode(), `The "URL" parameter "${url}" is not an http(s) URL`, { itemIndex });
	}
	return await client.json<IDataObject>(
		{ method: 'POST', path: `/extension/${extension}/event/`, body: { url, event_type: eventType, method: 'POST' } },
		{ itemIndex, idempotent: false, what: `subscribing to ${eventType} events of extension ${decodeURIComponent(extension)}` },
	);
}

export const parallel = true;
