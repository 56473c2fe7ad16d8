import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { route, type OperationTable } from '../../shared/router';
import type { SecretOperations } from '../../shared/tool';
import { createB2CopyClient, type B2CopyClient } from '../transport';
import * as apiRequest from './apiRequest/request.operation';
import * as feeProcess from './fee/process.operation';
import * as tokenGet from './token/get.operation';
import * as tokenRefresh from './token/refresh.operation';

/** Several requests in flight by default; B2COPY publishes no limit, so stay modest. */
export const DEFAULT_CONCURRENCY = 5;
export const MAX_CONCURRENCY = 20;

/** Operations that output a token or secret: never available to an AI agent. */
export const SECRET_OPERATIONS: SecretOperations = { token: ['get', 'refresh'] };

export const operations: OperationTable<B2CopyClient> = {
	token: { get: tokenGet, refresh: tokenRefresh },
	fee: { process: feeProcess },
	apiRequest: { request: apiRequest },
};

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	return await route(this, operations, (settings) => createB2CopyClient(this, { timeoutMs: settings.timeoutMs }), {
		default: DEFAULT_CONCURRENCY,
		max: MAX_CONCURRENCY,
	}, SECRET_OPERATIONS);
}
