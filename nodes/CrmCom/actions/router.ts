import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { route, type OperationTable } from '../../shared/router';
import type { SecretOperations } from '../../shared/tool';
import { createCrmComClient, type CrmComClient } from '../transport';
import * as accountGet from './account/get.operation';
import * as accountGroupMembers from './account/getGroupMembers.operation';
import * as apiRequest from './apiRequest/request.operation';
import * as contactCreate from './contact/create.operation';
import * as contactGet from './contact/get.operation';
import * as contactUpdate from './contact/update.operation';
import * as contactUpsert from './contact/upsert.operation';
import * as jobGetMany from './job/getMany.operation';
import * as tokenGet from './token/get.operation';

/** CRM.COM publishes no rate limit; a handful in flight keeps lookups fast and polite. */
export const DEFAULT_CONCURRENCY = 5;
export const MAX_CONCURRENCY = 20;

/** Operations that output a token or secret: never available to an AI agent. */
export const SECRET_OPERATIONS: SecretOperations = { token: ['get'] };

export const operations: OperationTable<CrmComClient> = {
	token: { get: tokenGet },
	contact: { create: contactCreate, get: contactGet, update: contactUpdate, upsert: contactUpsert },
	account: { get: accountGet, getGroupMembers: accountGroupMembers },
	job: { getMany: jobGetMany },
	apiRequest: { request: apiRequest },
};

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	return await route(this, operations, (settings) => createCrmComClient(this, { timeoutMs: settings.timeoutMs }), {
		default: DEFAULT_CONCURRENCY,
		max: MAX_CONCURRENCY,
	}, SECRET_OPERATIONS);
}
