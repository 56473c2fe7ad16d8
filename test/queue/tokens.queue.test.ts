/**
 * Queue mode: n8n main + 2 workers (Redis, PostgreSQL), the package installed the panel way, one
 * webhook workflow using all three vendors (B2COPY Fee → Process, CRM.COM Contact → Get, Virtual
 * PBX User → Get Me on 20 items) plus, for comparison (issue 12 item 3), n8n's own HTTP Request
 * node with a generic `oAuth2Api` client-credentials credential against the same PBX token
 * endpoint (another trusted app, so its grants are counted apart); bursts of 20 executions at
 * once. Proves, per burst: every execution succeeds; both workers run executions; no refused
 * B2COPY refresh (automatic renewal never refreshes); a median of at most 2 token acquisitions
 * per vendor of the package (3 bursts, first use and after the vendors expired every token, also
 * with 300 ms at the token endpoints); no secret or token in any process's log. Figures (also
 * n8n's OAuth2 grants, printed only) go to docs/scaling.md.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { B2COPY_PATHS } from '../fakes/b2copy';
import { CRMCOM_PATHS } from '../fakes/crmcom';
import { PBX_PATHS } from '../fakes/pbx';
import { b2copyFixture, type B2CopyFixture } from '../support/b2copy';
import { crmcomFixture, type CrmComFixture } from '../support/crmcom';
import { createTrustedApp, pbxFixture, type PbxFixture } from '../support/pbx';
import { note, packPackage, type WorkflowInput, type WorkflowNode } from '../n8n/harness';
import { id16, nodeType } from '../n8n/workflows';
import { startQueueCluster, type QueueCluster, type WebhookAnswer } from './cluster';

const BURST = 20;
const ITEMS = 20;
/** Each burst set (scenario × round) has its own credentials, workflow and webhook path, so a
 * "first use" burst really finds no token in the store (one import for all, no re-import). */
const SETS = 6;
const credsOf = (set: number) => ({
	b2CopyExternalCrmApi: { id: id16('qb2cred', set), name: `B2COPY (fake) ${set}` },
	crmComApi: { id: id16('qcrmcred', set), name: `CRM.COM (fake) ${set}` },
	virtualPbxTrustedAppApi: { id: id16('qpbxcred', set), name: `PBX trusted app (fake) ${set}` },
	oAuth2Api: { id: id16('qoauthcred', set), name: `PBX via n8n OAuth2 client credentials (fake) ${set}` },
});
const workflowIdOf = (set: number) => id16('qwfburst', set);
const webhookPathOf = (set: number) => `queue-burst-${set}`;

let cluster: QueueCluster;
let b2: B2CopyFixture;
let crm: CrmComFixture;
let pbx: PbxFixture;
/** The trusted app behind the generic oAuth2Api credential (n8n's own OAuth2, for comparison). */
let oauthApp: { id: string; secret: string };

function burstWorkflow(set: number): WorkflowInput {
	const CREDS = credsOf(set);
	const names = ['Webhook', 'Make Items', 'Split Items', 'Fee', 'Contact', 'Me', 'Me via n8n OAuth2'];
	const nodes: WorkflowNode[] = [
		{
			name: 'Webhook',
			type: 'n8n-nodes-base.webhook',
			typeVersion: 2,
			webhookId: `5b1d5c1e-4c39-4d55-9a49-1d0c6c0a9e${String(set).padStart(2, '0')}`,
			parameters: { httpMethod: 'POST', path: webhookPathOf(set), responseMode: 'lastNode', responseData: 'allEntries', options: {} },
		},
		{
			name: 'Make Items',
			type: 'n8n-nodes-base.set',
			typeVersion: 3.4,
			parameters: { mode: 'raw', jsonOutput: `={{ JSON.stringify({ rows: Array.from({ length: ${ITEMS} }, (_, i) => ({ i })) }) }}`, options: {} },
		},
		{ name: 'Split Items', type: 'n8n-nodes-base.splitOut', typeVersion: 1, parameters: { fieldToSplitOut: 'rows', options: {} } },
		{
			name: 'Fee',
			type: nodeType('b2Copy'),
			typeVersion: 1,
			credentials: { b2CopyExternalCrmApi: CREDS.b2CopyExternalCrmApi },
			parameters: {
				resource: 'fee',
				operation: 'process',
				accountLogin: '123456',
				requestId: "={{ 'q' + $execution.id + '-' + $json.i }}",
				waitForCompletion: false,
			},
		},
		{
			name: 'Contact',
			type: nodeType('crmCom'),
			typeVersion: 1,
			credentials: { crmComApi: CREDS.crmComApi },
			parameters: {
				resource: 'contact',
				operation: 'get',
				identifyBy: 'number',
				identifierValue: "={{ 'CI' + String($('Split Items').item.json.i + 1).padStart(6, '0') }}",
				options: { concurrency: 10 },
			},
		},
		{
			name: 'Me',
			type: nodeType('virtualPbx'),
			typeVersion: 1,
			credentials: { virtualPbxTrustedAppApi: CREDS.virtualPbxTrustedAppApi },
			parameters: { authentication: 'trustedApp', resource: 'user', operation: 'getMe' },
		},
		{
			name: 'Me via n8n OAuth2',
			type: 'n8n-nodes-base.httpRequest',
			typeVersion: 4.2,
			credentials: { oAuth2Api: CREDS.oAuth2Api },
			parameters: {
				method: 'GET',
				url: `${pbx.fake.url}${PBX_PATHS.api}/user/`,
				authentication: 'genericCredentialType',
				genericAuthType: 'oAuth2Api',
				options: {},
			},
		},
	];
	const connections: Record<string, unknown> = {};
	for (let i = 0; i < names.length - 1; i++) connections[names[i]] = { main: [[{ node: names[i + 1], type: 'main', index: 0 }]] };
	return {
		id: workflowIdOf(set),
		name: `Queue burst ${set}: B2COPY + CRM.COM + PBX`,
		nodes: nodes.map((n, i) => ({ ...n, position: [i * 220, 0] as [number, number] })),
		connections,
	};
}

/** Credentials as a user saves them: inputs only, no token yet (first use). */
async function importFreshCredentials(): Promise<void> {
	const list = [];
	for (let set = 1; set <= SETS; set++) {
		const creds = credsOf(set);
		list.push(
			{ ...creds.b2CopyExternalCrmApi, type: 'b2CopyExternalCrmApi', data: { ...b2.credentials } },
			{ ...creds.crmComApi, type: 'crmComApi', data: { ...crm.credentials } },
			{ ...creds.virtualPbxTrustedAppApi, type: 'virtualPbxTrustedAppApi', data: { ...pbx.credentials } },
			{
				...creds.oAuth2Api,
				type: 'oAuth2Api',
				data: {
					grantType: 'clientCredentials',
					accessTokenUrl: `${pbx.fake.url}${PBX_PATHS.token}`,
					clientId: oauthApp.id,
					clientSecret: oauthApp.secret,
					scope: '',
					authentication: 'body',
				},
			},
		);
	}
	await cluster.n8n.importCredentials(list);
}

interface BurstFigures {
	label: string;
	ok: number;
	failed: string[];
	b2copy: number;
	b2copyRefreshRefused: number;
	crmcom: number;
	pbx: number;
	/** Grants of n8n's own oAuth2Api credential (HTTP Request node), for comparison only. */
	pbxN8nOAuth2: number;
	workers: number[];
	seconds: number;
}

function resetCounters(): void {
	b2.fake.reset();
	crm.fake.reset();
	pbx.fake.reset();
	pbx.fake.clearLog();
}

/** client_credentials grants at the PBX token endpoint, per client id (from the fake's log). */
function grantsBy(clientId: string): number {
	return pbx.fake.requests.filter((r) => {
		if (r.path !== PBX_PATHS.token) return false;
		const form = new URLSearchParams(r.rawBody);
		return form.get('grant_type') === 'client_credentials' && form.get('client_id') === clientId;
	}).length;
}

async function burst(label: string, set: number): Promise<BurstFigures> {
	resetCounters();
	const before = new Set(cluster.executionsByWorker().keys());
	const started = Date.now();
	note(`${label}: firing ${BURST} webhook executions at once`);
	const answers: WebhookAnswer[] = await cluster.fireWebhooks(webhookPathOf(set), BURST);
	const seconds = (Date.now() - started) / 1000;
	const failed = answers
		.filter((a) => a.status !== 200 || !Array.isArray(a.body) || a.body.length !== ITEMS)
		.map((a) => `#${a.index}: HTTP ${a.status} ${a.text.slice(0, 300)}`);
	// Workers log the start of an execution before the answer reaches us; give the log a moment.
	await new Promise((r) => setTimeout(r, 500));
	const byWorker = cluster.executionsByWorker();
	const workers = cluster.workers.map(() => 0);
	for (const [id, worker] of byWorker) if (!before.has(id)) workers[worker]++;
	const b = b2.fake.counters;
	const figures: BurstFigures = {
		label,
		ok: answers.length - failed.length,
		failed,
		b2copy: b.exchanges + b.refreshes,
		b2copyRefreshRefused: b.refreshes - b.refreshesOk,
		crmcom: crm.fake.counters.loginAttempts,
		pbx: grantsBy(String(pbx.credentials.appId)),
		pbxN8nOAuth2: grantsBy(oauthApp.id),
		workers,
		seconds,
	};
	note(
		`${label}: ${figures.ok}/${BURST} ok in ${seconds.toFixed(1)} s; acquisitions B2COPY ${figures.b2copy} (exchanges ${b.exchanges}, refreshes ${b.refreshes}, refused ${figures.b2copyRefreshRefused}), CRM.COM ${figures.crmcom}, PBX ${figures.pbx} (n8n OAuth2: ${figures.pbxN8nOAuth2}); workers ${workers.join('/')}`,
	);
	return figures;
}

function expireEverything(): void {
	b2.fake.expireAccessTokens();
	crm.fake.expireTokens();
	pbx.fake.expireTokens();
}

function tokenEndpointLatency(ms: number): void {
	for (const fake of [b2.fake, crm.fake, pbx.fake]) fake.clearFaults();
	if (ms <= 0) return;
	b2.fake.fail({ path: new RegExp(`^(${B2COPY_PATHS.exchange}|${B2COPY_PATHS.refresh})$`), every: 1 }, { kind: 'slow', ms });
	crm.fake.fail({ path: new RegExp(`^${CRMCOM_PATHS.login.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`), every: 1 }, { kind: 'slow', ms });
	pbx.fake.fail({ path: PBX_PATHS.token, every: 1 }, { kind: 'slow', ms });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const all: BurstFigures[] = [];

function checkBurst(f: BurstFigures): void {
	expect(f.failed, f.failed.join('\n')).toEqual([]);
	expect(f.ok).toBe(BURST);
	expect(f.workers.reduce((a, b) => a + b, 0)).toBe(BURST);
	for (const n of f.workers) expect(n).toBeGreaterThan(0);
	// Automatic renewal renews B2COPY by a new signed exchange, never by the refresh token: no
	// refresh at all, so none can reuse a rotated refresh token (issue 12: 0 refused refreshes).
	expect(f.b2copyRefreshRefused, `${f.label}: refused B2COPY refreshes`).toBe(0);
	expect(b2.fake.counters.refreshes, `${f.label}: B2COPY refreshes`).toBe(0);
	for (const vendor of ['b2copy', 'crmcom', 'pbx', 'pbxN8nOAuth2'] as const) expect(f[vendor], `${f.label}: ${vendor}`).toBeGreaterThanOrEqual(1);
}

function checkMedians(group: BurstFigures[]): void {
	for (const vendor of ['b2copy', 'crmcom', 'pbx'] as const) {
		const values = group.map((f) => f[vendor]);
		// Issue 12: at most 2 acquisitions per vendor in a burst of 20 (target 1), median of 3
		// bursts. The renewal lock (nodes/shared/renewLock.ts) makes it 1 by construction, except
		// when an insert race or a slow database makes a waiter give up (measured: docs/scaling.md).
		expect(median(values), `${vendor} acquisitions per burst: ${values.join(', ')}`).toBeLessThanOrEqual(2);
	}
}

async function scenario(label: string, latencyMs: number, firstSet: number): Promise<void> {
	tokenEndpointLatency(latencyMs);
	const first: BurstFigures[] = [];
	const expired: BurstFigures[] = [];
	try {
		for (let round = 1; round <= 3; round++) {
			const set = firstSet + round - 1;
			const f = await burst(`${label}, first use #${round}`, set);
			first.push(f);
			all.push(f);
			checkBurst(f);
			expireEverything();
			const e = await burst(`${label}, after every token expired #${round}`, set);
			expired.push(e);
			all.push(e);
			checkBurst(e);
		}
	} finally {
		tokenEndpointLatency(0);
	}
	checkMedians(first);
	checkMedians(expired);
}

beforeAll(async () => {
	[b2, crm, pbx] = await Promise.all([
		b2copyFixture({ accessTokenTtlSec: 900, feePendingPolls: 0 }),
		crmcomFixture(),
		pbxFixture(),
	]);
	oauthApp = await createTrustedApp(pbx.fake, pbx.publicTokens.accessToken, 'n8n OAuth2 client credentials (queue suite)');
	const tarball = await packPackage();
	cluster = await startQueueCluster({ tarball, workers: 2, concurrency: 10 });
	await importFreshCredentials();
	const workflows = Array.from({ length: SETS }, (_, i) => burstWorkflow(i + 1));
	await cluster.n8n.importWorkflow(workflows);
	for (const w of workflows) await cluster.activate(w.id);
});

afterAll(async () => {
	if (all.length) {
		note('figures (acquisitions per burst; B2COPY refused refreshes; executions per worker):');
		for (const f of all) note(`  ${f.label}: B2COPY ${f.b2copy} (refused ${f.b2copyRefreshRefused}), CRM.COM ${f.crmcom}, PBX ${f.pbx} (n8n OAuth2 ${f.pbxN8nOAuth2}); workers ${f.workers.join('/')}; ${f.seconds.toFixed(1)} s`);
	}
	await cluster?.stop();
	await Promise.all([b2?.fake.close(), crm?.fake.close(), pbx?.fake.close()]);
});

describe('queue mode: 2 workers, bursts of 20 webhook executions', () => {
	it('token endpoints answer at once: first use and after expiry, every execution succeeds on both workers, few acquisitions per vendor', async () => {
		await scenario('no latency', 0, 1);
	});

	it('300 ms at every token endpoint: the same checks', async () => {
		await scenario('300 ms', 300, 4);
	});

	it('no secret or token in the log of any process (main, workers, CLI, Redis, PostgreSQL)', () => {
		const text = cluster.logText();
		expect(text.length).toBeGreaterThan(1000);
		const pemBody = String(b2.credentials.privateKey).split('\n').filter((l) => l.length > 40);
		const b2Tokens = b2.fake.issuedTokens();
		const pbxTokens = pbx.fake.issuedTokens();
		const secrets = [
			...pemBody,
			...crm.secrets,
			...pbx.secrets,
			String(pbx.credentials.appSecret),
			oauthApp.secret,
			...b2Tokens.access,
			...b2Tokens.refresh,
			...crm.fake.issuedTokens(),
			...pbxTokens.access,
			...pbxTokens.refresh,
		].filter((s) => typeof s === 'string' && s.length >= 8);
		expect(secrets.length).toBeGreaterThan(10);
		const leaked = secrets.filter((s) => text.includes(s));
		expect(leaked.map((s) => `${s.slice(0, 4)}… (${s.length} chars)`)).toEqual([]);
	});
});
