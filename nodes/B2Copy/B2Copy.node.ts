import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { optionsCollection } from '../shared/operation';
import { allowWritesProperty, resourceForNodeAndTool } from '../shared/tool';
import * as apiRequest from './actions/apiRequest/request.operation';
import * as feeProcess from './actions/fee/process.operation';
import { DEFAULT_CONCURRENCY, MAX_CONCURRENCY, router } from './actions/router';
import * as tokenGet from './actions/token/get.operation';
import * as tokenRefresh from './actions/token/refresh.operation';

export class B2Copy implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'B2COPY',
		name: 'b2Copy',
		icon: { light: 'file:../../icons/b2copy.svg', dark: 'file:../../icons/b2copy.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"] + ": " + $parameter["resource"]}}',
		description: 'Process withdrawal fees and call the admin API of a B2COPY copy-trading platform',
		documentationUrl: 'https://github.com/n8n-nodes-crm-pbx/n8n-nodes-crm-pbx#b2copy-node',
		defaults: { name: 'B2COPY' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'b2CopyExternalCrmApi', required: true }],
		properties: [
			...resourceForNodeAndTool(
				{
					displayName: 'Resource',
					name: 'resource',
					type: 'options',
					noDataExpression: true,
					default: 'fee',
					options: [
						{ name: 'API Request', value: 'apiRequest', description: 'Any B2COPY call, signed in for you' },
						{ name: 'Fee', value: 'fee' },
						{ name: 'Token', value: 'token', description: 'Output tokens for use in later steps' },
					],
				},
				['token'],
			),
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { resource: ['fee'] } },
				default: 'process',
				options: [
					{
						name: 'Process',
						value: 'process',
						action: 'Process fee',
						description: 'Process a fee for an account login and request ID (processext), optionally waiting for the final status',
					},
				],
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { resource: ['token'] } },
				default: 'get',
				options: [
					{
						name: 'Get',
						value: 'get',
						action: 'Get access token',
						description: 'Sign a new assertion and exchange it for an access token and a refresh token',
					},
					{
						name: 'Refresh',
						value: 'refresh',
						action: 'Refresh access token',
						description: 'Trade a refresh token for a new access token and refresh token',
					},
				],
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { resource: ['apiRequest'] } },
				default: 'request',
				options: [
					{
						name: 'Send',
						value: 'request',
						action: 'Send API request',
						description: 'Send a request to any B2COPY path with the access token',
					},
				],
			},
			...feeProcess.description,
			...tokenGet.description,
			...tokenRefresh.description,
			...apiRequest.description,
			allowWritesProperty('B2COPY'),
			optionsCollection('B2COPY', DEFAULT_CONCURRENCY, MAX_CONCURRENCY, undefined, { resource: ['token'] }),
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
