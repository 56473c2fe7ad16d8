/**
 * Virtual PBX Trigger inside a real n8n 2.41.1 (server running): workflows activated and
 * deactivated through the editor's REST API (`POST /rest/workflows/:id/activate` with the
 * versionId, `POST /rest/workflows/:id/deactivate`), subscriptions checked at the fake PBX, events
 * fired by the fake at n8n's production webhook URL, executions read through the public API.
 * Both credentials: the trusted app (made at the fake first) and the OAuth2 public app
 * (connected through n8n's own flow, no human).
 */
import { afterAll, describe, expect, it } from 'vitest';

import { SUBSCRIPTION_LIMIT_ANSWERS, startFakePbx, type FakePbx, type PbxSubscription } from '../fakes/pbx';
import { note, type WorkflowInput } from './harness';
import { useN8n } from './instance';
import { chain, id16, nodeType } from './workflows';

const TRIGGER = nodeType('virtualPbxTrigger');
const TRIGGER_NAME = 'Virtual PBX Trigger';
const PUBLIC_APP = { clientId: '3e0c5f4b9d2a4f7c8b1e6a0d2c4f8e19', clientSecret: '7d1b3f5a9c2e4b6d8f0a1c3e5b7d9f02' };
const TRUSTED_APP = { clientId: 'b7e2c9a41f6d4e08a3c5b1d7e9f20463', clientSecret: 'f4a8c2e6b0d94f1a7c3e5b9d1f0a2c68' };
const TRUSTED_CRED = { id: id16('trgtrust', 1), name: 'PBX trusted app (trigger)' };
const OAUTH_CRED = { id: id16('trgoauth', 1), name: 'PBX public app (trigger)' };
const OTHER_URL = 'https://crm.example.com/pbx-events';

interface TriggerSpec {
	id: string;
	name: string;
	webhookId: string;
	auth: 'trustedApp' | 'oAuth2';
	extensions: string[];
	events: string[];
	onlyMissed?: boolean;
}

function triggerWorkflow(spec: TriggerSpec): WorkflowInput {
	const credentials: Record<string, { id: string; name: string }> = spec.auth === 'trustedApp' ? { virtualPbxTrustedAppApi: TRUSTED_CRED } : { virtualPbxOAuth2Api: OAUTH_CRED };
	return {
		id: spec.id,
		name: spec.name,
		nodes: [
			{
				name: TRIGGER_NAME,
				type: TRIGGER,
				typeVersion: 1,
				webhookId: spec.webhookId,
				position: [0, 0],
				parameters: { authentication: spec.auth, extensions: spec.extensions, events: spec.events, onlyMissed: spec.onlyMissed ?? false, options: {} },
				credentials,
			},
			{ name: 'NoOp', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [220, 0], parameters: {} },
		],
		connections: chain(TRIGGER_NAME, 'NoOp'),
	};
}

const WF = {
	trusted: { id: id16('trgwf', 1), name: 'PBX trigger (trusted)', webhookId: '0b6a2f0e-3c1d-4f5a-9e7b-1a2b3c4d5e01', auth: 'trustedApp', extensions: ['1001', '1002'], events: ['dial-in', 'answer', 'hangup'] },
	oauth: { id: id16('trgwf', 2), name: 'PBX trigger (OAuth2)', webhookId: '0b6a2f0e-3c1d-4f5a-9e7b-1a2b3c4d5e02', auth: 'oAuth2', extensions: ['1001', '1002'], events: ['dial-in', 'answer', 'hangup'] },
	/** Only published against a cap already reached (its static data keeps its own refusal). */
	capped: { id: id16('trgwf', 4), name: 'PBX trigger (cap reached)', webhookId: '0b6a2f0e-3c1d-4f5a-9e7b-1a2b3c4d5e04', auth: 'trustedApp', extensions: ['1001', '1002'], events: ['dial-in', 'answer', 'hangup'] },
	missed: { id: id16('trgwf', 3), name: 'PBX trigger (missed calls)', webhookId: '0b6a2f0e-3c1d-4f5a-9e7b-1a2b3c4d5e03', auth: 'trustedApp', extensions: ['1003'], events: ['hangup'], onlyMissed: true },
} satisfies Record<string, TriggerSpec>;

let fake: FakePbx;
/** Someone else's subscription, made before any activation; it must survive everything. */
let other: PbxSubscription;
const timings: string[] = [];
/** Every webhook secret seen in a registered URL. */
const webhookSecrets = new Set<string>();

async function timed<T>(label: string, work: () => Promise<T>): Promise<T> {
	const started = Date.now();
	try {
		return await work();
	} finally {
		timings.push(`${label}: ${Date.now() - started} ms`);
	}
}

/** n8n's production webhook URL of a trigger node (no query). */
const webhookBase = (spec: TriggerSpec) => `${n8n.baseUrl}/webhook/${spec.webhookId}/webhook`;

/** The subscriptions at the fake that point at this workflow's webhook URL. */
const subsOf = (spec: TriggerSpec) => fake.subscriptions().filter((s) => s.url.startsWith(`${webhookBase(spec)}?`));

interface PublicationStatus {
	status: 'in_progress' | 'not_published' | 'published' | 'partial' | 'failed';
	triggers: Array<{ nodeId: string; status: string; errorMessage?: string | null }>;
}

/**
 * n8n 2.41 publishes through an outbox (N8N_USE_WORKFLOW_PUBLICATION_SERVICE, on by default): the
 * activate/deactivate call returns before the trigger's webhook methods ran. The editor then
 * polls `GET /rest/workflows/:id/publication-status`; so does this suite.
 */
async function settled(spec: TriggerSpec, want: Array<PublicationStatus['status']>, timeoutMs = 60_000): Promise<PublicationStatus> {
	const started = Date.now();
	for (;;) {
		const res = await n8n.rest<{ data: PublicationStatus }>('GET', `/rest/workflows/${spec.id}/publication-status`);
		expect(res.status, res.text).toBe(200);
		if (res.body.data.status !== 'in_progress' && want.includes(res.body.data.status)) return res.body.data;
		if (Date.now() - started > timeoutMs) throw new Error(`publication of ${spec.id} not ${want.join('/')} after ${timeoutMs} ms: ${res.text}`);
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
}

async function activate(spec: TriggerSpec, want: Array<PublicationStatus['status']> = ['published']): Promise<PublicationStatus> {
	return await timed(`activate ${spec.id}`, async () => {
		const got = await n8n.rest<{ data: { versionId: string } }>('GET', `/rest/workflows/${spec.id}`);
		expect(got.status, got.text).toBe(200);
		const res = await n8n.rest<{ data: { active: boolean } }>('POST', `/rest/workflows/${spec.id}/activate`, { versionId: got.body.data.versionId });
		expect(res.status, res.text).toBe(200);
		expect(res.body.data.active).toBe(true);
		return await settled(spec, want);
	});
}

async function deactivate(spec: TriggerSpec): Promise<void> {
	await timed(`deactivate ${spec.id}`, async () => {
		const res = await n8n.rest<{ data: { active: boolean } }>('POST', `/rest/workflows/${spec.id}/deactivate`, {});
		expect(res.status, res.text).toBe(200);
		expect(res.body.data.active).toBe(false);
		await settled(spec, ['not_published']);
	});
}

/** Exactly extensions × events subscriptions, all at the same URL: the webhook URL with a secret. */
function expectRegistered(spec: TriggerSpec): { secret: string; ids: number[] } {
	const subs = subsOf(spec);
	expect(subs.map((s) => `${s.extension_id}/${s.event_type}`).sort()).toEqual(spec.extensions.flatMap((e) => spec.events.map((t) => `${e}/${t}`)).sort());
	const urls = new Set(subs.map((s) => s.url));
	expect(urls.size).toBe(1);
	const url = new URL([...urls][0]);
	expect(`${url.origin}${url.pathname}`).toBe(webhookBase(spec));
	const secret = url.searchParams.get('secret') ?? '';
	expect(secret).toMatch(/^[0-9a-f]{48}$/);
	webhookSecrets.add(secret);
	expect([...url.searchParams.keys()]).toEqual(['secret']);
	expect(subs.every((s) => s.method === 'POST' && s.createdBy === 'api')).toBe(true);
	return { secret, ids: subs.map((s) => s.id).sort((a, b) => a - b) };
}

interface Execution {
	id: string;
	status: string;
	mode: string;
	data?: { resultData?: { runData?: Record<string, Array<{ data?: { main?: Array<Array<{ json: Record<string, unknown> }>> } }>> } };
}

async function executions(spec: TriggerSpec): Promise<Execution[]> {
	const res = await n8n.apiRequest<{ data: Execution[] }>('GET', `/executions?workflowId=${spec.id}&includeData=true&limit=100`);
	expect(res.status, res.text).toBe(200);
	return [...res.body.data].sort((a, b) => Number(a.id) - Number(b.id));
}

/** Waits until the workflow has `count` finished executions (and returns them, oldest first). */
async function waitForExecutions(spec: TriggerSpec, count: number, timeoutMs = 60_000): Promise<Execution[]> {
	const started = Date.now();
	for (;;) {
		const list = await executions(spec);
		const finished = list.filter((e) => e.status !== 'running' && e.status !== 'new');
		if (finished.length >= count) return list;
		if (Date.now() - started > timeoutMs) throw new Error(`waited ${timeoutMs} ms for ${count} executions of ${spec.id}, have ${list.length}: ${JSON.stringify(list.map((e) => [e.id, e.status]))}`);
		await new Promise((resolve) => setTimeout(resolve, 250));
	}
}

/** The trigger's one output item of an execution (and the NoOp got it too). */
function triggerItem(execution: Execution): Record<string, unknown> {
	expect(execution.status).toBe('success');
	expect(execution.mode).toBe('webhook');
	const runData = execution.data?.resultData?.runData ?? {};
	const items = runData[TRIGGER_NAME]?.[0]?.data?.main?.[0] ?? [];
	expect(items).toHaveLength(1);
	expect(runData.NoOp?.[0]?.data?.main?.[0]).toHaveLength(1);
	return items[0].json;
}

async function connectOAuth2(credentialId: string): Promise<void> {
	const auth = await n8n.rest<{ data: string }>('GET', `/rest/oauth2-credential/auth?id=${credentialId}`);
	expect(auth.status, auth.text).toBe(200);
	const authorizeUrl = new URL(auth.body.data);
	expect(`${authorizeUrl.origin}${authorizeUrl.pathname}`).toBe(`${fake.url}/oauth/authorize`);
	const approved = await fetch(authorizeUrl, { redirect: 'manual' });
	expect(approved.status).toBe(302);
	const callback = new URL(approved.headers.get('location') as string);
	const done = await n8n.rest('GET', `${callback.pathname}${callback.search}`);
	expect(done.status, done.text).toBe(200);
	expect(done.text).not.toMatch(/error/i);
}

const n8n = useN8n({
	// The fake's public app redirects to n8n's OAuth2 callback: it starts once n8n is installed.
	prepare: async (n8n) => {
		fake = await startFakePbx({
			publicApps: [{ ...PUBLIC_APP, redirectUris: [`${n8n.baseUrl}/rest/oauth2-credential/callback`] }],
			trustedApps: [TRUSTED_APP],
			callCount: 10,
		});
		other = fake.addSubscription(1001, { url: OTHER_URL, event_type: 'hangup' });
		return fake;
	},
	credentials: () => [
		{ ...TRUSTED_CRED, type: 'virtualPbxTrustedAppApi', data: { host: fake.url, appId: TRUSTED_APP.clientId, appSecret: TRUSTED_APP.clientSecret } },
		{ ...OAUTH_CRED, type: 'virtualPbxOAuth2Api', data: { host: fake.url, clientId: PUBLIC_APP.clientId, clientSecret: PUBLIC_APP.clientSecret } },
	],
	workflows: () => Object.values(WF).map(triggerWorkflow),
	server: true,
	timings,
});

afterAll(() => {
	note(`trigger suite timings:\n  ${timings.join('\n  ')}`);
});

describe('Virtual PBX Trigger in n8n 2.41.1', () => {
	it('trusted app: activation registers exactly 2 × 3 subscriptions at n8n\'s webhook URL; re-activation does not duplicate; deactivation removes exactly those', async () => {
		await activate(WF.trusted);
		const first = expectRegistered(WF.trusted);
		expect(first.ids).toHaveLength(6);
		expect(fake.counters.subscriptionsCreated).toBe(6);

		// Activating an active workflow again (the editor's "Publish" twice): still 6, same secret
		// (n8n may tear down and re-register, or find them with checkExists).
		await activate(WF.trusted);
		const twice = expectRegistered(WF.trusted);
		expect(twice.ids).toHaveLength(6);
		expect(twice.secret).toBe(first.secret);
		expect(fake.subscriptions()).toHaveLength(7);
		note(`publishing an active workflow again: ${fake.counters.subscriptionsCreated - 6} created, ${fake.counters.subscriptionsDeleted} deleted`);

		// Deactivate, activate: the same 6 pairs, never 12, and someone else's untouched.
		await deactivate(WF.trusted);
		expect(subsOf(WF.trusted)).toEqual([]);
		expect(fake.subscriptions()).toEqual([other]);
		await activate(WF.trusted);
		const again = expectRegistered(WF.trusted);
		expect(again.ids).toHaveLength(6);
		expect(again.secret).toBe(first.secret);
		expect(fake.subscriptions()).toHaveLength(7);

		const deletedBefore = fake.counters.subscriptionsDeleted;
		await deactivate(WF.trusted);
		expect(fake.counters.subscriptionsDeleted - deletedBefore).toBe(6);
		expect(fake.subscriptions()).toEqual([other]);
		await activate(WF.trusted); // active for the next tests
		expect(expectRegistered(WF.trusted).ids).toHaveLength(6);
	});

	it('dial-in, answer and hangup from the fake: three executions with converted times and durations', async () => {
		const before = (await executions(WF.trusted)).length;
		const callId = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
		const deliveries = await timed('3 events → 3 executions', async () => {
			const d = [
				...(await fake.fireEvent(1001, 'dial-in', { CallID: callId, EventTime: '1767225600123456' })),
				...(await fake.fireEvent(1001, 'answer', { CallID: callId, EventTime: '1767225608250000' })),
				...(await fake.fireEvent(1001, 'hangup', { CallID: callId, EventTime: '1767225673500000', Duration: '73376544', RecID: 'rec-0001' })),
			];
			await waitForExecutions(WF.trusted, before + 3);
			return d;
		});
		// Each event reached n8n exactly once (someone else's hangup subscription got its own copy).
		const toN8n = deliveries.filter((d) => d.url.startsWith(webhookBase(WF.trusted)));
		expect(toN8n.map((d) => d.status)).toEqual([200, 200, 200]);

		const list = (await executions(WF.trusted)).slice(before);
		expect(list).toHaveLength(3);
		const items = list.map(triggerItem);
		const byType = Object.fromEntries(items.map((i) => [i.eventType, i]));
		expect(Object.keys(byType).sort()).toEqual(['answer', 'dial-in', 'hangup']);
		expect(byType['dial-in']).toMatchObject({ callId, direction: 'in', status: 'CALLING', eventTime: '2026-01-01T00:00:00.123Z', durationSeconds: null, calledExtensionId: '1001', callerNumber: '+74951234567' });
		expect(byType.answer).toMatchObject({ callId, status: 'ANSWER', eventTime: '2026-01-01T00:00:08.250Z', durationSeconds: null });
		expect(byType.hangup).toMatchObject({ callId, status: 'ANSWER', eventTime: '2026-01-01T00:01:13.500Z', durationSeconds: 73.377, recordingId: 'rec-0001', bridged: true });
		for (const item of items) expect(item).not.toHaveProperty('raw');
	});

	it('a forged post without the secret, or with a wrong one: 401 and no execution', async () => {
		const before = (await executions(WF.trusted)).length;
		const { secret } = expectRegistered(WF.trusted);
		const forged = { EventType: 'hangup', CallID: 'forged', CallFlow: 'in', CallStatus: 'NOANSWER', Bridged: 'no', EventTime: '1767225600000000' };
		expect(await fake.fireRaw(webhookBase(WF.trusted), forged)).toBe(401);
		expect(await fake.fireRaw(`${webhookBase(WF.trusted)}?secret=`, forged)).toBe(401);
		expect(await fake.fireRaw(`${webhookBase(WF.trusted)}?secret=${secret.replace(/.$/, (c) => (c === '0' ? '1' : '0'))}`, forged)).toBe(401);
		expect(await fake.fireRaw(`${webhookBase(WF.trusted)}?secret=${secret}x`, forged)).toBe(401);
		// A genuine event afterwards is the only new execution.
		expect(await fake.fireRaw(`${webhookBase(WF.trusted)}?secret=${secret}`, { ...forged, CallID: 'genuine' })).toBe(200);
		const list = await waitForExecutions(WF.trusted, before + 1);
		await new Promise((resolve) => setTimeout(resolve, 1_000));
		const after = (await executions(WF.trusted)).slice(before);
		expect(after).toHaveLength(1);
		expect(triggerItem(after[0]).callId).toBe('genuine');
		expect(list.length).toBe(before + 1);
	});

	it('"Only Missed Calls": only the unanswered inbound hangup starts an execution', async () => {
		await activate(WF.missed);
		expectRegistered(WF.missed);
		try {
			const answered = await fake.fireEvent(1003, 'hangup', { CallID: 'answered-1' }); // ANSWER, Bridged yes
			const outbound = await fake.fireEvent(1003, 'hangup', { CallID: 'outbound-1', CallFlow: 'out', CallStatus: 'NOANSWER', Bridged: 'no' });
			const missed = await fake.fireEvent(1003, 'hangup', { CallID: 'missed-1', CallStatus: 'NOANSWER', Bridged: 'no', Duration: '21000000', RecID: undefined, EventTime: '1767225700000000' });
			expect([...answered, ...outbound, ...missed].map((d) => d.status)).toEqual([200, 200, 200]);
			await waitForExecutions(WF.missed, 1);
			await new Promise((resolve) => setTimeout(resolve, 1_000));
			const list = await executions(WF.missed);
			expect(list).toHaveLength(1);
			expect(triggerItem(list[0])).toMatchObject({ eventType: 'hangup', callId: 'missed-1', status: 'NOANSWER', bridged: false, durationSeconds: 21, eventTime: '2026-01-01T00:01:40.000Z', recordingId: null });
		} finally {
			await deactivate(WF.missed);
		}
		expect(subsOf(WF.missed)).toEqual([]);
	});

	it('OAuth2 credential: the same lifecycle and events work', async () => {
		await deactivate(WF.trusted);
		expect(fake.subscriptions()).toEqual([other]);
		await timed('OAuth2 connect', () => connectOAuth2(OAUTH_CRED.id));
		fake.reset();

		await activate(WF.oauth);
		const first = expectRegistered(WF.oauth);
		expect(fake.counters.subscriptionsCreated).toBe(6);
		await deactivate(WF.oauth);
		expect(fake.subscriptions()).toEqual([other]);
		await activate(WF.oauth);
		expect(expectRegistered(WF.oauth).secret).toBe(first.secret);
		expect(fake.counters.subscriptionsCreated).toBe(12);
		expect(fake.subscriptions()).toHaveLength(7);

		const deliveries = await fake.fireEvent(1002, 'hangup', { CallID: 'oauth-call', Duration: '5000000', EventTime: '1767225600000000' });
		expect(deliveries.map((d) => d.status)).toEqual([200]);
		const [execution] = await waitForExecutions(WF.oauth, 1);
		expect(triggerItem(execution)).toMatchObject({ eventType: 'hangup', callId: 'oauth-call', durationSeconds: 5, eventTime: '2026-01-01T00:00:00.000Z', calledExtensionId: '1002' });
		expect(await fake.fireRaw(webhookBase(WF.oauth), { EventType: 'hangup', CallID: 'forged' })).toBe(401);

		await deactivate(WF.oauth);
		expect(fake.subscriptions()).toEqual([other]);
	});

	it('a PBX answering "Subscription limit reached": the publication fails saying so, and nothing is left behind', async () => {
		// Whatever earlier tests left (normally just someone else's subscription) must stay as is.
		const baseline = fake.subscriptions();
		const counted = fake.counters;
		expect(subsOf(WF.trusted)).toEqual([]);
		// 1001 can take one more subscription of ours, the second is refused.
		fake.settings.maxSubscriptionsPerExtension = baseline.filter((s) => s.extension_id === 1001).length + 1;
		try {
			const publication = await activate(WF.trusted, ['failed', 'partial']);
			expect(publication.status).toBe('failed');
			const message = publication.triggers.map((t) => t.errorMessage ?? '').join(' | ');
			const now = fake.counters;
			note(`publication error shown by n8n: ${message} (subscriptions created ${now.subscriptionsCreated - counted.subscriptionsCreated}, deleted ${now.subscriptionsDeleted - counted.subscriptionsDeleted})`);
			expect(message).toMatch(/Subscription limit reached/);
			expect(message).toMatch(/extension 1001/);
			expect(message).toMatch(/has reached its subscription limit/);
			expect(subsOf(WF.trusted)).toEqual([]);
			expect(fake.subscriptions()).toEqual(baseline);
			// n8n 2.41 tries a failed trigger activation 5 times. 1001 (the fullest) went first: the
			// one subscription that fitted was made and removed, once; 1002 was never touched; the
			// 4 retries were answered from the remembered refusal. The PBX publishes no cap, so a
			// create is the only probe.
			expect(now.subscriptionsCreated - counted.subscriptionsCreated).toBe(1);
			expect(now.subscriptionsDeleted - counted.subscriptionsDeleted).toBe(1);
			expect(now.subscriptionsRefused - counted.subscriptionsRefused).toBe(1);
		} finally {
			fake.settings.maxSubscriptionsPerExtension = 10;
			await deactivate(WF.trusted);
		}
		expect(fake.subscriptions()).toEqual(baseline);
	});

	it('a cap already reached (refused with 422 "Limit of 10 events per extension is exceeded"), activated twice: no subscription made or deleted, a clear message, nothing left', async () => {
		const baseline = fake.subscriptions();
		const counted = fake.counters;
		expect(subsOf(WF.capped)).toEqual([]);
		fake.settings.maxSubscriptionsPerExtension = Math.max(1, ...[1001, 1002].map((e) => baseline.filter((s) => s.extension_id === e).length));
		fake.settings.subscriptionLimitAnswer = SUBSCRIPTION_LIMIT_ANSWERS.unprocessable422;
		try {
			for (let attempt = 1; attempt <= 2; attempt++) {
				const publication = await activate(WF.capped, ['failed', 'partial']);
				expect(publication.status).toBe('failed');
				const message = publication.triggers.map((t) => t.errorMessage ?? '').join(' | ');
				if (attempt === 1) note(`publication error shown by n8n (cap already reached): ${message}`);
				expect(message).toMatch(/Limit of 10 events per extension is exceeded/);
				expect(message).toMatch(/has reached its subscription limit: extension 1001 had \d+ subscription\(s\) and this trigger needs 3 more/);
				const now = fake.counters;
				expect(now.subscriptionsCreated - counted.subscriptionsCreated).toBe(0);
				expect(now.subscriptionsDeleted - counted.subscriptionsDeleted).toBe(0);
				// One refused create in all: n8n's 4 retries of the first publication and the whole
				// second one are answered from the refusal remembered in the static data.
				expect(now.subscriptionsRefused - counted.subscriptionsRefused).toBe(1);
				expect(fake.subscriptions()).toEqual(baseline);
				await deactivate(WF.capped);
			}
		} finally {
			fake.settings.maxSubscriptionsPerExtension = 10;
			fake.settings.subscriptionLimitAnswer = SUBSCRIPTION_LIMIT_ANSWERS.message400;
		}
		expect(fake.subscriptions()).toEqual(baseline);
	});

	it('no app secret or token in n8n\'s log; where the webhook secrets show up is reported', async () => {
		const log = n8n.logText();
		const { access, refresh } = fake.issuedTokens();
		const leaked = [...access, ...refresh, PUBLIC_APP.clientSecret, TRUSTED_APP.clientSecret].filter((v) => v && log.includes(v));
		expect(leaked).toEqual([]);
		// The webhook secret is n8n's to log or not (it is part of the URL n8n calls and receives).
		expect(webhookSecrets.size).toBe(3);
		const lines = log.split('\n').filter((line) => [...webhookSecrets].some((s) => line.includes(s)));
		note(`webhook secrets appear on ${lines.length} n8n log line(s)${lines.length ? `, e.g.: ${lines[0].slice(0, 300)}` : ''}`);
	});
});
