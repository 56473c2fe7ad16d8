/**
 * Virtual PBX Trigger against the fake PBX over real sockets: the webhook lifecycle (checkExists /
 * create / delete) with the trusted-app credential through the n8n-core-like
 * httpRequestWithAuthentication of test/support/context.ts, and the webhook itself, both called
 * directly and through a small receiver server the fake posts its events to.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import type { IDataObject, IHookFunctions, INodeExecutionData, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { VirtualPbxTrustedAppApi } from '../../../credentials/VirtualPbxTrustedAppApi.credentials';
import { CAP_MEMORY_MS, VirtualPbxTrigger } from '../../../nodes/VirtualPbx/VirtualPbxTrigger.node';
import { SUBSCRIPTION_LIMIT_ANSWERS, type PbxEventType } from '../../fakes/pbx';
import { createExecuteContext, credentialStore, type CredentialStore } from '../../support/context';
import { failure } from '../../support/failure';
import { usePbxFixture } from '../../support/pbx';

const trigger = new VirtualPbxTrigger();
const hooks = trigger.webhookMethods.default;
const WEBHOOK_ID = '5b0f3d3e-7a51-4c38-9d55-0d0a6f3c2b11';
const EXTENSIONS = [1001, 1002];
const EVENTS: PbxEventType[] = ['dial-in', 'answer', 'hangup'];

interface RecordedResponse {
	statusCode?: number;
	body?: unknown;
	ended: boolean;
}

interface Harness {
	params: Record<string, unknown>;
	staticData: IDataObject;
	store: CredentialStore;
	hook(): IHookFunctions;
	webhook(request: { query?: IDataObject; body?: IDataObject }): { ctx: IWebhookFunctions; response: RecordedResponse };
}

const f = usePbxFixture({ callCount: 10 });
/** The receiver n8n would be: production webhook URL base. */
let receiver: http.Server;
let webhookUrl: string;
let h: Harness;
/** What the receiver did with each post: the HTTP status and the items the trigger emitted. */
let received: Array<{ status: number; items?: INodeExecutionData[] }> = [];

/** A hook/webhook context on top of createExecuteContext (credentials, httpRequestWithAuthentication). */
function harness(params: Record<string, unknown>): Harness {
	const store = credentialStore(new VirtualPbxTrustedAppApi(), f.credentials);
	const staticData: IDataObject = {};
	const self: Harness = {
		params,
		staticData,
		store,
		hook() {
			const base = createExecuteContext({ store, params: {}, staticData });
			return {
				...base,
				getNodeParameter: (name: string, fallback?: unknown) => {
					const value = self.params[name];
					if (value === undefined) {
						if (fallback !== undefined) return fallback;
						throw new Error(`Could not get parameter "${name}"`);
					}
					return value;
				},
				getWorkflowStaticData: (type: string) => {
					expect(type).toBe('node');
					return staticData;
				},
				getNodeWebhookUrl: (name: string) => (name === 'default' ? webhookUrl : undefined),
				getWebhookName: () => 'default',
				getMode: () => 'trigger',
				getActivationMode: () => 'activate',
			} as unknown as IHookFunctions;
		},
		webhook(request) {
			const response: RecordedResponse = { ended: false };
			const res = {
				status(code: number) {
					response.statusCode = code;
					return res;
				},
				json(body: unknown) {
					response.body = body;
					response.ended = true;
					return res;
				},
				send(body: unknown) {
					response.body = body;
					response.ended = true;
					return res;
				},
				end() {
					response.ended = true;
					return res;
				},
			};
			const ctx = {
				...(self.hook() as unknown as Record<string, unknown>),
				getQueryData: () => request.query ?? {},
				getBodyData: () => request.body ?? {},
				getHeaderData: () => ({ 'content-type': 'application/x-www-form-urlencoded' }),
				getResponseObject: () => res,
				getRequestObject: () => ({ query: request.query ?? {}, body: request.body ?? {} }),
			} as unknown as IWebhookFunctions;
			return { ctx, response };
		},
	};
	return self;
}

const defaultParams = () => ({
	authentication: 'trustedApp',
	extensions: EXTENSIONS.map(String),
	events: [...EVENTS],
	onlyMissed: false,
	options: {},
});

/** Parses a form body the way n8n does for application/x-www-form-urlencoded (repeats → arrays). */
function parseForm(text: string): IDataObject {
	const out: IDataObject = {};
	for (const [key, value] of new URLSearchParams(text)) {
		const prior = out[key];
		out[key] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior as string, value];
	}
	return out;
}

/** The receiver: calls the trigger's webhook() with the request as n8n would, answers as n8n would. */
function startReceiver(): Promise<http.Server> {
	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', () => {
			void (async () => {
				const url = new URL(req.url ?? '/', 'http://127.0.0.1');
				const { ctx, response } = h.webhook({ query: parseForm(url.search.slice(1)), body: parseForm(Buffer.concat(chunks).toString('utf8')) });
				let result: IWebhookResponseData;
				try {
					result = await trigger.webhook.call(ctx);
				} catch {
					res.writeHead(500).end();
					return;
				}
				if (result.noWebhookResponse) {
					const status = response.statusCode ?? 200;
					received.push({ status });
					res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(response.body ?? {}));
					return;
				}
				received.push({ status: 200, items: result.workflowData?.[0] });
				res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result.webhookResponse ?? { message: 'Workflow was started' }));
			})();
		});
	});
	return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Subscriptions whose URL is this workflow's webhook URL (any secret). */
function ours() {
	return f.fake.subscriptions().filter((s) => s.url.startsWith(`${webhookUrl}?secret=`));
}

function expectExactlyOurs(secret: string) {
	const subs = ours();
	expect(subs).toHaveLength(EXTENSIONS.length * EVENTS.length);
	for (const s of subs) expect(s.url).toBe(`${webhookUrl}?secret=${secret}`);
	const pairs = subs.map((s) => `${s.extension_id}/${s.event_type}`).sort();
	expect(pairs).toEqual(EXTENSIONS.flatMap((e) => EVENTS.map((t) => `${e}/${t}`)).sort());
	expect(new Set(pairs).size).toBe(pairs.length);
}

beforeAll(async () => {
	receiver = await startReceiver();
	webhookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhook/${WEBHOOK_ID}/webhook`;
});

afterAll(async () => {
	await new Promise((resolve) => receiver.close(resolve));
});

beforeEach(() => {
	f.fake.clearLostAnswers();
	f.fake.settings.maxSubscriptionsPerExtension = 10;
	f.fake.settings.maxSubscriptionsPerClient = undefined;
	f.fake.settings.subscriptionLimitAnswer = SUBSCRIPTION_LIMIT_ANSWERS.message400;
	received = [];
	h = harness(defaultParams());
});

afterEach(async () => {
	// Leave the fake empty for the next test, whoever made the subscriptions.
	for (const s of f.fake.subscriptions()) {
		await fetch(`${f.fake.url}/api/ver1.0/extension/${s.extension_id}/event/${s.id}`, {
			method: 'DELETE',
			headers: { authorization: `Bearer ${f.publicTokens.accessToken}` },
		});
	}
	expect(f.fake.subscriptions()).toEqual([]);
});

describe('webhook lifecycle', () => {
	it('create registers exactly extensions × event types at the URL carrying the secret; checkExists then finds them', async () => {
		expect(await hooks.checkExists.call(h.hook())).toBe(false);
		expect(await hooks.create.call(h.hook())).toBe(true);

		const secret = String(h.staticData.secret);
		expect(secret).toMatch(/^[0-9a-f]{48}$/);
		expectExactlyOurs(secret);
		expect(f.fake.counters.subscriptionsCreated).toBe(6);
		expect(f.fake.subscriptions().every((s) => s.method === 'POST' && s.createdBy === 'api')).toBe(true);
		// What the trigger remembers is exactly what exists at the PBX.
		const remembered = (h.staticData.subscriptions as IDataObject[]).map((s) => `${s.extensionId}/${s.eventType}/${s.id}`).sort();
		expect(remembered).toEqual(ours().map((s) => `${s.extension_id}/${s.event_type}/${s.id}`).sort());

		expect(await hooks.checkExists.call(h.hook())).toBe(true);
		// The credential's token was obtained once and persisted.
		expect(h.store.preAuthentications).toBe(1);
	});

	it('a second create (and checkExists after a lost subscription list) adds nothing', async () => {
		await hooks.create.call(h.hook());
		const before = ours().map((s) => s.id);
		expect(await hooks.create.call(h.hook())).toBe(true);
		expect(f.fake.counters.subscriptionsCreated).toBe(6);
		expect(ours().map((s) => s.id)).toEqual(before);

		delete h.staticData.subscriptions;
		expect(await hooks.checkExists.call(h.hook())).toBe(true);
		expect((h.staticData.subscriptions as unknown as IDataObject[]).map((s) => Number(s.id)).sort((a, b) => a - b)).toEqual(before);
	});

	it('checkExists is false when one of ours is gone, and create then adds only that one', async () => {
		await hooks.create.call(h.hook());
		const [gone] = ours().filter((s) => s.extension_id === 1002 && s.event_type === 'answer');
		await fetch(`${f.fake.url}/api/ver1.0/extension/1002/event/${gone.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${String(h.store.data.accessToken)}` } });
		expect(await hooks.checkExists.call(h.hook())).toBe(false);
		f.fake.reset();
		await hooks.create.call(h.hook());
		expect(f.fake.counters.subscriptionsCreated).toBe(1);
		expectExactlyOurs(String(h.staticData.secret));
	});

	it('delete removes exactly ours and leaves a subscription someone else made', async () => {
		const other = f.fake.addSubscription(1001, { url: 'https://crm.example.com/pbx-hook', event_type: 'hangup' });
		await hooks.create.call(h.hook());
		expect(f.fake.subscriptions()).toHaveLength(7);
		expect(await hooks.delete.call(h.hook())).toBe(true);
		expect(f.fake.subscriptions()).toEqual([other]);
		expect(f.fake.counters.subscriptionsDeleted).toBe(6);
		expect(h.staticData.subscriptions).toBeUndefined();
		// A second delete (n8n may call it again) does nothing.
		expect(await hooks.delete.call(h.hook())).toBe(true);
		expect(f.fake.subscriptions()).toEqual([other]);
	});

	it('activate → deactivate → activate keeps the secret, never duplicates', async () => {
		await hooks.create.call(h.hook());
		const secret = h.staticData.secret;
		await hooks.delete.call(h.hook());
		expect(ours()).toEqual([]);
		expect(await hooks.checkExists.call(h.hook())).toBe(false);
		await hooks.create.call(h.hook());
		expect(h.staticData.secret).toBe(secret);
		expectExactlyOurs(String(secret));
	});

	it('a cap in reach ("Subscription limit reached"): create throws saying so, and only the subscriptions that fitted on the fullest extension were made and removed', async () => {
		f.fake.settings.maxSubscriptionsPerExtension = 3;
		const other = f.fake.addSubscription(1002, { url: 'https://crm.example.com/pbx-hook', event_type: 'dial-in' });
		// 1002 (1 + 3 needed: the fullest) goes first: two made, the third refused; 1001 never
		// touched. The cap is unknown until the PBX refuses, and a create is the only probe.
		const error = await failure<Error & { description?: string; httpCode?: string }>(hooks.create.call(h.hook()));
		expect(error.message).toMatch(/extension 1002/);
		expect(error.message).toMatch(/Subscription limit reached/);
		expect(error.message).toMatch(/has reached its subscription limit: extension 1002 had 1 subscription\(s\) and this trigger needs 3 more/);
		expect(error.description).toMatch(/Delete subscriptions no longer used/);
		expect(error.httpCode).toBe('400');
		expect(f.fake.counters.subscriptionsCreated).toBe(2);
		expect(f.fake.counters.subscriptionsDeleted).toBe(2);
		expect(f.fake.counters.subscriptionsRefused).toBe(1);
		expect(f.fake.subscriptions()).toEqual([other]);
		expect(h.staticData.subscriptions).toBeUndefined();
	});

	for (const [shape, answer] of Object.entries(SUBSCRIPTION_LIMIT_ANSWERS)) {
		it(`a cap already reached, refused as ${shape} (HTTP ${answer.status}): no subscription made or deleted, on every retry`, async () => {
			f.fake.settings.maxSubscriptionsPerExtension = 2;
			f.fake.settings.subscriptionLimitAnswer = answer;
			const others = [
				f.fake.addSubscription(1002, { url: 'https://crm.example.com/a', event_type: 'dial-in' }),
				f.fake.addSubscription(1002, { url: 'https://crm.example.com/b', event_type: 'hangup' }),
			];
			// n8n retries a failed activation at once with the same static data: the first attempt
			// costs one refused create, the others none (the refusal is remembered).
			for (let attempt = 1; attempt <= 3; attempt++) {
				const error = await failure<Error & { description?: string; httpCode?: string }>(hooks.create.call(h.hook()));
				expect(error.message).toMatch(/extension 1002/);
				expect(error.message).toMatch(/has reached its subscription limit: extension 1002 had 2 subscription\(s\) and this trigger needs 3 more/);
				expect(error.description).toMatch(/Delete subscriptions no longer used/);
				expect(error.httpCode).toBe(String(answer.status));
				// A 403 may be a dead token: the client renews it once per run and resends (the
				// refusal made nothing, so resending is safe).
				expect(f.fake.counters.subscriptionsRefused).toBe(answer.status === 403 ? 2 : 1);
				if (attempt > 1) expect(error.description).toMatch(/s ago and no subscription has been freed on these extensions since, so it was not asked again/);
			}
			expect(f.fake.counters.subscriptionsCreated).toBe(0);
			expect(f.fake.counters.subscriptionsDeleted).toBe(0);
			expect(f.fake.subscriptions()).toEqual(others);
		});
	}

	it('a cap in reach, retried: only the first attempt makes (and removes) what fitted; freeing a subscription, or time, asks the PBX again', async () => {
		f.fake.settings.maxSubscriptionsPerExtension = 3;
		const other = f.fake.addSubscription(1002, { url: 'https://crm.example.com/pbx-hook', event_type: 'dial-in' });
		for (let attempt = 1; attempt <= 4; attempt++) await failure(hooks.create.call(h.hook()));
		expect(f.fake.counters.subscriptionsCreated).toBe(2);
		expect(f.fake.counters.subscriptionsDeleted).toBe(2);
		expect(f.fake.counters.subscriptionsRefused).toBe(1);
		expect(f.fake.subscriptions()).toEqual([other]);
		// Older than the memory: asked again (and the same churn once).
		(h.staticData.capRefusal as IDataObject).at = Date.now() - CAP_MEMORY_MS - 1;
		await failure(hooks.create.call(h.hook()));
		expect(f.fake.counters.subscriptionsRefused).toBe(2);
		expect(f.fake.counters.subscriptionsCreated).toBe(4);
		// The user frees the other subscription: asked again at once, and now it fits.
		await fetch(`${f.fake.url}/api/ver1.0/extension/1002/event/${other.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${f.fake.issuedTokens().access.at(-1)}` } });
		expect(f.fake.subscriptions()).toEqual([]);
		expect(await hooks.create.call(h.hook())).toBe(true);
		expectExactlyOurs(String(h.staticData.secret));
		expect(h.staticData.capRefusal).toBeUndefined();
	});

	it('a remembered refusal is not used when the trigger needs fewer subscriptions than then', async () => {
		f.fake.settings.maxSubscriptionsPerExtension = 2;
		f.fake.addSubscription(1002, { url: 'https://crm.example.com/pbx-hook', event_type: 'dial-in' });
		await failure(hooks.create.call(h.hook()));
		expect(f.fake.counters.subscriptionsRefused).toBe(1);
		h.params.events = ['hangup'];
		expect(await hooks.create.call(h.hook())).toBe(true);
		expect(ours()).toHaveLength(2);
	});

	it('a cap of 0 (no subscription allowed at all): refused at the first create, nothing made', async () => {
		f.fake.settings.maxSubscriptionsPerExtension = 0;
		const error = await failure<Error>(hooks.create.call(h.hook()));
		expect(error.message).toMatch(/has reached its subscription limit: extension 100[12] had 0 subscription\(s\) and this trigger needs 3 more/);
		expect(f.fake.counters.subscriptionsCreated).toBe(0);
		expect(f.fake.counters.subscriptionsDeleted).toBe(0);
		expect(f.fake.subscriptions()).toEqual([]);
	});

	it('a cap over the whole PBX account, already reached: refused at the first create, nothing made', async () => {
		const others = [
			f.fake.addSubscription(1001, { url: 'https://crm.example.com/a', event_type: 'dial-in' }),
			f.fake.addSubscription(1002, { url: 'https://crm.example.com/b', event_type: 'hangup' }),
		];
		f.fake.settings.maxSubscriptionsPerClient = 2;
		const error = await failure<Error>(hooks.create.call(h.hook()));
		expect(error.message).toMatch(/subscription limit/);
		expect(f.fake.counters.subscriptionsCreated).toBe(0);
		expect(f.fake.counters.subscriptionsDeleted).toBe(0);
		expect(f.fake.subscriptions()).toEqual(others);
	});

	it('a cap over the whole account in reach: what fitted is made and removed, nothing left', async () => {
		f.fake.settings.maxSubscriptionsPerClient = 4;
		await failure<Error>(hooks.create.call(h.hook()));
		expect(f.fake.counters.subscriptionsCreated).toBe(4);
		expect(f.fake.counters.subscriptionsDeleted).toBe(4);
		expect(f.fake.subscriptions()).toEqual([]);
	});

	it('the extension that would end up fullest goes first, even when another has more subscriptions now', async () => {
		f.fake.settings.maxSubscriptionsPerExtension = 4;
		h.staticData.secret = 'f00d';
		const ourUrl = `${webhookUrl}?secret=f00d`;
		// 1001: 3 now (1 other + this trigger's dial-in and answer), needs hangup: 4, fits.
		// 1002: 2 now (others), needs all 3: 5, over the cap. 1002 must go first: 2 made, the
		// third refused, and 1001 never gets its hangup subscription made and removed.
		const before = [
			f.fake.addSubscription(1001, { url: 'https://crm.example.com/a', event_type: 'hangup' }),
			f.fake.addSubscription(1001, { url: ourUrl, event_type: 'dial-in' }),
			f.fake.addSubscription(1001, { url: ourUrl, event_type: 'answer' }),
			f.fake.addSubscription(1002, { url: 'https://crm.example.com/b', event_type: 'hangup' }),
			f.fake.addSubscription(1002, { url: 'https://crm.example.com/c', event_type: 'answer' }),
		];
		const error = await failure<Error>(hooks.create.call(h.hook()));
		expect(error.message).toMatch(/extension 1002 had 2 subscription\(s\) and this trigger needs 3 more/);
		expect(f.fake.counters.subscriptionsCreated).toBe(2);
		expect(f.fake.counters.subscriptionsDeleted).toBe(2);
		// What this trigger had before the attempt stays.
		expect(f.fake.subscriptions()).toEqual(before);
	});

	it('another refusal names the event type and extension, and also rolls back', async () => {
		// A bare 403 is renewed once (it may be a dead token); the second one is the answer.
		f.fake.fail({ method: 'POST', path: '/api/ver1.0/extension/1002/event/', times: 2 }, { status: 403, body: { message: 'Access denied' } });
		const error = await failure<Error>(hooks.create.call(h.hook()));
		expect(error.message).toMatch(/refused the dial-in event subscription for extension 1002: "Access denied"/);
		expect(f.fake.subscriptions()).toEqual([]);
	});

	it('an unknown extension after a good one: the activation fails naming it, creating nothing (n8n\'s retries neither)', async () => {
		h.params.extensions = ['1001', '9999'];
		for (let attempt = 0; attempt < 3; attempt++) {
			const error = await failure<Error>(hooks.create.call(h.hook()));
			expect(error.message).toMatch(/extension 9999/);
			expect(error.message).toMatch(/Not found/);
		}
		expect(f.fake.counters.subscriptionsCreated).toBe(0);
		expect(f.fake.counters.subscriptionsDeleted).toBe(0);
		expect(f.fake.subscriptions()).toEqual([]);
	});

	it('a subscription whose answer was lost on the way is found and removed by the rollback', async () => {
		f.fake.settings.maxSubscriptionsPerExtension = 3;
		// 1002 (the fullest, so first): its first subscription is made at the PBX but the answer
		// never arrives; 1002 then hits the limit.
		f.fake.loseAnswers({ method: 'POST', path: /\/extension\/1002\/event\/?$/, times: 1 });
		f.fake.addSubscription(1002, { url: 'https://crm.example.com/pbx-hook', event_type: 'dial-in' });
		await failure(hooks.create.call(h.hook()));
		expect(ours()).toEqual([]);
		expect(f.fake.subscriptions()).toHaveLength(1);
	});

	it('delete also finds ours when the remembered list was lost (any secret of this webhook URL), and only ours', async () => {
		const other = f.fake.addSubscription(1001, { url: `${webhookUrl}-other?secret=x`, event_type: 'hangup' });
		await hooks.create.call(h.hook());
		// Left over by an activation whose static data was never saved (another secret).
		f.fake.addSubscription(1002, { url: `${webhookUrl}?secret=0123`, event_type: 'hangup' });
		delete h.staticData.subscriptions;
		expect(await hooks.delete.call(h.hook())).toBe(true);
		expect(f.fake.subscriptions()).toEqual([other]);
	});

	it('refuses to register without extensions or event types, before any request', async () => {
		h.params.extensions = [];
		expect((await failure<Error>(hooks.create.call(h.hook()))).message).toMatch(/at least one extension/);
		h.params = { ...defaultParams(), events: [] };
		expect((await failure<Error>(hooks.create.call(h.hook()))).message).toMatch(/at least one event type/);
		h.params = { ...defaultParams(), extensions: ['1001/../1002'] };
		expect((await failure<Error>(hooks.create.call(h.hook()))).message).toMatch(/is not an extension ID/);
		expect(f.fake.counters.apiRequests).toBe(0);
	});

	it('extensions given as text from an expression ("1001, 1002")', async () => {
		h.params.extensions = '1001, 1002';
		await hooks.create.call(h.hook());
		expectExactlyOurs(String(h.staticData.secret));
	});
});

describe('webhook', () => {
	const EVENT_TIME = '1767225600123456';

	async function activate(params: Partial<ReturnType<typeof defaultParams>> = {}) {
		Object.assign(h.params, params);
		await hooks.create.call(h.hook());
		return String(h.staticData.secret);
	}

	it('401 without the secret or with a wrong one, and no workflow data', async () => {
		const secret = await activate();
		const fields = { EventType: 'hangup', CallID: 'x', EventTime: EVENT_TIME };
		const lastFlipped = `${secret.slice(0, -1)}${secret.endsWith('0') ? '1' : '0'}`;
		for (const query of [{}, { secret: '' }, { secret: lastFlipped }, { secret: secret.slice(1) }, { secret: `${secret}0` }, { Secret: secret }]) {
			const { ctx, response } = h.webhook({ query, body: fields });
			const result = await trigger.webhook.call(ctx);
			expect(response.statusCode).toBe(401);
			expect(response.ended).toBe(true);
			expect(result.workflowData).toBeUndefined();
			expect(result.noWebhookResponse).toBe(true);
		}
		// And before any activation (no secret stored), even an empty secret is refused.
		h = harness(defaultParams());
		const { ctx, response } = h.webhook({ query: { secret: '' }, body: fields });
		expect((await trigger.webhook.call(ctx)).workflowData).toBeUndefined();
		expect(response.statusCode).toBe(401);
	});

	it('the right secret: one clean item', async () => {
		const secret = await activate();
		const { ctx, response } = h.webhook({ query: { secret }, body: { EventType: 'answer', CallID: 'c1', CallStatus: 'ANSWER', CallFlow: 'in', EventTime: EVENT_TIME } });
		const result = await trigger.webhook.call(ctx);
		expect(response.statusCode).toBeUndefined();
		expect(result.workflowData).toEqual([[{ json: expect.objectContaining({ eventType: 'answer', callId: 'c1', eventTime: '2026-01-01T00:00:00.123Z' }) }]]);
	});

	it('the fake PBX posts dial-in, answer and hangup to the registered URL: clean items', async () => {
		await activate();
		const callId = 'call-0001';
		const deliveries = [
			...(await f.fake.fireEvent(1001, 'dial-in', { CallID: callId, EventTime: EVENT_TIME })),
			...(await f.fake.fireEvent(1001, 'answer', { CallID: callId, EventTime: '1767225605000000' })),
			...(await f.fake.fireEvent(1001, 'hangup', { CallID: callId, EventTime: '1767225670500000', Duration: '65500000', RecID: 'rec-1' })),
		];
		expect(deliveries.map((d) => d.status)).toEqual([200, 200, 200]);
		expect(received).toHaveLength(3);
		const items = received.map((r) => r.items);
		for (const list of items) expect(list).toHaveLength(1);
		const [dial, answer, hangup] = items.map((list) => (list as INodeExecutionData[])[0].json);
		expect(dial).toMatchObject({ eventType: 'dial-in', callId, direction: 'in', status: 'CALLING', eventTime: '2026-01-01T00:00:00.123Z', durationSeconds: null, bridged: null });
		expect(dial).toMatchObject({ callerNumber: '+74951234567', callerName: 'Ivan Petrov', calledNumber: '+74957654321', calledDid: '+74957654321', calledExtensionId: '1001', calledExtension: '000012*101' });
		expect(answer).toMatchObject({ eventType: 'answer', callId, status: 'ANSWER', eventTime: '2026-01-01T00:00:05.000Z' });
		expect(hangup).toMatchObject({ eventType: 'hangup', callId, status: 'ANSWER', eventTime: '2026-01-01T00:01:10.500Z', durationSeconds: 65.5, recordingId: 'rec-1', bridged: true });
		for (const json of [dial, answer, hangup]) {
			expect(json).not.toHaveProperty('raw');
			expect(typeof json.subCallId).toBe('string');
		}
	});

	it('a forged post to the URL without the secret (or with a wrong one): 401, nothing emitted', async () => {
		const secret = await activate();
		const fields = { EventType: 'hangup', CallID: 'forged', CallFlow: 'in', CallStatus: 'NOANSWER', Bridged: 'no', EventTime: EVENT_TIME };
		expect(await f.fake.fireRaw(webhookUrl, fields)).toBe(401);
		expect(await f.fake.fireRaw(`${webhookUrl}?secret=${'0'.repeat(secret.length)}`, fields)).toBe(401);
		expect(received).toEqual([{ status: 401 }, { status: 401 }]);
		// The same post with the secret does start it (the 401 was about the secret only).
		expect(await f.fake.fireRaw(`${webhookUrl}?secret=${secret}`, fields)).toBe(200);
		expect(received[2].items).toHaveLength(1);
	});

	it('"Only Missed Calls": only an unanswered inbound hangup is emitted', async () => {
		await activate({ onlyMissed: true });
		await f.fake.fireEvent(1002, 'dial-in', { CallID: 'm1' });
		await f.fake.fireEvent(1002, 'answer', { CallID: 'a1' });
		await f.fake.fireEvent(1002, 'hangup', { CallID: 'a1' }); // answered (ANSWER, bridged)
		await f.fake.fireEvent(1002, 'hangup', { CallID: 'o1', CallFlow: 'out', CallStatus: 'NOANSWER', Bridged: 'no' });
		await f.fake.fireEvent(1002, 'hangup', { CallID: 'm1', CallStatus: 'NOANSWER', Bridged: 'no', Duration: '20000000', RecID: undefined });
		expect(received.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
		const emitted = received.filter((r) => r.items).map((r) => (r.items as INodeExecutionData[])[0].json);
		expect(emitted).toHaveLength(1);
		expect(emitted[0]).toMatchObject({ eventType: 'hangup', callId: 'm1', status: 'NOANSWER', bridged: false, durationSeconds: 20, recordingId: null });
	});

	it('"Include Raw Fields" adds the PBX\'s form fields as posted', async () => {
		const secret = await activate({ options: { includeRaw: true } });
		await f.fake.fireEvent(1001, 'hangup', { CallID: 'r1', EventTime: EVENT_TIME, Duration: '1000000' });
		const [item] = received[0].items as INodeExecutionData[];
		const raw = item.json.raw as IDataObject;
		expect(raw).toMatchObject({ EventType: 'hangup', CallID: 'r1', EventTime: EVENT_TIME, Duration: '1000000', Bridged: 'yes', CallFlow: 'in' });
		expect(item.json).toMatchObject({ callId: 'r1', durationSeconds: 1 });
		// The secret travels in the URL, never in the item.
		expect(JSON.stringify(item.json)).not.toContain(secret);
	});

	it('events of a type not chosen, and directions filtered out, are acknowledged but start nothing', async () => {
		const secret = await activate({ events: ['hangup'] });
		const post = (fields: Record<string, string>) => f.fake.fireRaw(`${webhookUrl}?secret=${secret}`, fields);
		expect(await post({ EventType: 'voicemail', CallID: 'v1', CallFlow: 'in' })).toBe(200);
		expect(await post({ EventType: 'hangup', CallID: 'h1', CallFlow: 'in' })).toBe(200);
		h.params.options = { directions: ['out'] };
		await f.fake.fireEvent(1001, 'hangup', { CallID: 'in1' });
		await f.fake.fireEvent(1001, 'hangup', { CallID: 'out1', CallFlow: 'out' });
		expect(received.map((r) => r.status)).toEqual([200, 200, 200, 200]);
		const emitted = received.filter((r) => r.items).map((r) => (r.items as INodeExecutionData[])[0].json.callId);
		expect(emitted).toEqual(['h1', 'out1']);
	});
});
