/**
 * Trusted-application tokens of the virtual PBX (OAuth2 client credentials, form-encoded, client
 * id and secret in the body as the PBX documents), as pure functions over the credential.
 */
import { createHash } from 'node:crypto';

import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import { TokenError, looksLikeHtml, redact, statusLabel, vendorMessage } from '../shared/errors';
import { callTokenEndpoint, fieldNames, parseInstant, parseSeconds, type PlainHttp } from '../shared/token';
import { allowsInsecureHttp, refuseInsecureHttp } from '../shared/host';

export const TRUSTED_CREDENTIAL_TYPE = 'virtualPbxTrustedAppApi';
export const PUBLIC_APP_CREDENTIAL_TYPE = 'virtualPbxOAuth2Api';
export const API_PREFIX = '/api/ver1.0';
/** The PBX's documented default when an answer has no expires_in. */
export const DEFAULT_TOKEN_LIFETIME_MS = 3600_000;

export const FIELD = { host: 'Host URL', appId: 'App ID', appSecret: 'App Secret' } as const;

function text(value: unknown): string {
	return typeof value === 'string' ? value.trim() : typeof value === 'number' ? String(value) : '';
}

function parseUrl(raw: string): URL | undefined {
	try {
		return new URL(raw);
	} catch {
		return undefined;
	}
}

export function normalizePbxHost(value: unknown, allowInsecure = false): string {
	const raw = text(value).replace(/\/+$/, '').replace(/\/api\/ver1\.0$/i, '');
	const url = raw === '' ? undefined : parseUrl(raw);
	if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash) {
		throw new TokenError(
			`The "${FIELD.host}" field must be the address of your PBX operator's API server, e.g. https://apiproxy.telphin.ru`,
			'input',
			FIELD.host,
		);
	}
	refuseInsecureHttp(url, FIELD.host, allowInsecure);
	return raw;
}

export function trustedFingerprint(credentials: ICredentialDataDecryptedObject): string {
	const parts = [text(credentials.host).replace(/\/+$/, ''), text(credentials.appId), text(credentials.appSecret)];
	return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);
}

export interface TrustedToken {
	accessToken: string;
	/** Epoch milliseconds. */
	expiresAt: number;
}

/** client_credentials for a trusted application: a new access token, no refresh token. */
export async function requestTrustedAppToken(
	credentials: ICredentialDataDecryptedObject,
	http: PlainHttp,
	nowMs: number = Date.now(),
): Promise<TrustedToken> {
	const host = normalizePbxHost(credentials.host, allowsInsecureHttp(credentials));
	const appId = text(credentials.appId);
	const appSecret = text(credentials.appSecret);
	if (appId === '') throw new TokenError(`The "${FIELD.appId}" field is empty. Enter the id output by Virtual PBX → Application → Create Trusted.`, 'input', FIELD.appId);
	if (appSecret === '') throw new TokenError(`The "${FIELD.appSecret}" field is empty. Enter the secret output when the trusted application was created.`, 'input', FIELD.appSecret);
	const response = await callTokenEndpoint(
		http,
		{
			method: 'POST',
			url: `${host}/oauth/token`,
			headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
			body: { grant_type: 'client_credentials', client_id: appId, client_secret: appSecret },
		},
		'the PBX',
		FIELD.host,
	);
	const { statusCode, body } = response;
	if (looksLikeHtml(body) || (statusCode === 404 && !vendorMessage(body))) {
		throw new TokenError(`The "${FIELD.host}" does not look like a PBX API: getting a token got ${statusLabel(statusCode)}${looksLikeHtml(body) ? ' with an HTML page' : ''}. Check the "${FIELD.host}" field.`, 'vendor', FIELD.host, statusCode);
	}
	if (statusCode < 200 || statusCode >= 300) {
		const said = vendorMessage(body) ?? '';
		// unauthorized_client first: it also contains "client".
		const hint = /unauthorized_client|grant/i.test(said)
			? `The application "${appId}" is not a trusted application: create one with Virtual PBX → Application → Create Trusted.`
			: /invalid_client|client|secret/i.test(said) || statusCode === 401
				? `Check "${FIELD.appId}" and "${FIELD.appSecret}": they must be the id and secret output when the trusted application was created (the secret is shown only once; reset it in the PBX if it is lost).`
				: `Check every field of the credential.`;
		throw new TokenError(redact(`The PBX refused the trusted application's token request (${statusLabel(statusCode)})${said ? `: "${said}"` : ''}. ${hint}`, [appSecret]), 'vendor', undefined, statusCode);
	}
	const token = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).access_token : undefined;
	if (typeof token !== 'string' || token === '') {
		throw new TokenError(`The PBX answered the token request without an access_token (fields received: ${fieldNames(body)}). Check the "${FIELD.host}" field.`, 'vendor', FIELD.host);
	}
	const lifetime = parseSeconds((body as Record<string, unknown>).expires_in) ?? DEFAULT_TOKEN_LIFETIME_MS;
	return { accessToken: token, expiresAt: nowMs + lifetime };
}

/** The trusted credential's preAuthentication. */
export async function acquireTrustedAppToken(
	credentials: ICredentialDataDecryptedObject,
	http: PlainHttp,
): Promise<TrustedToken & { inputsFingerprint: string }> {
	return { ...(await requestTrustedAppToken(credentials, http)), inputsFingerprint: trustedFingerprint(credentials) };
}

export function trustedExpiresAt(credentials: ICredentialDataDecryptedObject): number | undefined {
	return parseInstant(credentials.expiresAt);
}
