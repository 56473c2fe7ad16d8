/**
 * Pieces shared by the credentials' token functions: calling a token endpoint without leaking
 * anything into errors, and reading expiry times in the many shapes vendors use.
 */
import type { IExecuteFunctions, IHttpRequestOptions } from 'n8n-workflow';
import { sleep } from 'n8n-workflow';

import type { VendorResponse } from './clientTypes';
import {
	TokenError,
	describeNetworkError,
	innermostMessage,
	looksLikeHtml,
	networkErrorCode,
	redact,
	statusLabel,
	vendorMessage,
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

/** How a token endpoint's transient failures are retried. */
export interface TokenRetryOptions {
	/** Tries after the first (default 3). */
	retries?: number;
	/** Base of the exponential back-off in milliseconds (default 500). */
	backoffMs?: number;
	/** The longest Retry-After the token request waits out (default 30 s); longer: the answer is returned. */
	maxRetryAfterMs?: number;
}

/**
 * Network failures that say nothing about the address being wrong: a timeout, a reset or dropped
 * connection, a DNS hiccup. (Refused connections and unknown hosts are configuration errors:
 * retrying them only delays the message naming the host field.)
 */
const TRANSIENT_NETWORK = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'EAI_AGAIN']);
const TRANSIENT_STATUS = new Set([429, 500, 502, 503, 504]);

function retryAfterMs(headers: Record<string, unknown>): number | undefined {
	for (const [key, value] of Object.entries(headers ?? {})) {
		if (key.toLowerCase() !== 'retry-after') continue;
		const text = String(Array.isArray(value) ? value[0] : value).trim();
		if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
		const date = Date.parse(text);
		return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
	}
	return undefined;
}

/**
 * Sends a request to a vendor's token endpoint and returns the answer whatever its status.
 *
 * A token request is safe to repeat (a new assertion, a new login, a new client-credentials
 * grant), so transient failures are retried a bounded number of times, like other idempotent
 * requests: a timeout, a reset connection, 5xx, and 429/503 (waiting out Retry-After up to
 * `maxRetryAfterMs`). `options` may be a function, called for every try (a B2COPY assertion must
 * be signed anew: the vendor refuses a replayed one).
 *
 * A transport failure that persists becomes a TokenError naming the host field (and nothing else).
 */
export async function callTokenEndpoint(
	http: PlainHttp,
	options: IHttpRequestOptions | (() => IHttpRequestOptions),
	vendor: string,
	hostField: string,
	retry: TokenRetryOptions = {},
): Promise<VendorResponse> {
	// A token request carries the secrets themselves (assertion, client secret, pass code, Basic
	// consumer key): n8n must never follow a redirect with it (see redirect.ts). A same-origin
	// 307/308 is followed here; anything else is refused with a sentence naming the host field.
	let next: IHttpRequestOptions | (() => IHttpRequestOptions) = options;
	for (let hop = 0; ; hop++) {
		const { request, response } = await callWithRetries(http, next, vendor, hostField, retry);
		const decision = decideRedirect(request, response, hop);
		if (decision.kind === 'none') return response;
		if (decision.kind === 'follow') {
			next = decision.request;
			continue;
		}
		const { message, description } = redirectMessage(decision, vendor, 'the token request', hostField);
		throw new TokenError(`${message}. ${description}`, 'vendor', hostField, decision.status);
	}
}

/** One token request (no redirect followed), its transient failures retried. */
async function callWithRetries(
	http: PlainHttp,
	options: IHttpRequestOptions | (() => IHttpRequestOptions),
	vendor: string,
	hostField: string,
	retry: TokenRetryOptions,
): Promise<{ request: IHttpRequestOptions; response: VendorResponse }> {
	const retries = retry.retries ?? 3;
	const backoff = retry.backoffMs ?? 500;
	const maxWait = retry.maxRetryAfterMs ?? 30_000;
	for (let attempt = 0; ; attempt++) {
		const current = typeof options === 'function' ? options() : options;
		const outcome = await http({
			json: true,
			timeout: 30_000,
			...current,
			...NO_REDIRECTS,
			returnFullResponse: true,
			ignoreHttpStatusErrors: true,
		}).then(
			(full) => ({ full: full as { statusCode: number; headers?: Record<string, unknown>; body: unknown } }),
			(error: unknown) => ({ error }),
		);
		const canRetry = attempt < retries;
		const pause = backoff * 2 ** attempt;
		if ('full' in outcome) {
			const { full } = outcome;
			const answer = { statusCode: full.statusCode, headers: full.headers ?? {}, body: full.body };
			if (canRetry && TRANSIENT_STATUS.has(answer.statusCode)) {
				const asked = retryAfterMs(answer.headers);
				if (asked === undefined || asked <= maxWait) {
					await sleep(asked ?? pause);
					continue;
				}
			}
			if (TRANSIENT_STATUS.has(answer.statusCode) && !looksLikeHtml(answer.body)) {
				// A busy or unavailable vendor (an HTML page instead is a proxy or a wrong address:
				// the caller says so, naming the host field).
				const said = vendorMessage(answer.body);
				const tries = attempt > 0 ? ` (${attempt + 1} tries)` : '';
				throw new TokenError(
					`${vendor} answered the token request with ${statusLabel(answer.statusCode)}${tries}${said ? `: "${said}"` : ''}. ${vendor} is unavailable or limiting requests right now: run the workflow again later.`,
					'vendor',
					undefined,
					answer.statusCode,
				);
			}
			return { request: current, response: answer };
		}
		const code = networkErrorCode(outcome.error);
		if (canRetry && code !== undefined && TRANSIENT_NETWORK.has(code)) {
			await sleep(pause);
			continue;
		}
		const where = /^https?:\/\/([^/?#]+)/i.exec(current.url)?.[1];
		const why = code
			? describeNetworkError(code)
			: redact(innermostMessage(outcome.error) || 'the request failed before an answer came', [
					JSON.stringify(current.body ?? ''),
				]);
		const tries = attempt > 0 ? ` (${attempt + 1} tries)` : '';
		throw new TokenError(
			`Could not reach ${vendor}${where ? ` at ${where}` : ''}: ${why}${tries}. Check the "${hostField}" field of the credential.`,
			'network',
			hostField,
		);
	}
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
