import { randomBytes } from 'node:crypto';

import type {
	IDataObject,
	IHookFunctions,
	ILoadOptionsFunctions,
	INodePropertyOptions,
	INodeType,
	INodeTypeDescription,
	IWebhookFunctions,
	IWebhookResponseData,
	JsonObject,
} from 'n8n-workflow';
import { NodeApiError, NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import { collectByPageNumber } from '../shared/paging';
import { EVENT_TYPES } from './actions/eventSubscription/common';
import { EVENT_TYPE_VALUES, isMissedCall, parsePbxEvent, secretMatches } from './events';
import { API_PREFIX } from './auth';
import { createPbxClient, type PbxAuthentication, type PbxClient } from './transport';
import {
	CAP_MEMORY_MS,
	type CapRefusal,
	type PlanEntry,
	type Subscription,
	deleteSubscription,
	isOurUrl,
	listSubscriptions,
	refusal,
	refusalWouldRepeat,
	registeredUrl,
	rollBack,
} from './trigger/subscriptions';

export { CAP_MEMORY_MS } from './trigger/subscriptions';

interface TriggerState extends IDataObject {
	secret?: string;
	subscriptions?: Subscription[];
	capRefusal?: CapRefusal;
}

function client(ctx: IHookFunctions | ILoadOptionsFunctions): PbxClient {
	const authentication = ctx.getNodeParameter('authentication', 'trustedApp') as PbxAuthentication;
	return createPbxClient(ctx, authentication);
}

function state(ctx: IHookFunctions | IWebhookFunctions): TriggerState {
	return ctx.getWorkflowStaticData('node') as TriggerState;
}

/**
 * The extension ids chosen (a list, or text "1001, 1002" from an expression). With `strict`
 * false, the usable ids only, never an error (for clean-up).
 */
function extensionIds(ctx: IHookFunctions, strict = true): string[] {
	const raw = ctx.getNodeParameter('extensions', []) as unknown;
	const list = Array.isArray(raw) ? raw : String(raw ?? '').split(/[,;\s]+/);
	const ids = [...new Set(list.map((v) => String(v).trim()).filter(Boolean))];
	if (!strict) return ids.filter((id) => /^[\w@.-]+$/.test(id));
	if (ids.length === 0) throw new NodeOperationError(ctx.getNode(), 'Choose at least one extension in "Extensions"');
	for (const id of ids) {
		if (!/^[\w@.-]+$/.test(id)) throw new NodeOperationError(ctx.getNode(), `"${id}" in "Extensions" is not an extension ID`);
	}
	return ids;
}

function eventTypes(ctx: IHookFunctions | IWebhookFunctions): string[] {
	const chosen = ctx.getNodeParameter('events', []) as string[];
	return chosen.filter((type) => (EVENT_TYPE_VALUES as readonly string[]).includes(type));
}

function apiError(ctx: IHookFunctions, answer: { message: string; description: string; httpCode: string }): NodeApiError {
	return new NodeApiError(ctx.getNode(), { message: answer.message }, answer);
}

export class VirtualPbxTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Virtual PBX Trigger',
		name: 'virtualPbxTrigger',
		icon: { light: 'file:../../icons/pbx.svg', dark: 'file:../../icons/pbx.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: '={{$parameter["events"].join(", ")}}',
		description: 'Starts the workflow when a PBX extension rings, answers, hangs up or gets a message or voicemail',
		documentationUrl: 'https://github.com/n8n-nodes-crm-pbx/n8n-nodes-crm-pbx#virtual-pbx-trigger',
		defaults: { name: 'Virtual PBX Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: 'virtualPbxTrustedAppApi', required: true, displayOptions: { show: { authentication: ['trustedApp'] } } },
			{ name: 'virtualPbxOAuth2Api', required: true, displayOptions: { show: { authentication: ['oAuth2'] } } },
		],
		webhooks: [{ name: 'default', httpMethod: 'POST', responseMode: 'onReceived', path: 'webhook' }],
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
				displayName: 'Extension Names or IDs',
				name: 'extensions',
				type: 'multiOptions',
				typeOptions: { loadOptionsMethod: 'getExtensions', loadOptionsDependsOn: ['authentication'] },
				default: [],
				required: true,
				description:
					'Extensions whose events start the workflow. Choose from the list, or specify IDs using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
			},
			{
				displayName: 'Events',
				name: 'events',
				type: 'multiOptions',
				options: EVENT_TYPES,
				default: ['hangup'],
				required: true,
				description: 'Event types that start the workflow; one subscription per extension and event type is registered',
			},
			{
				displayName: 'Only Missed Calls',
				name: 'onlyMissed',
				type: 'boolean',
				default: false,
				description: 'Whether to start only for inbound calls that ended unanswered (hangup, not bridged). Other events are ignored.',
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add option',
				default: {},
				options: [
					{
						displayName: 'Include Raw Fields',
						name: 'includeRaw',
						type: 'boolean',
						default: false,
						description: 'Whether to add the PBX\'s original form fields under "raw"',
					},
					{
						displayName: 'Directions',
						name: 'directions',
						type: 'multiOptions',
						default: [],
						options: [
							{ name: 'Inbound', value: 'in' },
							{ name: 'Internal', value: 'internal' },
							{ name: 'Outbound', value: 'out' },
						],
						description: 'Only calls in these directions (empty: all)',
					},
				],
			},
		],
	};

	methods = {
		loadOptions: {
			async getExtensions(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
				const pbx = client(this);
				const clientId = await pbx.clientId(0);
				const rows = await collectByPageNumber(
					async (page, perPage) => {
						const body = await pbx.json<unknown>({ path: `/client/${clientId}/extension/`, qs: { page, per_page: perPage } }, { itemIndex: 0, what: 'listing extensions' });
						return (Array.isArray(body) ? body : ((Object.values(body as IDataObject).find(Array.isArray) as IDataObject[] | undefined) ?? [])) as IDataObject[];
					},
					{ returnAll: true, limit: 0, pageSize: 100, maxPages: 50 },
				);
				return rows.map((row) => ({
					name: `${String(row.name ?? row.id)}${row.type ? ` (${String(row.type)})` : ''}`,
					value: String(row.id),
				}));
			},
		},
	};

	webhookMethods = {
		default: {
			/** True when every extension × event subscription of this workflow exists at the PBX. */
			async checkExists(this: IHookFunctions): Promise<boolean> {
				const data = state(this);
				if (!data.secret) return false;
				const url = registeredUrl(this, data.secret);
				const pbx = client(this);
				const found: Subscription[] = [];
				for (const extensionId of extensionIds(this)) {
					const existing = await listSubscriptions(pbx, extensionId);
					for (const eventType of eventTypes(this)) {
						const match = existing.find((s) => s.url === url && s.event_type === eventType);
						if (!match) return false;
						found.push({ extensionId, id: String(match.id), eventType });
					}
				}
				data.subscriptions = found;
				return true;
			},

			/**
			 * Registers the missing subscriptions. On any failure (a refusal such as "limit reached",
			 * an unknown extension, a lost answer) it removes every subscription of this activation
			 * before throwing: n8n's older activation path saves the static data only after a
			 * successful activation, so whatever is left behind here might never be deleted.
			 */
			async create(this: IHookFunctions): Promise<boolean> {
				const data = state(this);
				data.secret ??= randomBytes(24).toString('hex');
				const url = registeredUrl(this, data.secret);
				const pbx = client(this);
				const types = eventTypes(this);
				if (types.length === 0) throw new NodeOperationError(this.getNode(), 'Choose at least one event type in "Events"');
				const extensions = extensionIds(this);
				const mine: Subscription[] = [];
				const added: Subscription[] = [];
				const preexisting = new Set<string>();
				const touched: string[] = [];
				let failure: NodeApiError | NodeOperationError | undefined;
				// First every extension's subscriptions, before creating anything: an unknown extension
				// or a refused listing fails the activation with nothing created (n8n retries a failed
				// activation, so whatever is created and rolled back would churn on every retry).
				const plan: PlanEntry[] = [];
				for (const extensionId of extensions) {
					const existing = await listSubscriptions(pbx, extensionId);
					const missing = types.filter((eventType) => !existing.some((s) => s.url === url && s.event_type === eventType));
					plan.push({ extensionId, existing, missing });
				}
				// The PBX caps subscriptions (the cap, and whether it counts per extension or per
				// client, are unknown, and its API has no batch create and no dry run): the extension
				// that would end up with the most subscriptions goes first, so that a cap already
				// reached is refused at the very first create (nothing made, nothing to roll back), and
				// a cap in reach costs only the creates that still fit on that one extension.
				plan.sort((a, b) => b.existing.length + b.missing.length - (a.existing.length + a.missing.length) || b.existing.length - a.existing.length);
				// A cap refusal of a moment ago (n8n retries a failed activation at once, with the
				// same static data) whose conditions still hold would come again: answered from
				// memory, with nothing created.
				const now = Date.now();
				if (refusalWouldRepeat(data.capRefusal, plan, now)) {
					const known = data.capRefusal;
					throw apiError(this, {
						message: known.message,
						httpCode: known.httpCode,
						description: `${known.description} (The PBX gave this answer ${Math.round((now - known.at) / 1000)} s ago and no subscription has been freed on these extensions since, so it was not asked again; it is asked again after ${CAP_MEMORY_MS / 60_000} minutes, or at once when one is freed.)`,
					});
				}
				try {
					for (const { extensionId, existing, missing } of plan) {
						touched.push(extensionId);
						for (const eventType of types) {
							const match = existing.find((s) => s.url === url && s.event_type === eventType);
							if (match) {
								mine.push({ extensionId, id: String(match.id), eventType });
								preexisting.add(`${extensionId}/${String(match.id)}`);
								continue;
							}
							const response = await pbx.send(
								{ method: 'POST', url: `${await pbx.host()}${API_PREFIX}/extension/${encodeURIComponent(extensionId)}/event/`, body: { url, event_type: eventType, method: 'POST' }, json: true },
								{ itemIndex: 0, idempotent: false, what: `subscribing to ${eventType} events of extension ${extensionId}` },
							);
							if (response.statusCode < 200 || response.statusCode >= 300) {
								const answer = refusal(response.statusCode, response.body, { extensionId, eventType, existing: existing.length, needed: missing.length });
								if (answer.limit) {
									// Kept in the static data: n8n 2.41 saves it even when the activation fails.
									data.capRefusal = {
										at: Date.now(),
										message: answer.message,
										description: answer.description,
										httpCode: answer.httpCode,
										counts: Object.fromEntries(plan.map((p) => [p.extensionId, p.existing.length])),
										needed: Object.fromEntries(plan.map((p) => [p.extensionId, p.missing.length])),
									};
								}
								throw apiError(this, answer);
							}
							const body = (response.body ?? {}) as IDataObject;
							const created = { extensionId, id: String(body.id), eventType };
							mine.push(created);
							added.push(created);
						}
					}
				} catch (error) {
					failure = error instanceof NodeApiError || error instanceof NodeOperationError ? error : new NodeApiError(this.getNode(), error as JsonObject);
				}
				if (failure) {
					await rollBack(pbx, url, added, touched, preexisting);
					throw failure;
				}
				data.subscriptions = mine;
				delete data.capRefusal;
				return true;
			},

			/**
			 * Deletes exactly the subscriptions of this trigger: those it remembers, and any other
			 * whose URL is this node's webhook URL with a secret (left by an activation whose static
			 * data n8n never saved). Nothing else is touched.
			 */
			async delete(this: IHookFunctions): Promise<boolean> {
				const data = state(this);
				const pbx = client(this);
				const targets = new Map<string, Subscription>();
				for (const s of data.subscriptions ?? []) targets.set(`${s.extensionId}/${s.id}`, s);
				const base = this.getNodeWebhookUrl('default');
				const configured = extensionIds(this, false);
				const extensions = new Set([...configured, ...[...targets.values()].map((s) => s.extensionId)]);
				if (base) {
					for (const extensionId of extensions) {
						let existing: IDataObject[];
						try {
							existing = await listSubscriptions(pbx, extensionId);
						} catch (error) {
							// The remembered subscriptions are still deleted below.
							this.logger.warn(`Virtual PBX Trigger: could not list the event subscriptions of extension ${extensionId}: ${(error as Error).message}`);
							continue;
						}
						for (const s of existing) {
							if (typeof s.url === 'string' && isOurUrl(s.url, base)) {
								targets.set(`${extensionId}/${String(s.id)}`, { extensionId, id: String(s.id), eventType: String(s.event_type) });
							}
						}
					}
				}
				for (const s of targets.values()) {
					const response = await deleteSubscription(pbx, s, `deleting event subscription ${s.id}`);
					if (response.statusCode >= 300 && response.statusCode !== 404) return false;
				}
				delete data.subscriptions;
				return true;
			},
		},
	};

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const data = state(this);
		const query = this.getQueryData() as IDataObject;
		if (!data.secret || !secretMatches(query.secret, data.secret)) {
			const res = this.getResponseObject();
			res.status(401).json({ message: 'Unauthorized' });
			return { noWebhookResponse: true };
		}
		const fields = this.getBodyData();
		const event = parsePbxEvent(fields);
		const options = this.getNodeParameter('options', {}) as { includeRaw?: boolean; directions?: string[] };
		const ignored = { webhookResponse: { status: 'ignored' } };
		if (event.eventType && !eventTypes(this).includes(event.eventType)) return ignored;
		if ((this.getNodeParameter('onlyMissed', false) as boolean) && !isMissedCall(event)) return ignored;
		if (options.directions?.length && !options.directions.includes(String(event.direction))) return ignored;
		const json: IDataObject = options.includeRaw ? { ...event, raw: fields } : { ...event };
		return { workflowData: [[{ json }]] };
	}
}
