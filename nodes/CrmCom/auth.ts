/**
 * CRM.COM consumer-application-key login, as pure functions over the credential's fields:
 * validate, log in (key as HTTP Basic username, empty password), read the envelope, and know
 * when the session token expires (its JWT `exp`, which CRM.COM sends as a string).
 */
import { createHash } from 'node:crypto';

import type { ICredentialDataDecryptedObject, IDataObject } from 'n8n-workflow';

import { TokenError, looksLikeHtml, redact, statusLabel } from '../shared/errors';
import { callTokenEndpoint, fieldNames, jwtExpiry, parseInstant, type PlainHttp } from '../shared/token';
import { allowsInsecureHttp, refuseInsecureHttp } from '../shared/host';

export const CRMCOM_CREDENTIAL_TYPE = 'crmComApi';
export const CRMCOM_API_SUFFIX = '/crmapi/rest/v2';
export const CRMCOM_LOGIN_PATH = 'authentication/consumer_application_key/token';
/** CRM.COM session tokens live two hours, used or not. */
export const SESSION_LIFETIME_MS = 2 * 60 * 60_000;

export const FIELD = {
	server: 'Server URL',
	key: 'Consumer Application Key',
	method: 'Login Method',
	code: 'Authentication Code',
	identifier: 'Identifier',
	passCode: 'Pass Code',
	jwt: 'Identity JWT',
	organisation: 'Organisation',
	unit: 'Unit',
} as const;

export type LoginMethod = 'authenticationCode' | 'identifierPassCode' | 'jwt';

export interface CrmComLogin {
	base: string;
	key: string;
	method: LoginMethod;
	body: IDataObject;
	secrets: string[];
}

export interface CrmComSession {
	sessionToken: string;
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

/**
 * The API base, `https://server[/prefix]/crmapi/rest/v2`, from what the user typed: with or
 * without the `/crmapi/rest/v2` suffix, with or without a trailing slash.
 */
export function normalizeCrmComBase(value: unknown, allowInsecure = false): string {
	let raw = text(value).replace(/\/+$/, '');
	if (raw === '') {
		throw new TokenError(`The "${FIELD.server}" field is empty. Enter the address of your CRM.COM server, e.g. https://yourcompany.crm.com`, 'input', FIELD.server);
	}
	const url = parseUrl(raw);
	if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
		throw new TokenError(`The "${FIELD.server}" field is not an http(s) URL. Enter it with https://, e.g. https://yourcompany.crm.com`, 'input', FIELD.server);
	}
	if (url.search || url.hash) {
		throw new TokenError(`The "${FIELD.server}" field must not contain "?" or "#" parts`, 'input', FIELD.server);
	}
	refuseInsecureHttp(url, FIELD.server, allowInsecure);
	raw = raw.replace(/\/crmapi\/rest\/v2$/i, '').replace(/\/crmapi(\/rest)?$/i, '');
	return `${raw}${CRMCOM_API_SUFFIX}`;
}

/** Reads and checks the login inputs; the body CRM.COM expects for the chosen method. */
export function readCrmComLogin(credentials: ICredentialDataDecryptedObject): CrmComLogin {
	const base = normalizeCrmComBase(credentials.serverUrl, allowsInsecureHttp(credentials));
	const key = text(credentials.consumerKey);
	const method = (text(credentials.loginMethod) || 'authenticationCode') as LoginMethod;
	const body: IDataObject = {};
	const secrets = [key];
	const need = (name: string, label: string, hint: string): string => {
		const value = text(credentials[name]);
		if (value === '') throw new TokenError(`The "${label}" field is empty. ${hint}`, 'input', label);
		return value;
	};
	if (method === 'authenticationCode') {
		const code = need('authenticationCode', FIELD.code, 'Enter the authentication code of the CRM.COM access token.');
		body.access_token_identifier = { authentication_code: code };
		secrets.push(code);
	} else if (method === 'identifierPassCode') {
		if (key === '') {
			throw new TokenError(`The "${FIELD.key}" field is empty. CRM.COM requires the consumer application key when you log in with an identifier and pass code.`, 'input', FIELD.key);
		}
		const identifier = need('identifier', FIELD.identifier, 'Enter the identifier of the CRM.COM access token.');
		const passCode = need('passCode', FIELD.passCode, 'Enter the pass code of the CRM.COM access token.');
		body.access_token_identifier = { identifier, pass_code: passCode };
		secrets.push(passCode);
	} else if (method === 'jwt') {
		const jwt = need('jwt', FIELD.jwt, 'Paste the token returned by the CRM.COM identity management system.');
		const organisation = text(credentials.organisation);
		if (organisation === '') {
			throw new TokenError(`The "${FIELD.organisation}" field is empty. CRM.COM requires the organisation ID when you log in with an identity JWT.`, 'input', FIELD.organisation);
		}
		body.jwt = jwt;
		body.organisation = organisation;
		secrets.push(jwt);
	} else {
		throw new TokenError(`The "${FIELD.method}" "${method}" is not one this credential knows. Choose one of the listed login methods.`, 'input', FIELD.method);
	}
	const unit = text(credentials.unit);
	if (unit !== '') body.unit = unit;
	return { base, key, method, body, secrets };
}

export function crmComFingerprint(credentials: ICredentialDataDecryptedObject): string {
	const parts = ['serverUrl', 'consumerKey', 'loginMethod', 'authenticationCode', 'identifier', 'passCode', 'jwt', 'organisation', 'unit'].map(
		(name) => text(credentials[name]),
	);
	parts[0] = parts[0].replace(/\/+$/, '');
	return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);
}

export interface Envelope {
	data?: unknown;
	status?: { code?: unknown; message?: unknown; description?: unknown };
}

export function isEnvelope(body: unknown): body is Envelope {
	return typeof body === 'object' && body !== null && !Array.isArray(body) && typeof (body as Envelope).status === 'object' && (body as Envelope).status !== null;
}

/** "CODE: message — description", the vendor's words for a non-OK envelope. */
export function envelopeText(body: Envelope): string {
	const status = body.status ?? {};
	const parts = [text(status.message), text(status.description)].filter((part, i, all) => part !== '' && all.indexOf(part) === i);
	const code = text(status.code);
	return [code, parts.join(' — ')].filter(Boolean).join(': ') || 'no reason given';
}

export function isOkEnvelope(body: unknown): boolean {
	return isEnvelope(body) && text(body.status?.code).toUpperCase() === 'OK';
}

/** Which field to look at, from CRM.COM's refusal. */
export function loginRefusalHint(said: string, method: LoginMethod): string {
	const s = said.toLowerCase();
	// No login method at that address (the answer may quote the path, which names the key).
	if (/unknown_method|method_not_allowed|web api method/.test(s)) {
		return `Check the "${FIELD.server}" field: it must be the address of your CRM.COM server (with or without /crmapi/rest/v2), nothing after it.`;
	}
	if (/jwt_not_supported|jwt is not supported/.test(s)) {
		return `This CRM.COM server does not accept identity JWTs (they need R16.2 or later): choose another "${FIELD.method}".`;
	}
	if (/organi[sz]ation/.test(s)) return `Check "${FIELD.organisation}".`;
	if (/\bunit\b/.test(s)) return `Check "${FIELD.unit}" (or leave it empty to use the default unit).`;
	if (/pass.?code|password/.test(s)) return `Check "${FIELD.passCode}".`;
	if (/consumer|application key|api key|\bkey\b/.test(s)) return `Check "${FIELD.key}".`;
	if (/jwt|identity/.test(s)) return `Check "${FIELD.jwt}": it may have expired; get a new one from CRM.COM identity management.`;
	if (/identifier/.test(s)) return `Check "${FIELD.identifier}".`;
	if (/authentication.?code/.test(s)) return `Check "${FIELD.code}".`;
	const byMethod: Record<LoginMethod, string> = {
		authenticationCode: `Check "${FIELD.key}" and "${FIELD.code}".`,
		identifierPassCode: `Check "${FIELD.key}", "${FIELD.identifier}" and "${FIELD.passCode}".`,
		jwt: `Check "${FIELD.jwt}" and "${FIELD.organisation}".`,
	};
	return byMethod[method];
}

/** Logs in and returns the session token and when it expires. */
export async function loginCrmCom(
	credentials: ICredentialDataDecryptedObject,
	http: PlainHttp,
	nowMs: number = Date.now(),
): Promise<CrmComSession> {
	const login = readCrmComLogin(credentials);
	const response = await callTokenEndpoint(
		http,
		{
			method: 'POST',
			url: `${login.base}/${CRMCOM_LOGIN_PATH}`,
			body: login.body,
			headers: { 'Content-Type': 'application/json' },
			...(login.key !== '' ? { auth: { username: login.key, password: '' } } : {}),
		},
		'CRM.COM',
		FIELD.server,
	);
	const { statusCode, body } = response;
	if (typeof body === 'string' || body === undefined || !isEnvelope(body)) {
		const kind = looksLikeHtml(body) ? 'an HTML page' : typeof body === 'string' ? 'text that is not JSON' : `JSON without a status (fields: ${fieldNames(body)})`;
		throw new TokenError(
			`The "${FIELD.server}" does not look like a CRM.COM Web API: logging in got ${statusLabel(statusCode)} with ${kind}. Check the "${FIELD.server}" field (the address of your CRM.COM server).`,
			'vendor',
			FIELD.server,
			statusCode,
		);
	}
	if (!isOkEnvelope(body) || statusCode < 200 || statusCode >= 300) {
		const said = envelopeText(body);
		const message = `CRM.COM refused the login (${statusLabel(statusCode)}): "${said}". ${loginRefusalHint(said, login.method)}`;
		throw new TokenError(redact(message, login.secrets), 'vendor', undefined, statusCode);
	}
	const data = body.data as IDataObject | undefined;
	const token = typeof data?.token === 'string' ? data.token : '';
	if (token === '') {
		throw new TokenError(`CRM.COM answered the login with status OK but without a token (fields received: ${fieldNames(body.data)}).`, 'vendor');
	}
	const expiresAt = jwtExpiry(token) ?? nowMs + SESSION_LIFETIME_MS;
	return { sessionToken: token, expiresAt };
}

/** The credential's preAuthentication: log in, and remember which inputs the token is for. */
export async function acquireCrmComSession(
	credentials: ICredentialDataDecryptedObject,
	http: PlainHttp,
): Promise<CrmComSession & { inputsFingerprint: string }> {
	return { ...(await loginCrmCom(credentials, http)), inputsFingerprint: crmComFingerprint(credentials) };
}

export function crmComExpiresAt(credentials: ICredentialDataDecryptedObject): number | undefined {
	return parseInstant(credentials.expiresAt);
}
