/**
 * A fake virtual PBX with one public application, and a trusted application created through
 * the API the way a user would (authorization code → Bearer token → POST /application/), plus
 * the matching "Virtual PBX Trusted App API" credential data: the starting point of PBX tests.
 *
 * The fake's counters are zeroed after set-up, so a test sees only its own traffic.
 */
import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import { PBX_PATHS, startFakePbx, type FakePbx, type FakePbxOptions } from '../fakes/pbx';
import { useFake, useFixture, type FakeUseOptions } from './lifecycle';

export const PUBLIC_APP = {
	clientId: 'pub-5c0d7e2a91b84f36a1e9c4d28b7f6031',
	clientSecret: 'pubsecret-8E41A7C2D95B4F1E9C36A0B72D5E18F4',
	redirectUris: ['https://n8n.example.com/rest/oauth2-credential/callback'],
};
export const REDIRECT_URI = PUBLIC_APP.redirectUris[0];
export const TRUSTED_APP_NAME = 'n8n tests';

export interface PbxFixture {
	fake: FakePbx;
	/** The trusted application created through the API. */
	trusted: { id: string; secret: string };
	/** The public flow's tokens (used to create the trusted app). */
	publicTokens: { accessToken: string; refreshToken: string };
	/** Trusted-app credential data (host, appId, appSecret). */
	credentials: ICredentialDataDecryptedObject;
	/** Every secret input the tests know (tokens: `fake.issuedTokens()`). */
	secrets: string[];
}

async function ok(response: Response, what: string): Promise<Record<string, unknown>> {
	const text = await response.text();
	if (!response.ok) throw new Error(`PBX fixture: ${what} failed: ${response.status} ${text}`);
	return JSON.parse(text) as Record<string, unknown>;
}

/** The public (authorization code) flow, as a browser and n8n would run it. */
export async function authorizePublicApp(fake: FakePbx): Promise<{ accessToken: string; refreshToken: string }> {
	const authorize = new URL(`${fake.url}${PBX_PATHS.authorize}`);
	authorize.search = new URLSearchParams({
		response_type: 'code',
		client_id: PUBLIC_APP.clientId,
		redirect_uri: REDIRECT_URI,
		scope: 'all',
		state: 'fixture',
	}).toString();
	const redirect = await fetch(authorize, { redirect: 'manual' });
	const location = redirect.headers.get('location');
	const code = location ? new URL(location).searchParams.get('code') : null;
	if (redirect.status !== 302 || !code) throw new Error(`PBX fixture: authorize gave ${redirect.status} ${location}`);
	const tokens = await ok(
		await fetch(`${fake.url}${PBX_PATHS.token}`, {
			method: 'POST',
			headers: { 'content-type': 'application/x-www-form-urlencoded' },
			body: new URLSearchParams({
				grant_type: 'authorization_code',
				code,
				redirect_uri: REDIRECT_URI,
				client_id: PUBLIC_APP.clientId,
				client_secret: PUBLIC_APP.clientSecret,
			}).toString(),
		}),
		'authorization code exchange',
	);
	return { accessToken: String(tokens.access_token), refreshToken: String(tokens.refresh_token) };
}

/** POST /application/ with a Bearer token: a new trusted app and its one-time secret. */
export async function createTrustedApp(fake: FakePbx, accessToken: string, name = TRUSTED_APP_NAME): Promise<{ id: string; secret: string }> {
	const app = await ok(
		await fetch(`${fake.url}${PBX_PATHS.api}/application/`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
			body: JSON.stringify({ name, type: 'trusted' }),
		}),
		'creating the trusted application',
	);
	const secret = app.secret ?? app.client_secret;
	if (typeof app.id !== 'string' || typeof secret !== 'string') throw new Error('PBX fixture: no id or secret in the application answer');
	return { id: app.id, secret };
}

export async function pbxFixture(options: Partial<FakePbxOptions> = {}): Promise<PbxFixture> {
	const fake = await startFakePbx({ publicApps: [PUBLIC_APP], ...options });
	const publicTokens = await authorizePublicApp(fake);
	const trusted = await createTrustedApp(fake, publicTokens.accessToken);
	fake.reset();
	fake.clearLog();
	return {
		fake,
		trusted,
		publicTokens,
		credentials: { host: fake.url, appId: trusted.id, appSecret: trusted.secret },
		secrets: [PUBLIC_APP.clientSecret, trusted.secret, publicTokens.accessToken, publicTokens.refreshToken],
	};
}

/** `pbxFixture(options)` for the file or describe block (test/support/lifecycle.ts). */
export function usePbxFixture(options: Partial<FakePbxOptions> = {}, use: FakeUseOptions = {}): PbxFixture {
	return useFixture('the PBX fixture', async () => await pbxFixture(options), use);
}

/** A bare fake PBX (the suite's own apps) for the file or describe block. */
export function useFakePbx(options: FakePbxOptions, use: FakeUseOptions = {}): FakePbx {
	return useFake('the fake PBX', async () => await startFakePbx(options), use);
}
