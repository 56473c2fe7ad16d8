/**
 * Virtual PBX Call Trigger: starts a workflow with the calls that ended since the last confirmed
 * point, one item per call, on the call sync's core (callTrigger/poll.ts).
 *
 * A `trigger()` node, not a `poll()` one: n8n 2.41.1 tells a poll node nothing about the
 * execution it started (PollContext `__emit` takes a done promise, but poll nodes are run by
 * n8n's poll executor, which never passes one through), while a trigger's `emit` accepts a done
 * promise that n8n resolves with the execution's result. The trigger schedules itself with
 * `registerCron`, from Poll Times items as poll nodes have them (`toCronExpression`).
 */
import type {
	IDataObject,
	ILoadOptionsFunctions,
	INodePropertyOptions,
	INodeType,
	INodeTypeDescription,
	IRun,
	ITriggerFunctions,
	ITriggerResponse,
	TriggerTime,
} from 'n8n-workflow';
import { NodeConnectionTypes, NodeHelpers, NodeOperationError, toCronExpression } from 'n8n-workflow';

import type { RequestContext } from '../shared/client';
import { callRows } from './actions/rows';
import { CallPoller, recentCalls, type CallFilters, type CallResult, type Direction, type PollHost } from './callTrigger/poll';
import { attemptsLimit } from './callTrigger/isolation';
import { DEFAULT_MAX_ATTEMPTS, MAX_ATTEMPTS_LIMIT } from './sync/aside';
import { createPbxClient, type PbxAuthentication, type PbxClient } from './transport';
import { VirtualPbxTrigger } from './VirtualPbxTrigger.node';

export const DEFAULT_LOOKBACK_HOURS = 4;
export const DEFAULT_MAX_CALLS = 1000;
export const DEFAULT_RETRY_MINUTES = 10;
/** How many recent calls "Fetch Test Event" shows. */
export const TEST_EVENT_CALLS = 10;

const DELIVERY_RULE =
	'A call counts as delivered once this trigger emitted it and the execution it started succeeded. The calls of a failed execution come again at a later poll, one per execution; a call that keeps failing while others succeed is set aside after Max Attempts per Call. Only ended calls are emitted, oldest first.';

function client(ctx: ITriggerFunctions): PbxClient {
	const authentication = ctx.getNodeParameter('authentication', 'trustedApp') as PbxAuthentication;
	// A trigger context has what the client uses (getNode, getCredentials,
	// helpers.httpRequestWithAuthentication); it has no processed-items helpers, so the token
	// renewal lock is off by itself (shared/renewLock.ts `processedItemsLock`).
	return createPbxClient(ctx as unknown as RequestContext, authentication, { renewLock: false });
}

function list(value: unknown): string[] {
	const raw = Array.isArray(value) ? value : String(value ?? '').split(/[,;\s]+/);
	return [...new Set(raw.map((v) => String(v).trim()).filter(Boolean))];
}

function filtersOf(ctx: ITriggerFunctions): CallFilters {
	return {
		directions: list(ctx.getNodeParameter('directions', [])) as Direction[],
		results: list(ctx.getNodeParameter('results', [])) as CallResult[],
		extensions: list(ctx.getNodeParameter('extensions', [])),
	};
}

function positive(ctx: ITriggerFunctions, name: string, value: unknown, fallback: number): number {
	const n = Number(value ?? fallback);
	if (!Number.isFinite(n) || n <= 0) throw new NodeOperationError(ctx.getNode(), `"${name}" must be a number above 0`);
	return n;
}

export class VirtualPbxCallTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Virtual PBX Call Trigger',
		name: 'virtualPbxCallTrigger',
		icon: { light: 'file:../../icons/pbx.svg', dark: 'file:../../icons/pbx.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: '={{ "New Call" }}',
		description: 'Starts the workflow with the PBX calls that ended since the last poll, one item per call',
		documentationUrl: 'https://github.com/n8n-nodes-crm-pbx/n8n-nodes-crm-pbx#virtual-pbx-call-trigger',
		eventTriggerDescription: 'Waiting for you to fetch recent calls',
		activationMessage: 'New calls will now start this workflow at the poll times you set.',
		defaults: { name: 'Virtual PBX Call Trigger' },
		inputs: [],
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
					{ name: 'Trusted App', value: 'trustedApp' },
					{ name: 'OAuth2 (Public App)', value: 'oAuth2' },
				],
				default: 'trustedApp',
			},
			{
				displayName: 'Trigger On',
				name: 'event',
				type: 'options',
				options: [{ name: 'New Call', value: 'newCall', description: 'A call ended (one item per call)' }],
				default: 'newCall',
			},
			{
				displayName: DELIVERY_RULE,
				name: 'deliveryNotice',
				type: 'notice',
				default: '',
			},
			{
				displayName: 'Poll Times',
				name: 'pollTimes',
				type: 'fixedCollection',
				typeOptions: { multipleValues: true, multipleValueButtonText: 'Add Poll Time' },
				default: { item: [{ mode: 'everyMinute' }] },
				description: 'When to ask the PBX for new calls',
				placeholder: 'Add Poll Time',
				options: NodeHelpers.cronNodeOptions,
			},
			{
				displayName: 'Directions',
				name: 'directions',
				type: 'multiOptions',
				options: [
					{ name: 'Inbound', value: 'in' },
					{ name: 'Internal', value: 'internal' },
					{ name: 'Outbound', value: 'out' },
				],
				default: [],
				description: 'Only calls in these directions (empty: all)',
			},
			{
				displayName: 'Results',
				name: 'results',
				type: 'multiOptions',
				options: [
					{ name: 'Answered', value: 'answered' },
					{ name: 'Missed', value: 'missed', description: 'Ended without being answered (no answer, busy, cancelled, failed)' },
				],
				default: [],
				description: 'Only calls with these results (empty: all)',
			},
			{
				displayName: 'Extension Names or IDs',
				name: 'extensions',
				type: 'multiOptions',
				typeOptions: { loadOptionsMethod: 'getExtensions', loadOptionsDependsOn: ['authentication'] },
				default: [],
				description:
					'Only calls of these extensions (empty: all). Choose from the list, or specify IDs using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add option',
				default: {},
				options: [
					{
						displayName: 'Lookback (Hours)',
						name: 'lookbackHours',
						type: 'number',
						typeOptions: { minValue: 0.1 },
						default: DEFAULT_LOOKBACK_HOURS,
						description:
							'Each poll reads again this far back before the point the last poll reached: a PBX may list a call only when it ends, and calls can last hours. Set it longer than your longest calls.',
					},
					{
						displayName: 'Max Attempts per Call',
						name: 'maxAttempts',
						type: 'number',
						typeOptions: { minValue: 1, maxValue: MAX_ATTEMPTS_LIMIT },
						default: DEFAULT_MAX_ATTEMPTS,
						description:
							'The calls of a failed execution come again one per execution. A call whose execution fails this many times while other calls succeed is set aside: it is not emitted again. Its failed executions stay in the execution list, where you can retry them once the record is fixed.',
					},
					{
						displayName: 'Max Calls per Poll',
						name: 'maxCalls',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: DEFAULT_MAX_CALLS,
						description: 'At most this many calls per execution, oldest first; a backlog drains over the next polls',
					},
					{
						displayName: 'Retry After Restart (Minutes)',
						name: 'retryMinutes',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: DEFAULT_RETRY_MINUTES,
						description:
							'When n8n restarts while an execution of this trigger runs, the trigger never learns its outcome: its calls come again after this time (up to twice it)',
					},
					{
						displayName: 'Simplify',
						name: 'simplify',
						type: 'boolean',
						default: false,
						description:
							'Whether to return a simplified version of each call instead of the raw data (call_uuid, start_time_gmt, start_time, end_time, flow, result, external_number, in_progress, duration, extension_id)',
					},
				],
			},
		],
	};

	methods = {
		loadOptions: {
			async getExtensions(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
				return await new VirtualPbxTrigger().methods.loadOptions.getExtensions.call(this);
			},
		},
	};

	async trigger(this: ITriggerFunctions): Promise<ITriggerResponse> {
		const options = this.getNodeParameter('options', {}) as IDataObject;
		const filters = filtersOf(this);
		const simplify = options.simplify === true;

		if (this.getMode() === 'manual') {
			// "Fetch Test Event" / "Execute workflow": recent ended calls, the sync state untouched.
			const manualTriggerFunction = async () => {
				const calls = await recentCalls(client(this), filters, TEST_EVENT_CALLS, Date.now());
				if (calls.length === 0) {
					throw new NodeOperationError(this.getNode(), 'No ended call in the last 7 days matches the filters', {
						description: 'Make or wait for a call, or widen Directions, Results and Extensions. Active runs are not affected.',
					});
				}
				this.emit([this.helpers.returnJsonArray(callRows(calls, simplify))]);
			};
			return { manualTriggerFunction };
		}

		const poller = new CallPoller({
			filters,
			lookbackMs: positive(this, 'Lookback (Hours)', options.lookbackHours, DEFAULT_LOOKBACK_HOURS) * 3_600_000,
			maxCalls: Math.floor(positive(this, 'Max Calls per Poll', options.maxCalls, DEFAULT_MAX_CALLS)),
			leaseMs: positive(this, 'Retry After Restart (Minutes)', options.retryMinutes, DEFAULT_RETRY_MINUTES) * 60_000,
			simplify,
			maxAttempts: attemptsLimit(options.maxAttempts),
		});
		const host: PollHost = {
			client: client(this),
			staticData: this.getWorkflowStaticData('node'),
			nodeId: this.getNode().id,
			emit: (data, done) => this.emit(data, undefined, done),
			createDeferredPromise: () => this.helpers.createDeferredPromise<IRun>(),
			returnJsonArray: (rows) => this.helpers.returnJsonArray(rows),
			debug: (message) => this.logger.debug(message),
			warn: (message) => this.logger.warn(message),
		};
		const onTick = () => {
			// A fresh client per poll (its token and client id are read again).
			host.client = client(this);
			void poller.poll(host).catch((error: unknown) => {
				this.saveFailedExecution(error instanceof NodeOperationError ? error : new NodeOperationError(this.getNode(), error as Error));
			});
		};
		const pollTimes = this.getNodeParameter('pollTimes', {}) as { item?: TriggerTime[] };
		const times = pollTimes.item ?? [];
		if (times.length === 0) throw new NodeOperationError(this.getNode(), 'Add at least one time in "Poll Times"');
		for (const time of times) this.helpers.registerCron({ expression: toCronExpression(time) }, onTick);
		return {};
	}
}
