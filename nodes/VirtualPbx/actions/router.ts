import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { route, type OperationTable } from '../../shared/router';
import type { SecretOperations } from '../../shared/tool';
import { createPbxClient, type PbxAuthentication, type PbxClient } from '../transport';
import * as apiRequest from './apiRequest/request.operation';
import * as createTrusted from './application/createTrusted.operation';
import * as callGet from './call/get.operation';
import * as callMake from './call/make.operation';
import * as callHistoryGetMany from './callHistory/getMany.operation';
import * as callHistoryGetSetAside from './callHistory/getSetAside.operation';
import * as callHistoryMarkFailed from './callHistory/markFailed.operation';
import * as callHistoryMarkSynced from './callHistory/markSynced.operation';
import * as callHistoryResetSync from './callHistory/resetSync.operation';
import * as callHistoryRetrySetAside from './callHistory/retrySetAside.operation';
import * as subscriptionCreate from './eventSubscription/create.operation';
import * as subscriptionDelete from './eventSubscription/delete.operation';
import * as subscriptionGetMany from './eventSubscription/getMany.operation';
import * as extensionGetMany from './extension/getMany.operation';
import * as recordingDownload from './recording/download.operation';
import * as recordingGetMany from './recording/getMany.operation';
import * as recordingGetUrl from './recording/getUrl.operation';
import * as userGetMe from './user/getMe.operation';

/** The PBX publishes no general rate limit; statistics calls run one at a time regardless. */
export const DEFAULT_CONCURRENCY = 5;
export const MAX_CONCURRENCY = 20;

/** Operations that output a token or secret: never available to an AI agent. */
export const SECRET_OPERATIONS: SecretOperations = { application: ['createTrusted'] };

export const operations: OperationTable<PbxClient> = {
	user: { getMe: userGetMe },
	application: { createTrusted },
	callHistory: {
		getMany: callHistoryGetMany,
		markSynced: callHistoryMarkSynced,
		markFailed: callHistoryMarkFailed,
		getSetAside: callHistoryGetSetAside,
		retrySetAside: callHistoryRetrySetAside,
		resetSync: callHistoryResetSync,
	},
	call: { get: callGet, make: callMake },
	recording: { getMany: recordingGetMany, getUrl: recordingGetUrl, download: recordingDownload },
	extension: { getMany: extensionGetMany },
	eventSubscription: { create: subscriptionCreate, getMany: subscriptionGetMany, delete: subscriptionDelete },
	apiRequest: { request: apiRequest },
};

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const authentication = this.getNodeParameter('authentication', 0, 'trustedApp') as PbxAuthentication;
	// Call History keeps the call sync's claim lock in this node's processed-items row: the token
	// renewal lock (shared/renewLock.ts), which uses the same row, is never taken there.
	const renewLock = this.getNodeParameter('resource', 0) !== 'callHistory';
	return await route(this, operations, (settings) => createPbxClient(this, authentication, { timeoutMs: settings.timeoutMs, renewLock }), {
		default: DEFAULT_CONCURRENCY,
		max: MAX_CONCURRENCY,
	}, SECRET_OPERATIONS);
}
