import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';

import type { ItemResult } from '../../../shared/items';
import { pathSegment } from '../../../shared/operation';
import type { PbxClient } from '../../transport';
import { recordUuidField } from './common';

export const description: INodeProperties[] = [
	recordUuidField('download'),
	{
		displayName: 'Put Output File in Field',
		name: 'binaryPropertyName',
		type: 'string',
		default: 'data',
		required: true,
		hint: 'The name of the output binary field to put the audio in',
		displayOptions: { show: { resource: ['recording'], operation: ['download'] } },
	},
];

const EXTENSIONS: Record<string, string> = {
	'audio/mpeg': 'mp3',
	'audio/mp3': 'mp3',
	'audio/wav': 'wav',
	'audio/x-wav': 'wav',
	'audio/wave': 'wav',
	'audio/ogg': 'ogg',
	'audio/webm': 'webm',
	'audio/mp4': 'm4a',
};

function headerValue(headers: Record<string, unknown>, name: string): string | undefined {
	const entry = Object.entries(headers).find(([key]) => key.toLowerCase() === name);
	return entry ? String(entry[1]) : undefined;
}

/** File name from Content-Disposition (plain or RFC 5987), else `<uuid>.<extension of the MIME type>`. */
export function recordingFileName(headers: Record<string, unknown>, uuid: string, mimeType: string): string {
	const disposition = headerValue(headers, 'content-disposition') ?? '';
	const star = /filename\*\s*=\s*(?:UTF-8'')?([^;]+)/i.exec(disposition);
	const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(disposition);
	const raw = star ? decodeURIComponent(star[1].trim().replace(/^"|"$/g, '')) : plain?.[1]?.trim();
	const safe = raw?.replace(/[\\/]/g, '_');
	return safe || `${uuid}.${EXTENSIONS[mimeType] ?? 'mp3'}`;
}

/** The recording's audio as n8n binary data, with its MIME type and file name. */
export async function execute(this: IExecuteFunctions, client: PbxClient, itemIndex: number): Promise<ItemResult> {
	const uuid = pathSegment(this.getNode(), this.getNodeParameter('recordUuid', itemIndex, ''), 'Record UUID', itemIndex);
	const property = String(this.getNodeParameter('binaryPropertyName', itemIndex, 'data')).trim() || 'data';
	const clientId = await client.clientId(itemIndex);
	const { body, headers } = await client.api<unknown>(
		{ path: `/client/${clientId}/record/${uuid}`, binary: true },
		{ itemIndex, what: `downloading recording ${decodeURIComponent(uuid)}` },
	);
	const buffer = Buffer.isBuffer(body) ? body : body instanceof ArrayBuffer ? Buffer.from(body) : undefined;
	const mimeType = (headerValue(headers, 'content-type') ?? 'audio/mpeg').split(';')[0].trim();
	if (!buffer || buffer.length === 0 || mimeType.startsWith('application/json') || mimeType.startsWith('text/html')) {
		const message = `The PBX did not answer recording ${decodeURIComponent(uuid)} with audio (${mimeType}, ${buffer?.length ?? 0} bytes)`;
		throw new NodeApiError(this.getNode(), { message }, { message, itemIndex });
	}
	const fileName = recordingFileName(headers, decodeURIComponent(uuid), mimeType);
	const binary = await this.helpers.prepareBinaryData(buffer, fileName, mimeType);
	return [
		{
			json: { record_uuid: decodeURIComponent(uuid), fileName, mimeType, size: buffer.length },
			binary: { [property]: binary },
		},
	];
}

export const parallel = true;
