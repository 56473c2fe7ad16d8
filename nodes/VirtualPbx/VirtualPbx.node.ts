import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { optionsCollection } from '../shared/operation';
import { allowWritesProperty, resourceForNodeAndTool } from '../shared/tool';
import * as apiRequest from './actions/apiRequest/request.operation';
import * as createTrusted from './actions/application/createTrusted.operation';
import * as callGet from './actions/call/get.operation';
import * as callMake from './actions/call/make.operation';
import * as callHistoryGetMany from './actions/callHistory/getMany.operation';
import * as callHistoryGetSetAside from './actions/callHistory/getSetAside.operation';
import * as callHistoryMarkFailed from './actions/callHistory/markFailed.operation';
import * as callHistoryMarkSynced from './actions/callHistory/markSynced.operation';
import * as callHistoryResetSync from './actions/callHistory/resetSync.operation';
import * as callHistoryRetrySetAside from './actions/callHistory/retrySetAside.operation';
import * as subscriptionCreate from './actions/eventSubscription/create.operation';
import * as subscriptionDelete from './actions/eventSubscription/delete.operation';
import * as subscriptionGetMany from './actions/eventSubscription/getMany.operation';
import * as extensionGetMany from './actions/extension/getMany.operation';
import * as recordingDownload from './actions/recording/download.operation';
import * as recordingGetMany from './actions/recording/getMany.operation';
import * as recordingGetUrl from './actions/recording/getUrl.operation';
import { DEFAULT_CONCURRENCY, MAX_CONCURRENCY, router } from './actions/router';
import * as userGetMe from './actions/user/getMe.operation';

export class VirtualPbx implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Virtual PBX',
		name: 'virtualPbx',
		icon: { light: 'file:../../icons/pbx.svg', dark: 'file:../../icons/pbx.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"] + ": " + $parameter["resource"]}}',
		description: 'Read call history and recordings, place calls and manage extensions of a virtual PBX (Telphin, Ringme)',
		documentationUrl: 'https://github.com/n8n-nodes-crm-pbx/n8n-nodes-crm-pbx#virtual-pbx-node',
		defaults: { name: 'Virtual PBX' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: 'virtualPbxTrustedAppApi', required: true, displayOptions: { show: { authentication: ['trustedApp'] } } },
			{ name: 'virtualPbxOAuth2Api', required: true, displayOptions: { show: { authentication: ['oAuth2'] } } },
		],
		properties: [
			{
				displayName: 'Authentication',
				name: 'authentication',
				type: 'options',
				options: [
					{ name: 'Trusted App', value: 'trustedApp', description: 'A permanent trusted application (no browser needed)' },
					{ name: 'OAuth2 (Public App)', value: 'oAuth2', description: 'The PBX user\'s approval of a public application' },
				],
				default: 'trustedApp',
			},
			...resourceForNodeAndTool(
				{
					displayName: 'Resource',
					name: 'resource',
					type: 'options',
					noDataExpression: true,
					default: 'callHistory',
					options: [
						{ name: 'API Request', value: 'apiRequest', description: 'Any PBX API call with the token added' },
						{ name: 'Application', value: 'application' },
						{ name: 'Call', value: 'call' },
						{ name: 'Call History', value: 'callHistory' },
						{ name: 'Event Subscription', value: 'eventSubscription' },
						{ name: 'Extension', value: 'extension' },
						{ name: 'Recording', value: 'recording' },
						{ name: 'User', value: 'user' },
					],
				},
				['application'],
			),
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { resource: ['user'] } },
				default: 'getMe',
				options: [{ name: 'Get Me', value: 'getMe', action: 'Get current user', description: 'Get the PBX user the credential acts for' }],
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { resource: ['application'] } },
				default: 'createTrusted',
				options: [
					{
						name: 'Create Trusted',
						value: 'createTrusted',
						action: 'Create trusted application',
						description: 'Create a permanent trusted application and output its ID and one-time secret',
					},
				],
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { resource: ['callHistory'] } },
				default: 'getMany',
				options: [
					{ name: 'Get Many', value: 'getMany', action: 'Get many calls', description: 'List calls in a time window, or only calls not yet synced' },
					{
						name: 'Get Set-Aside Calls',
						value: 'getSetAside',
						action: 'Get set aside calls',
						description: 'List the calls of the sync whose write kept failing',
					},
					{
						name: 'Mark as Failed',
						value: 'markFailed',
						action: 'Mark calls as failed',
						description: 'Count a failed write of calls; they come again, and are set aside after the last attempt',
					},
					{ name: 'Mark as Synced', value: 'markSynced', action: 'Mark calls as synced', description: 'Record calls as synced, at the end of a sync workflow' },
					{ name: 'Reset Sync State', value: 'resetSync', action: 'Reset call sync state', description: 'Forget which calls this workflow has synced' },
					{
						name: 'Retry Set-Aside Calls',
						value: 'retrySetAside',
						action: 'Retry set aside calls',
						description: 'Send set-aside calls again with the next sync run',
					},
				],
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { resource: ['call'] } },
				default: 'get',
				options: [
					{ name: 'Get', value: 'get', action: 'Get call', description: 'Get one call of the call history by its UUID' },
					{ name: 'Make', value: 'make', action: 'Make call', description: 'Click-to-call: ring an extension, then connect a number' },
				],
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { resource: ['recording'] } },
				default: 'getMany',
				options: [
					{ name: 'Download', value: 'download', action: 'Download recording', description: 'Download a recording\'s audio as binary data' },
					{ name: 'Get Many', value: 'getMany', action: 'Get many recordings', description: 'List recordings in a time window' },
					{ name: 'Get URL', value: 'getUrl', action: 'Get recording URL', description: 'Get a temporary download URL of a recording' },
				],
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { resource: ['extension'] } },
				default: 'getMany',
				options: [{ name: 'Get Many', value: 'getMany', action: 'Get many extensions', description: 'List the client\'s extensions' }],
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { resource: ['eventSubscription'] } },
				default: 'getMany',
				options: [
					{ name: 'Create', value: 'create', action: 'Create event subscription', description: 'Send an extension\'s events to a URL' },
					{ name: 'Delete', value: 'delete', action: 'Delete event subscription' },
					{ name: 'Get Many', value: 'getMany', action: 'Get many event subscriptions', description: 'List an extension\'s event subscriptions' },
				],
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { resource: ['apiRequest'] } },
				default: 'request',
				options: [{ name: 'Send', value: 'request', action: 'Send API request', description: 'Send a request to any PBX API path' }],
			},
			...userGetMe.description,
			...createTrusted.description,
			...callHistoryGetMany.description,
			...callHistoryMarkSynced.description,
			...callHistoryMarkFailed.description,
			...callHistoryGetSetAside.description,
			...callHistoryRetrySetAside.description,
			...callHistoryResetSync.description,
			...callGet.description,
			...callMake.description,
			...recordingGetMany.description,
			...recordingGetUrl.description,
			...recordingDownload.description,
			...extensionGetMany.description,
			...subscriptionCreate.description,
			...subscriptionGetMany.description,
			...subscriptionDelete.description,
			...apiRequest.description,
			allowWritesProperty('the PBX'),
			optionsCollection('the PBX', DEFAULT_CONCURRENCY, MAX_CONCURRENCY, undefined, { resource: ['application'] }, {
				'/resource': ['call', 'extension', 'recording', 'user', 'eventSubscription'],
				'/operation': ['get', 'getMany', 'getUrl', 'getMe'],
			}),
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
