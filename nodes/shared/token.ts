/**
 * Pieces shared by the credentials' token functions: calling a token endpoint without leaking
 * anything into errors, and reading expiry times in the many shapes vendors use.
 */
import type { IExecuteFunctions, IHttpRequestOptions } from 'n8n-workflow';

import type { VendorResponse } from './client';
import {
	TokenError,
	describeNetworkError,
	innermostMessage,
	networkErrorCode,
	redact,
} from './errors';
import { NO_REDIRECTS, decideRedirect, redirectMessage } from './redirect';

/** `this.helpers.httpRequest` inside preAuthentication, or the same helper of a node. */
export type PlainHttp = (options: IHttpRequestOptions) => Promise<unknown>;

/**
 * Unauthenticated requests of a node, for the Token operations that run a login or exchange
 * as a workflow step (the token endpoint itself takes no token).
 */
export function plainHttp(ctx: IExecuteFunctions): PlainHttp {
	return async (options) => await ctx.helpers.httpRequest(options);
}

/**
 * Sends a request to a vendor's token endpoint and returns the answer whatever its status.
 * A transport failure becomes a TokenError naming the host field (and nothing else).
 */
export async function callTokenEndpoint(
	http: PlainHttp,
	options: IHttpRequestOptions,
	vendor: string,
	hostField: string,
): Promise<VendorResponse> {
	// A token request carries the secrets themselves (assertion, client secret, pass code, Basic
	// consumer key): n8n must never follow a redirect with it (see redirect.ts). A same-origin
	// 307/308 is followed here; anything else is refused with a sentence naming the host field.
	let current = options;
	for (let hop = 0; ; hop++) {
		const response = await callTokenEndpointOnce(http, current, vendor, hostField);
		const decision = decideRedirect(current, response, hop);
		if (decision.kind === 'none') return response;
		if (decision.kind === 'follow') {
			current = decision.request;
			continue;
		}
		const { message, description } = redirectMessage(decision, vendor, 'the token request', hostField);
		throw new TokenError(`${message}. ${description}`, 'vendor', hostField, decision.status);
	}
}

async function callTokenEndpointOnce(
	http: PlainHttp,
	options: IHttpRequestOptions,
	vendor: string,
	hostField: string,
): Promise<VendorResponse> {
	const outcome = await http({
		json: true,
		timeout: 30_000,
		...options,
		...NO_REDIRECTS,
		returnFullResponse: true,
		ignoreHttpStatusErrors: true,
	}).then(
		(full) => ({ full: full as { statusCode: number; headers?: Record<string, unknown>; body: unknown } }),
		(error: unknown) => ({ error }),
	);
	if ('full' in outcome) {
		const { full } = outcome;
		return { statusCode: full.statusCode, headers: full.headers ?? {}, body: full.body };
	}
	const code = networkErrorCode(outcome.error);
	const where = /^https?:\/\/([^/?#]+)/i.exec(options.url)?.[1];
	const why = code
		? describeNetworkError(code)
		: redact(innermostMessage(outcome.error) || 'the request failed before an answer came', [
				JSON.stringify(options.body ?? ''),
			]);
	throw new TokenError(
		`Could not reach ${vendor}${where ? ` at ${where}` : ''}: ${why}. Check the "${hostField}" field of the credential.`,
		'network',
		hostField,
	);
}

/**
 * An instant given as epoch seconds or milliseconds (number or numeric string) or as a date
 * string, as epoch milliseconds.
 */
export function parseInstant(value: unknown): number | undefined {
	if (typeof value === 'number' && Number.isFinite(value) && value > 0) {
		return value > 1e12 ? value : value * 1000;
	}
	if (typeof value === 'string' && value.trim() !== '') {
		const text = value.trim();
		if (/^\d+(\.\d+)?$/.test(text)) return parseInstant(Number(text));
		const parsed = Date.parse(text);
		return Number.isNaN(parsed) ? undefined : parsed;
	}
	return undefined;
}

/** A duration in seconds (number or numeric string), as milliseconds. */
export function parseSeconds(value: unknown): number | undefined {
	const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
	return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n * 1000 : undefined;
}

/** The claims of a JWT, unverified (only to read `exp`), or undefined if it is not one. */
export function jwtClaims(token: string): Record<string, unknown> | undefined {
	const parts = token.split('.');
	if (parts.length !== 3) return undefined;
	try {
		const json = Buffer.from(parts[1], 'base64url').toString('utf8');
		const claims: unknown = JSON.parse(json);
		return typeof claims === 'object' && claims !== null ? (claims as Record<string, unknown>) : undefined;
	} catch {
		return undefined;
	}
}

/** `exp` of a JWT as epoch milliseconds; CRM.COM sends it as a string, others as a number. */
export function jwtExpiry(token: string): number | undefined {
	const claims = jwtClaims(token);
	return claims ? parseInstant(claims.exp) : undefined;
}

/** Names of the fields of an answer (never their values), for "no token found" messages. */
export function fieldNames(body: unknown): string {
	if (typeof body !== 'object' || body === null) return typeof body === 'string' ? 'text' : 'none';
	const names: string[] = [];
	for (const [key, value] of Object.entries(body)) {
		if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
			names.push(...Object.keys(value).map((inner) => `${key}.${inner}`));
		} else {
			names.push(key);
		}
	}
	return names.length ? names.slice(0, 20).join(', ') : 'none';
}
