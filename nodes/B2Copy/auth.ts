/**
 * B2COPY external-CRM token logic, as pure functions over the credential's fields: validate the
 * inputs, sign the ES256 assertion with node:crypto, exchange it (automatic renewal: always a new
 * exchange), refresh (the user's explicit Token → Refresh only), and read the answer in
 * every shape B2COPY deployments are known to use. The credential type and the node's Token
 * operations are thin wrappers around these.
 */
import { createHash, createPrivateKey, randomUUID, sign, type KeyObject } from 'node:crypto';

import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import { TokenError, looksLikeHtml, redact, statusLabel, vendorMessage } from '../shared/errors';
import {
	callTokenEndpoint,
	fieldNames,
	jwtExpiry,
	parseInstant,
	parseSeconds,
	type PlainHttp,
} from '../shared/token';
import { allowsInsecureHttp, refuseInsecureHttp } from '../shared/host';

export const B2COPY_PATHS = {
	exchange: '/api/admin/auth/v2/admin/adminservice/authexternalcrm',
	refresh: '/api/admin/auth/v2/admin/adminservice/refreshtoken',
	processExt: '/api/admin/fees/v2/fee/feeservice/processext',
} as const;

export const B2COPY_CREDENTIAL_TYPE = 'b2CopyExternalCrmApi';

/** Used when B2COPY's answer says nothing about the access token's lifetime. */
export const DEFAULT_ACCESS_TOKEN_LIFETIME_MS = 15 * 60_000;
/** `iat` is back-dated this much, for servers whose clock runs a little behind ours. */
export const CLOCK_SKEW_SECONDS = 60;

export const FIELD = {
	host: 'Host URL',
	adminId: 'Admin ID',
	deviceIp: 'Device IP',
	keyId: 'Key ID',
	privateKey: 'Private Key',
	lifetime: 'Assertion Lifetime (Seconds)',
} as const;

export interface B2CopyInputs {
	host: string;
	adminId: string;
	deviceIp: string;
	keyId: string;
	privateKey: KeyObject;
	pem: string;
	lifetimeSeconds: number;
}

export interface B2CopyTokens {
	accessToken: string;
	refreshToken: string;
	/** Epoch milliseconds. */
	expiresAt: number;
}

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

function tryCreatePrivateKey(pem: string): KeyObject | undefined {
	try {
		return createPrivateKey({ key: pem, format: 'pem' });
	} catch {
		return undefined;
	}
}

/** `https://host/` → `https://host`; refuses anything that is not an http(s) URL. */
export function normalizeHost(value: unknown, field: string = FIELD.host, allowInsecure = false): string {
	// A pasted API address (`https://host/api/admin/...`) means the host: the paths are added here.
	const raw = text(value).replace(/\/+$/, '').replace(/\/api(\/.*)?$/i, '');
	if (raw === '') throw new TokenError(`The "${field}" field is empty. Enter the address of your B2COPY, e.g. https://b2copy.your-broker.com`, 'input', field);
	const url = parseUrl(raw);
	if (!url) {
		throw new TokenError(`The "${field}" field is not a URL. Enter it with https://, e.g. https://b2copy.your-broker.com`, 'input', field);
	}
	if (url.protocol !== 'https:' && url.protocol !== 'http:') {
		throw new TokenError(`The "${field}" field must start with https:// (it starts with ${url.protocol}//)`, 'input', field);
	}
	if (url.search || url.hash) {
		throw new TokenError(`The "${field}" field must be the bare address of B2COPY, without "?" or "#" parts`, 'input', field);
	}
	refuseInsecureHttp(url, field, allowInsecure);
	return raw;
}

/**
 * Makes a pasted PEM usable: literal "\n" sequences (from JSON or env files) become newlines,
 * Windows line ends and surrounding quotes go, and a key pasted on one line (newlines turned
 * into spaces) is re-wrapped.
 */
export function normalizePem(value: unknown): string {
	let pem = text(value)
		.replace(/^["']|["']$/g, '')
		.replace(/\\r\\n|\\n|\\r/g, '\n')
		.replace(/\r\n?/g, '\n')
		.trim();
	const match = /^(-----BEGIN ([A-Z0-9 ]+)-----)([\s\S]*?)(-----END \2-----)$/.exec(pem);
	if (match) {
		const [, begin, , middle, end] = match;
		const lines = middle.split('\n').map((l) => l.trim()).filter(Boolean);
		const headers = lines.filter((l) => l.includes(':'));
		const body = lines.filter((l) => !l.includes(':')).join('').replace(/\s+/g, '');
		const wrapped = body.match(/.{1,64}/g) ?? [];
		pem = [begin, ...headers, ...(headers.length ? [''] : []), ...wrapped, end].join('\n');
	}
	return pem;
}

/** Loads the EC P-256 private key, with a message naming the field for every other kind. */
export function loadPrivateKey(value: unknown, field: string = FIELD.privateKey): { key: KeyObject; pem: string } {
	const pem = normalizePem(value);
	if (pem === '') throw new TokenError(`The "${field}" field is empty. Paste the EC P-256 private key (the whole PEM, from -----BEGIN to -----END).`, 'input', field);
	if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(pem) || /Proc-Type:\s*4,ENCRYPTED/.test(pem)) {
		throw new TokenError(`The "${field}" is encrypted with a passphrase. Paste an unencrypted key: convert it with "openssl pkey -in key.pem -out key-plain.pem".`, 'input', field);
	}
	if (/-----BEGIN (PUBLIC KEY|CERTIFICATE)-----/.test(pem)) {
		throw new TokenError(`The "${field}" field holds a public key or certificate. Paste the private key (ec_private_pkcs8.pem); the public key is what you send to B2COPY support.`, 'input', field);
	}
	if (!/-----BEGIN (EC |)PRIVATE KEY-----/.test(pem)) {
		throw new TokenError(`The "${field}" field is not a PEM private key. It must start with -----BEGIN PRIVATE KEY----- or -----BEGIN EC PRIVATE KEY-----.`, 'input', field);
	}
	const key = tryCreatePrivateKey(pem);
	if (!key) {
		throw new TokenError(`The "${field}" could not be read: the PEM is damaged or incomplete. Paste the whole file again, from -----BEGIN to -----END.`, 'input', field);
	}
	if (key.asymmetricKeyType !== 'ec') {
		throw new TokenError(`The "${field}" is a${key.asymmetricKeyType === 'rsa' ? 'n RSA' : ` ${String(key.asymmetricKeyType).toUpperCase()}`} key. B2COPY needs an EC P-256 key: openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`, 'input', field);
	}
	const curve = key.asymmetricKeyDetails?.namedCurve;
	if (curve !== 'prime256v1') {
		throw new TokenError(`The "${field}" is an EC key on curve ${curve ?? 'unknown'}. B2COPY needs P-256 (prime256v1): openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`, 'input', field);
	}
	return { key, pem };
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9a-fA-F:]+(%\w+)?$|^[0-9a-fA-F:]*:(\d{1,3}\.){3}\d{1,3}$/;

/** Reads and checks every input before anything is sent. */
export function readB2CopyInputs(credentials: ICredentialDataDecryptedObject): B2CopyInputs {
	const host = normalizeHost(credentials.host, FIELD.host, allowsInsecureHttp(credentials));
	const adminId = text(credentials.adminId);
	if (adminId === '') throw new TokenError(`The "${FIELD.adminId}" field is empty. Enter the ID of the service admin created for your CRM in the B2COPY Admin panel.`, 'input', FIELD.adminId);
	const deviceIp = text(credentials.deviceIp);
	if (deviceIp === '') throw new TokenError(`The "${FIELD.deviceIp}" field is empty. Enter the public IP address your n8n server sends requests from (the one registered with B2COPY support).`, 'input', FIELD.deviceIp);
	if (!IPV4.test(deviceIp) && !(deviceIp.includes(':') && IPV6.test(deviceIp))) {
		throw new TokenError(`The "${FIELD.deviceIp}" field is not an IP address: enter one like 203.0.113.10.`, 'input', FIELD.deviceIp);
	}
	const keyId = text(credentials.keyId);
	if (keyId === '') throw new TokenError(`The "${FIELD.keyId}" field is empty. Enter the key identifier registered with B2COPY support together with your public key.`, 'input', FIELD.keyId);
	const { key, pem } = loadPrivateKey(credentials.privateKey);
	const lifetimeRaw = credentials.assertionLifetime ?? 300;
	const lifetimeSeconds = typeof lifetimeRaw === 'number' ? lifetimeRaw : Number(lifetimeRaw);
	if (!Number.isFinite(lifetimeSeconds) || lifetimeSeconds < 30 || lifetimeSeconds > 3600) {
		throw new TokenError(`The "${FIELD.lifetime}" must be between 30 and 3600 seconds.`, 'input', FIELD.lifetime);
	}
	return { host, adminId, deviceIp, keyId, privateKey: key, pem, lifetimeSeconds: Math.floor(lifetimeSeconds) };
}

/**
 * A fingerprint of the inputs a token was obtained with, stored beside the token (encrypted,
 * like every credential field). When the user edits a field, the fingerprint no longer matches
 * and the next run signs in anew instead of using a token minted for the old inputs.
 */
export function b2copyFingerprint(credentials: ICredentialDataDecryptedObject): string {
	const parts = [
		text(credentials.host).replace(/\/+$/, ''),
		text(credentials.adminId),
		text(credentials.deviceIp),
		text(credentials.keyId),
		normalizePem(credentials.privateKey),
	];
	return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);
}

/** The ES256 assertion: header {alg, typ, kid}, claims admin_id, device_ip, key_id, iat, exp, jti. */
export function signAssertion(inputs: B2CopyInputs, nowMs: number = Date.now()): string {
	const now = Math.floor(nowMs / 1000);
	const header = { alg: 'ES256', typ: 'JWT', kid: inputs.keyId };
	const claims = {
		admin_id: inputs.adminId,
		device_ip: inputs.deviceIp,
		key_id: inputs.keyId,
		iat: now - CLOCK_SKEW_SECONDS,
		exp: now + inputs.lifetimeSeconds,
		jti: randomUUID(),
	};
	const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
	const signingInput = `${encode(header)}.${encode(claims)}`;
	// ES256 = ECDSA P-256 + SHA-256, signature as raw r||s (JWS), not DER.
	const signature = sign('sha256', Buffer.from(signingInput), {
		key: inputs.privateKey,
		dsaEncoding: 'ieee-p1363',
	});
	return `${signingInput}.${signature.toString('base64url')}`;
}

function tokenOf(value: unknown): { token?: string; expiresAt?: number } {
	if (typeof value === 'string' && value !== '') return { token: value };
	if (typeof value === 'object' && value !== null) {
		const v = value as Record<string, unknown>;
		const token = [v.token, v.value, v.jwt].find((t) => typeof t === 'string' && t !== '') as string | undefined;
		return { token, expiresAt: parseInstant(v.expiresAt ?? v.expires_at ?? v.expiration) };
	}
	return {};
}

/**
 * Reads tokens from any known answer shape: `{access_token, refresh_token, expires_in}`,
 * `{accessToken, refreshToken}` as strings or as `{token, expiresAt}` objects, optionally inside
 * `data` or `result`. Expiry from `expires_in`/`expiresIn`, `expiresAt`, the token's own JWT
 * `exp`, or a default.
 */
export function parseB2CopyTokens(body: unknown, nowMs: number = Date.now()): B2CopyTokens | undefined {
	if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
	let root = body as Record<string, unknown>;
	for (const wrapper of ['data', 'result', 'payload']) {
		const inner = root[wrapper];
		if (typeof inner === 'object' && inner !== null && !Array.isArray(inner)) {
			const keys = Object.keys(inner);
			if (keys.some((k) => /access/i.test(k))) root = inner as Record<string, unknown>;
		}
	}
	const access = tokenOf(root.access_token ?? root.accessToken);
	if (!access.token) return undefined;
	const refresh = tokenOf(root.refresh_token ?? root.refreshToken);
	const expiresAt =
		(() => {
			const ms = parseSeconds(root.expires_in ?? root.expiresIn);
			return ms !== undefined ? nowMs + ms : undefined;
		})() ??
		access.expiresAt ??
		parseInstant(root.expires_at ?? root.expiresAt ?? root.access_token_expires_at) ??
		jwtExpiry(access.token) ??
		nowMs + DEFAULT_ACCESS_TOKEN_LIFETIME_MS;
	return { accessToken: access.token, refreshToken: refresh.token ?? '', expiresAt: expiresAt };
}

/** What to tell the user when B2COPY refuses the sign-in, from the vendor's own words. */
export function exchangeRefusalHint(status: number, said: string | undefined): string {
	const s = (said ?? '').toLowerCase();
	if (/\bip\b|ip address|device.?ip|not allowed from/.test(s))
		return `Check "${FIELD.deviceIp}": it must be an address B2COPY support registered for your CRM, and your n8n server must send requests from it.`;
	if (/admin/.test(s))
		return `Check "${FIELD.adminId}": it must be the ID of the service admin created for your CRM in the B2COPY Admin panel.`;
	if (/key.?id|\bkid\b|unknown key|key not found/.test(s))
		return `Check "${FIELD.keyId}": it must be exactly the key identifier registered with B2COPY support.`;
	if (/signature|verif/.test(s))
		return `Check "${FIELD.privateKey}" and "${FIELD.keyId}": the private key must be the one whose public key B2COPY support registered under this key ID.`;
	if (/expir|lifetime|\bexp\b|\biat\b|clock|future|too (long|far)/.test(s))
		return `Check the n8n server's clock and the "${FIELD.lifetime}" field (B2COPY may accept only short-lived assertions; try 300).`;
	if (/replay|already used/.test(s)) return 'Run it again: every sign-in uses a new assertion.';
	if (status === 403)
		return `Check "${FIELD.adminId}" and "${FIELD.deviceIp}": B2COPY knows the key but not this admin from this address.`;
	if (status === 401)
		return `Check "${FIELD.keyId}" and "${FIELD.privateKey}": they must match what B2COPY support registered.`;
	return `Check every field of the credential against what B2COPY support gave you.`;
}

function refusal(
	action: string,
	status: number,
	body: unknown,
	secrets: unknown[],
	hint: string,
): TokenError {
	const said = vendorMessage(body);
	// A 404 at a documented B2COPY path means nothing answers there: the address (or a path in it)
	// is wrong, whatever words came with it ("Not Found").
	if (looksLikeHtml(body) || status === 404) {
		return new TokenError(
			`The "${FIELD.host}" does not look like a B2COPY API: ${action} got ${statusLabel(status)}${looksLikeHtml(body) ? ' with an HTML page' : ''}. Check the "${FIELD.host}" field (the address of your B2COPY, without a path).`,
			'vendor',
			FIELD.host,
			status,
		);
	}
	const message = `B2COPY refused ${action} (${statusLabel(status)})${said ? `: "${said}"` : ''}. ${hint}`;
	return new TokenError(redact(message, secrets), 'vendor', undefined, status);
}

function noTokenIn(action: string, body: unknown): TokenError {
	if (typeof body === 'string') {
		return new TokenError(
			`The "${FIELD.host}" does not look like a B2COPY API: ${action} answered with ${looksLikeHtml(body) ? 'an HTML page' : 'text that is not JSON'}. Check the "${FIELD.host}" field.`,
			'vendor',
			FIELD.host,
		);
	}
	return new TokenError(
		`B2COPY answered ${action} without an access token (fields received: ${fieldNames(body)}). Check the "${FIELD.host}" field; if it is right, this B2COPY answers in a shape this node does not know yet.`,
		'vendor',
	);
}

/** Signs an assertion and exchanges it for an access and a refresh token. */
export async function exchangeB2CopyTokens(
	inputs: B2CopyInputs,
	http: PlainHttp,
	nowMs: number = Date.now(),
): Promise<B2CopyTokens> {
	// A new assertion for every try: B2COPY refuses one it has already accepted (its jti), and a
	// try whose answer was lost may have been accepted.
	const assertions: string[] = [];
	const response = await callTokenEndpoint(
		http,
		() => {
			const assertion = signAssertion(inputs, assertions.length === 0 ? nowMs : Date.now());
			assertions.push(assertion);
			return { method: 'POST', url: `${inputs.host}${B2COPY_PATHS.exchange}`, body: { external_token: assertion } };
		},
		'B2COPY',
		FIELD.host,
	);
	const secrets = [...assertions, inputs.pem];
	if (response.statusCode < 200 || response.statusCode >= 300) {
		const said = vendorMessage(response.body);
		throw refusal('the sign-in (token exchange)', response.statusCode, response.body, secrets, exchangeRefusalHint(response.statusCode, said));
	}
	const tokens = parseB2CopyTokens(response.body, nowMs);
	if (!tokens) throw noTokenIn('the sign-in (token exchange)', response.body);
	return tokens;
}

/** Trades a refresh token for a new pair (B2COPY rotates: the old refresh token dies). */
export async function refreshB2CopyTokens(
	host: string,
	refreshToken: string,
	http: PlainHttp,
	nowMs: number = Date.now(),
): Promise<B2CopyTokens> {
	const response = await callTokenEndpoint(
		http,
		{ method: 'POST', url: `${host}${B2COPY_PATHS.refresh}`, body: { refresh_token: refreshToken } },
		'B2COPY',
		FIELD.host,
	);
	if (response.statusCode < 200 || response.statusCode >= 300) {
		throw refusal('the token refresh', response.statusCode, response.body, [refreshToken], 'The refresh token is used up or expired: get a new pair with Token → Get.');
	}
	const tokens = parseB2CopyTokens(response.body, nowMs);
	if (!tokens) throw noTokenIn('the token refresh', response.body);
	return { ...tokens, refreshToken: tokens.refreshToken || refreshToken };
}

/**
 * The credential's preAuthentication: always a new signed exchange, never the refresh token.
 * The private key can mint a new assertion at any time, so a refresh saves nothing, while in
 * multi-process n8n (queue mode) two executions may both send the same stored refresh token; a
 * vendor that treats a reused (rotated) refresh token as theft revokes the whole grant. The
 * refresh token B2COPY returns is still stored (the user's own Token → Refresh step may use one
 * from Token → Get; automatic renewal never does). Returns the fields n8n persists.
 */
export async function acquireB2CopyTokens(
	credentials: ICredentialDataDecryptedObject,
	http: PlainHttp,
	nowMs: number = Date.now(),
): Promise<B2CopyTokens & { inputsFingerprint: string }> {
	const inputs = readB2CopyInputs(credentials);
	const inputsFingerprint = b2copyFingerprint(credentials);
	return { ...(await exchangeB2CopyTokens(inputs, http, nowMs)), inputsFingerprint };
}

/** The stored expiry, as the transport needs it. */
export function b2copyExpiresAt(credentials: ICredentialDataDecryptedObject): number | undefined {
	return parseInstant(credentials.expiresAt);
}
