/**
 * Virtual PBX inside a real n8n 2.41.1: the OAuth2 credential connected through n8n's own flow
 * with no human (n8n's authorization URL → the fake's authorize → n8n's callback), a trusted
 * application created by a workflow and used from a credential, call history under 429s,
 * recordings as binary data, token expiry on both credentials.
 */
import { describe, expect, it } from 'vitest';

import { startFakePbx, type FakePbx } from '../fakes/pbx';
import { okItems as items, useN8n } from './instance';
import { generateItems, id16, nodeType, workflow, type NodeSpec } from './workflows';

const PBX = nodeType('virtualPbx');
const PUBLIC_APP = { clientId: 'a80f1e618ddd4d4584e2bd48fd404194', clientSecret: 'a2423941f5be408c998d5f7207570990' };
const OAUTH_CRED = { id: id16('pbxoauth', 1), name: 'PBX public app (fake)' };
const TRUSTED_CRED = { id: id16('pbxtrust', 1), name: 'PBX trusted app (fake)' };

let fake: FakePbx;
const secretsOutputOnPurpose = new Set<string>();

const oauth = { authentication: 'oAuth2' };
const trusted = { authentication: 'trustedApp' };
const withOAuth = { virtualPbxOAuth2Api: OAUTH_CRED };
const withTrusted = { virtualPbxTrustedAppApi: TRUSTED_CRED };

const pbxNode = (name: string, parameters: Record<string, unknown>, useTrusted = true, extra: Partial<NodeSpec> = {}): NodeSpec => ({
	name,
	type: PBX,
	parameters: { ...(useTrusted ? trusted : oauth), ...parameters },
	credentials: useTrusted ? withTrusted : withOAuth,
	...extra,
});

const WF = {
	createTrusted: workflow(id16('pbxwfapp', 1), 'PBX create trusted app', [
		pbxNode('Create Trusted', { resource: 'application', operation: 'createTrusted', name: 'n8n sync' }, false),
	]),
	meOAuth: workflow(id16('pbxwfme', 1), 'PBX get me (OAuth2)', [pbxNode('Me', { resource: 'user', operation: 'getMe' }, false)]),
	meTrusted1000: workflow(id16('pbxwfme', 2), 'PBX get me x1000 (trusted)', [
		...generateItems(1000),
		pbxNode('Me', { resource: 'user', operation: 'getMe', options: { concurrency: 10, reuseLookups: false } }),
	]),
	meTrusted: workflow(id16('pbxwfme', 3), 'PBX get me (trusted)', [pbxNode('Me', { resource: 'user', operation: 'getMe' })]),
	history: workflow(id16('pbxwfhist', 1), 'PBX call history, all', [
		pbxNode('History', { resource: 'callHistory', operation: 'getMany', start: '2000-01-01T00:00:00Z', returnAll: true, order: 'asc' }),
	]),
	recordings: workflow(id16('pbxwfrec', 1), 'PBX recordings', [
		pbxNode('Recordings', { resource: 'recording', operation: 'getMany', start: '2000-01-01T00:00:00Z', returnAll: false, limit: 2 }),
		pbxNode('Download', { resource: 'recording', operation: 'download', recordUuid: '={{ $json.record_uuid }}' }),
	]),
};

async function connectOAuth2(credentialId: string): Promise<void> {
	const auth = await n8n.rest<{ data: string }>('GET', `/rest/oauth2-credential/auth?id=${credentialId}`);
	expect(auth.status, auth.text).toBe(200);
	const authorizeUrl = new URL(auth.body.data);
	expect(authorizeUrl.origin).toBe(fake.url);
	expect(authorizeUrl.pathname).toBe('/oauth/authorize');
	expect(authorizeUrl.searchParams.get('scope')).toBe('all');
	expect(authorizeUrl.searchParams.get('client_id')).toBe(PUBLIC_APP.clientId);
	// The "browser": the PBX approves and redirects to n8n's callback with a code.
	const approved = await fetch(authorizeUrl, { redirect: 'manual' });
	expect(approved.status).toBe(302);
	const callback = new URL(approved.headers.get('location') as string);
	expect(`${callback.origin}${callback.pathname}`).toBe(`${n8n.baseUrl.replace(/\/$/, '')}/rest/oauth2-credential/callback`);
	const done = await n8n.rest('GET', `${callback.pathname}${callback.search}`);
	expect(done.status, done.text).toBe(200);
	expect(done.text).not.toMatch(/error/i);
}

const n8n = useN8n({
	env: { N8N_DEFAULT_BINARY_DATA_MODE: 'default' },
	// The fake's public app redirects to n8n's OAuth2 callback: it starts once n8n is installed.
	prepare: async (n8n) =>
		(fake = await startFakePbx({
			publicApps: [{ ...PUBLIC_APP, redirectUris: [`${n8n.baseUrl.replace(/\/$/, '')}/rest/oauth2-credential/callback`] }],
			callCount: 5000,
		})),
	workflows: () => Object.values(WF),
	server: true,
});

describe('Virtual PBX in n8n 2.41.1', () => {
	it('connects the OAuth2 credential through n8n\'s own flow, with no human', async () => {
		const created = await n8n.rest<{ data: { id: string } }>('POST', '/rest/credentials', {
			name: OAUTH_CRED.name,
			type: 'virtualPbxOAuth2Api',
			data: { host: `${fake.url}/`, clientId: PUBLIC_APP.clientId, clientSecret: PUBLIC_APP.clientSecret },
		});
		expect(created.status, created.text).toBe(200);
		OAUTH_CRED.id = created.body.data.id;
		for (const wf of Object.values(WF)) for (const node of wf.nodes) if (node.credentials?.virtualPbxOAuth2Api) node.credentials.virtualPbxOAuth2Api = { ...OAUTH_CRED };
		await n8n.importWorkflow(Object.values(WF));
		await connectOAuth2(OAUTH_CRED.id);
		expect(fake.counters.grants.authorization_code.ok).toBe(1);
		const stored = (await n8n.exportCredentials()).find((c) => c.id === OAUTH_CRED.id)?.data as Record<string, any>;
		expect(fake.issuedTokens().access).toContain(stored.oauthTokenData.access_token);
		const test = await n8n.testSavedCredential(OAUTH_CRED.id);
		expect(test.status, test.message).toBe('OK');
	});

	it('creates a trusted application in a workflow; a credential made from its output passes the Test', async () => {
		const result = await n8n.execute(WF.createTrusted.id);
		const [app] = items(result, 'Create Trusted');
		expect(app.json).toMatchObject({ type: 'trusted' });
		expect(String(app.json.hint)).toMatch(/shows the secret only once/);
		secretsOutputOnPurpose.add(String(app.json.secret));
		const test = await n8n.testCredential({
			name: TRUSTED_CRED.name,
			type: 'virtualPbxTrustedAppApi',
			data: { host: fake.url, appId: app.json.id, appSecret: app.json.secret },
		});
		expect(test.status, test.message).toBe('OK');
		TRUSTED_CRED.id = test.id as string;
		for (const wf of Object.values(WF)) for (const node of wf.nodes) if (node.credentials?.virtualPbxTrustedAppApi) node.credentials.virtualPbxTrustedAppApi = { ...TRUSTED_CRED };
		await n8n.importWorkflow(Object.values(WF));

		const wrongSecret = await n8n.testCredential({ name: 'PBX wrong secret', type: 'virtualPbxTrustedAppApi', data: { host: fake.url, appId: app.json.id, appSecret: 'not-the-secret' } });
		expect(wrongSecret.status).toBe('Error');
		expect(wrongSecret.message).toMatch(/The PBX refused the trusted application's token request \(HTTP 401.*invalid_client.*Check "App ID" and "App Secret"/);
		const wrongHost = await n8n.testCredential({ name: 'PBX wrong host', type: 'virtualPbxTrustedAppApi', data: { host: 'http://127.0.0.1:9', appId: app.json.id, appSecret: app.json.secret } });
		expect(wrongHost.status).toBe('Error');
		expect(wrongHost.message).toMatch(/Could not reach the PBX at 127\.0\.0\.1:9: the connection was refused.*"Host URL"/);
	});

	it('1,000 items through User → Get Me on the trusted credential: exactly one token grant', async () => {
		fake.reset();
		// The token stored by the credential Test is dead: the run must get exactly one new one,
		// with ten requests in flight.
		fake.expireTokens();
		const result = await n8n.execute(WF.meTrusted1000.id);
		const out = items(result, 'Me');
		expect(out).toHaveLength(1000);
		out.forEach((item, i) => expect(item.pairedItem).toMatchObject({ item: i }));
		expect(out[999].json.login).toBe(fake.user.login);
		expect(fake.counters.grants.client_credentials.attempted).toBe(1);
		expect(fake.counters.apiOk).toBe(1000);
	});

	it('token expiry: the trusted credential gets one new grant, the OAuth2 one refreshes once', async () => {
		fake.reset();
		fake.expireTokens();
		expect(items(await n8n.execute(WF.meTrusted.id), 'Me')).toHaveLength(1);
		expect(fake.counters.grants.client_credentials.ok).toBe(1);
		expect(items(await n8n.execute(WF.meOAuth.id), 'Me')).toHaveLength(1);
		expect(fake.counters.grants.refresh_token.ok).toBe(1);
		expect(items(await n8n.execute(WF.meOAuth.id), 'Me')).toHaveLength(1);
		expect(fake.counters.grants.refresh_token.attempted).toBe(1);
	});

	it('a dead token answered with 403 (not 401): the trusted credential gets one new grant, the OAuth2 one refreshes once; both runs succeed', async () => {
		fake.settings.deadTokenStatus = 403;
		try {
			// Make sure the OAuth2 credential holds a live token first (the test above refreshed it).
			fake.reset();
			fake.expireTokens();
			const trustedRun = items(await n8n.execute(WF.meTrusted.id), 'Me');
			expect(trustedRun).toHaveLength(1);
			expect(trustedRun[0].json.login).toBe(fake.user.login);
			expect(fake.counters.grants.client_credentials.ok).toBe(1);
			const oauthRun = items(await n8n.execute(WF.meOAuth.id), 'Me');
			expect(oauthRun).toHaveLength(1);
			expect(oauthRun[0].json.login).toBe(fake.user.login);
			expect(fake.counters.grants.refresh_token.ok).toBe(1);
			// The new tokens were stored: the next runs need none.
			fake.reset();
			expect(items(await n8n.execute(WF.meTrusted.id), 'Me')).toHaveLength(1);
			expect(items(await n8n.execute(WF.meOAuth.id), 'Me')).toHaveLength(1);
			expect(fake.counters.tokenRequests).toBe(0);
		} finally {
			fake.settings.deadTokenStatus = 401;
		}
	});

	it('a permission 403 on both credentials: one renewal, then a message saying what to do (no loop)', async () => {
		for (const wf of [WF.meTrusted, WF.meOAuth]) {
			fake.reset();
			fake.clearLog();
			fake.fail({ path: '/api/ver1.0/user/', times: 10 }, { status: 403, body: { message: 'Access denied' } });
			const result = await n8n.execute(wf.id);
			fake.clearFaults();
			expect(result.ok).toBe(false);
			expect(result.error?.message).toMatch(/refused the access token for .* even after a new one was obtained \(HTTP 403 Forbidden\): Access denied/);
			expect(JSON.stringify(result.error)).toMatch(/permissions\), or reconnect the credential/);
			expect(fake.requestsTo('/api/ver1.0/user/')).toHaveLength(2);
			expect(fake.counters.tokenRequests).toBe(1);
		}
	});

	it('Call History → Get Many: 5,000 calls in 50 pages under 429s → 5,000 unique uuids in order', async () => {
		fake.reset();
		fake.fail({ path: /\/call_history\/?$/, every: 3 }, { status: 429, headers: { 'Retry-After': '0' }, body: { message: 'Stats request already exists, concurrent request not allowed' } });
		const result = await n8n.execute(WF.history.id);
		fake.clearFaults();
		const calls = items(result, 'History');
		expect(calls).toHaveLength(5000);
		const uuids = calls.map((c) => String(c.json.call_uuid));
		expect(new Set(uuids).size).toBe(5000);
		expect(uuids).toEqual(fake.allCalls().map((c) => c.call_uuid));
		expect(fake.counters.statsMaxConcurrent).toBe(1);
	});

	it('Recording → Download gives binary items whose bytes are the PBX\'s audio', async () => {
		const result = await n8n.execute(WF.recordings.id);
		const downloads = items(result, 'Download');
		expect(downloads).toHaveLength(2);
		for (const item of downloads) {
			const binary = item.binary?.data as { data: string; mimeType: string; fileName: string };
			expect(binary.mimeType).toBe('audio/mpeg');
			expect(binary.fileName).toMatch(/\.mp3$/);
			expect(Buffer.from(binary.data, 'base64').equals(fake.audioOf(String(item.json.record_uuid)))).toBe(true);
		}
	});

	it('a dead refresh token yields n8n\'s "reconnect" error, not a crash', async () => {
		fake.revokeRefreshTokens();
		fake.expireTokens();
		const result = await n8n.execute(WF.meOAuth.id);
		expect(result.ok).toBe(false);
		expect(result.error?.message).toMatch(/needs to be reconnected/);
	});

	it('no client secret, app secret or token in outputs (but Create Trusted\'s), errors or n8n\'s log', async () => {
		const { access, refresh, secrets } = fake.issuedTokens();
		const everything = n8n.logText();
		const leaked = [...access, ...refresh, PUBLIC_APP.clientSecret, ...secrets].filter(
			(value) => value && !secretsOutputOnPurpose.has(value) && everything.includes(value),
		);
		expect(leaked).toEqual([]);
	});

	it('the package loaded with no warning', () => {
		expect(n8n.loadWarnings()).toEqual([]);
	});
});
