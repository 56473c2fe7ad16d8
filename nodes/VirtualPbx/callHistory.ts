/**
 * Reading call history from the PBX: one page of a window, one call by its uuid. Used by
 * Call History → Get Many, Call → Get's neighbours and the call sync (sync/), which must not
 * depend on the operations.
 */
import type { IDataObject } from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';

import type { PbxClient } from './transport';

/** Rows of a list answer: the array itself, or the first array inside it. */
export function rowsOf(body: unknown, key?: string): IDataObject[] {
	if (Array.isArray(body)) return body as IDataObject[];
	if (typeof body === 'object' && body !== null) {
		const record = body as IDataObject;
		if (key && Array.isArray(record[key])) return record[key] as IDataObject[];
		for (const value of Object.values(record)) if (Array.isArray(value)) return value as IDataObject[];
	}
	return [];
}

/** One page of call history (a statistics request: never two at once). */
export async function fetchCallPage(
	client: PbxClient,
	itemIndex: number,
	query: IDataObject,
	page: number,
	perPage: number,
): Promise<IDataObject[]> {
	const clientId = await client.clientId(itemIndex);
	const body = await client.json(
		{ path: `/client/${clientId}/call_history/`, qs: { ...query, page, per_page: perPage }, statistics: true },
		{ itemIndex, what: `call history page ${page}` },
	);
	return rowsOf(body, 'call_history');
}

/** One call by its uuid, or undefined when the PBX has none (404). */
export async function fetchCall(client: PbxClient, itemIndex: number, uuid: string): Promise<IDataObject | undefined> {
	const clientId = await client.clientId(itemIndex);
	try {
		const call = await client.json<IDataObject>(
			{ path: `/client/${clientId}/call_history/${encodeURIComponent(uuid)}`, statistics: true },
			{ itemIndex, what: `reading call ${uuid}` },
		);
		return typeof call === 'object' && call !== null && !Array.isArray(call) ? call : undefined;
	} catch (error) {
		if (error instanceof NodeApiError && String(error.httpCode) === '404') return undefined;
		throw error as NodeApiError;
	}
}
