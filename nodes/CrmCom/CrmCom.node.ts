import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { optionsCollection } from '../shared/operation';
import { allowWritesProperty, resourceForNodeAndTool } from '../shared/tool';
import * as accountGet from './actions/account/get.operation';
import * as accountGroupMembers from './actions/account/getGroupMembers.operation';
import * as apiRequest from './actions/apiRequest/request.operation';
import * as contactCreate from './actions/contact/create.operation';
import * as contactGet from './actions/contact/get.operation';
import * as contactUpdate from './actions/contact/update.operation';
import * as contactUpsert from './actions/contact/upsert.operation';
import * as jobGetMany from './actions/job/getMany.operation';
import { DEFAULT_CONCURRENCY, MAX_CONCURRENCY, router } from './actions/router';
import * as tokenGet from './actions/token/get.operation';

export class CrmCom implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'CRM.COM',
		name: 'crmCom',
		icon: { light: 'file:../../icons/crmcom.svg', dark: 'file:../../icons/crmcom.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"] + ": " + $parameter["resource"]}}',
		description: 'Look up, create and update contacts, look up accounts and jobs in CRM.COM, and call any of its API methods',
		documentationUrl: 'https://github.com/n8n-nodes-crm-pbx/n8n-nodes-crm-pbx#crmcom-node',
		defaults: { name: 'CRM.COM' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'crmComApi', required: true }],
		properties: [
			...resourceForNodeAndTool(
				{
					displayName: 'Resource',
					name: 'resource',
					type: 'options',
					noDataExpression: true,
					default: 'contact',
					options: [
						{ name: 'Account', value: 'account' },
						{ name: 'API Request', value: 'apiRequest', description: 'Any Web API method, logged in for you' },
						{ name: 'Contact', value: 'contact' },
						{ name: 'Job', value: 'job' },
						{ name: 'Token', value: 'token', description: 'Output a session token for later steps' },
					],
				},
				['token'],
			),
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { resource: ['contact'] } },
				default: 'get',
				options: [
					{ name: 'Create', value: 'create', action: 'Create contact', description: 'Create a contact with the fields you set' },
					{
						name: 'Create or Update',
						value: 'upsert',
						action: 'Create or update contact',
						description: 'Create a new record, or update the current one if it already exists (upsert)',
					},
					{ name: 'Get', value: 'get', action: 'Get contact', description: 'Get a contact by number, ID, name, email or phone' },
					{ name: 'Update', value: 'update', action: 'Update contact', description: 'Change only the fields you set on a contact' },
				],
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { resource: ['account'] } },
				default: 'get',
				options: [
					{ name: 'Get', value: 'get', action: 'Get account', description: 'Get an accounts receivable account' },
					{
						name: 'Get Group Members',
						value: 'getGroupMembers',
						action: 'Get group account members',
						description: 'List the member accounts of a group account',
					},
				],
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { resource: ['job'] } },
				default: 'getMany',
				options: [{ name: 'Get Many', value: 'getMany', action: 'Get many jobs', description: 'List jobs' }],
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { resource: ['token'] } },
				default: 'get',
				options: [{ name: 'Get', value: 'get', action: 'Get session token', description: 'Log in and output the session token and its expiry' }],
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { resource: ['apiRequest'] } },
				default: 'request',
				options: [{ name: 'Send', value: 'request', action: 'Send API request', description: 'Call any CRM.COM Web API method' }],
			},
			...contactCreate.description,
			...contactGet.description,
			...contactUpdate.description,
			...contactUpsert.description,
			...accountGet.description,
			...accountGroupMembers.description,
			...jobGetMany.description,
			...tokenGet.description,
			...apiRequest.description,
			allowWritesProperty('CRM.COM'),
			optionsCollection('CRM.COM', DEFAULT_CONCURRENCY, MAX_CONCURRENCY, undefined, { resource: ['token'] }, { '/resource': ['contact', 'account', 'job'] }),
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
