import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { runItems } from '../../shared/items';
import { readRunSettings, type Operation } from '../../shared/operation';
import { createB2CopyClient, type B2CopyClient } from '../transport';
import * as apiRequest from './apiRequest/request.operation';
import * as feeProcess from './fee/process.operation';
import * as tokenGet from './token/get.operation';
import * as tokenRefresh from './token/refresh.operation';

/** Several requests in flight by default; B2COPY publishes no limit, so stay modest. */
export const DEFAULT_CONCURRENCY = 5;
export const MAX_CONCURRENCY = 20;

export const operations: Record<string, Record<string, Operation<B2CopyClient>>> = {
	token: { get: tokenGet, refresh: tokenRefresh },
	fee: { process: feeProcess },
	apiRequest: { request: apiRequest },
};

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const resource = this.getNodeParameter('resource', 0) as string;
	const operation = this.getNodeParameter('operation', 0) as string;
	const selected = operations[resource]?.[operation];
	if (!selected) {
		throw new NodeOperationError(this.getNode(), `The operation "${operation}" of resource "${resource}" is not supported`);
	}
	const settings = readRunSettings(this, DEFAULT_CONCURRENCY, MAX_CONCURRENCY);
	// One client per run: the credential is read once and a renewed token is shared by all items.
	const client = createB2CopyClient(this, { timeoutMs: settings.timeoutMs });
	const items = await runItems(
		this,
		{ concurrency: selected.parallel ? settings.concurrency : 1 },
		async (itemIndex) => await selected.execute.call(this, client, itemIndex),
	);
	return [items];
}
