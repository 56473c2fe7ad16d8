/**
 * Redirects, handled by this package instead of n8n's request layer.
 *
 * n8n 2.41 follows redirects itself and, unless a request sets
 * `sendCredentialsOnCrossOriginRedirect: false`, re-sends the Authorization header and Basic
 * auth to whatever host the Location names; even with that option it re-sends every other
 * header, a `?token=` already in the URL, and on 307/308 the whole body (a CRM.COM session
 * token, a B2COPY signed assertion, a PBX client secret). So every request of this package is
 * sent with `disableFollowRedirect: true`, and the 3xx answer comes back here:
 *
 * - to another origin (scheme, host or port differ, http → https included): never followed; a
 *   clear error names the credential's host field and the other origin (never its path or query,
 *   which may carry a token);
 * - to the same origin: followed here, with the credential, for GET/HEAD (any 3xx) and for
 *   307/308 of any method (the vendor asks for the same request elsewhere on the same server);
 *   a 301/302/303 answer to a POST is not followed (n8n would have turned it into a GET);
 * - at most MAX_REDIRECTS hops.
 */
import type { IDataObject, IHttpRequestOptions } from 'n8n-workflow';

import type { VendorResponse } from './clientTypes';
import { header } from './response';

export const MAX_REDIRECTS = 5;

/** Every request option this package sends so that n8n never follows a redirect by itself. */
export const NO_REDIRECTS = {
	disableFollowRedirect: true,
	sendCredentialsOnCrossOriginRedirect: false,
} as const satisfies Partial<IHttpRequestOptions>;

export function isRedirect(status: number): boolean {
	return status >= 300 && status < 400 && status !== 304;
}

/** The absolute URL a request goes to (without its `qs`). */
export function requestUrl(request: Pick<IHttpRequestOptions, 'url' | 'baseURL'>): URL | undefined {
	try {
		if (request.baseURL) return new URL(`${request.baseURL.replace(/\/+$/, '')}${request.url.startsWith('/') ? '' : '/'}${request.url}`);
		return new URL(request.url);
	} catch {
		return undefined;
	}
}

export type RedirectDecision =
	| { kind: 'none' }
	| { kind: 'follow'; request: IHttpRequestOptions }
	| { kind: 'refuse'; reason: 'other-origin' | 'method' | 'too-many' | 'no-location'; status: number; target?: string; method?: string };

/**
 * What to do with an answer: nothing (not a redirect), follow it (the next request, same
 * origin), or refuse it (why, and the origin it pointed to when that is safe to show).
 */
export function decideRedirect(
	request: IHttpRequestOptions,
	response: Pick<VendorResponse, 'statusCode' | 'headers'>,
	hop: number,
): RedirectDecision {
	const status = response.statusCode;
	if (!isRedirect(status)) return { kind: 'none' };
	const location = header(response.headers, 'location');
	const from = requestUrl(request);
	if (!location || !from) return { kind: 'refuse', reason: 'no-location', status };
	let next: URL;
	try {
		next = new URL(location, from);
	} catch {
		return { kind: 'refuse', reason: 'no-location', status };
	}
	if (next.origin !== from.origin) return { kind: 'refuse', reason: 'other-origin', status, target: next.origin };
	const method = (request.method ?? 'GET').toUpperCase();
	if (method !== 'GET' && method !== 'HEAD' && status !== 307 && status !== 308) {
		return { kind: 'refuse', reason: 'method', status, target: next.origin, method };
	}
	if (hop >= MAX_REDIRECTS) return { kind: 'refuse', reason: 'too-many', status, target: next.origin };
	const qs: IDataObject = {};
	for (const [key, value] of next.searchParams) {
		const existing = qs[key];
		qs[key] = existing === undefined ? value : Array.isArray(existing) ? [...(existing as string[]), value] : [existing as string, value];
	}
	const follow: IHttpRequestOptions = {
		...request,
		url: `${next.origin}${next.pathname}`,
		qs: Object.keys(qs).length ? qs : undefined,
	};
	delete follow.baseURL;
	if (follow.qs === undefined) delete follow.qs;
	return { kind: 'follow', request: follow };
}

/** A sentence for a refused redirect; names the host field, never a path or query. */
export function redirectMessage(
	decision: Extract<RedirectDecision, { kind: 'refuse' }>,
	vendor: string,
	what: string,
	hostField: string,
): { message: string; description: string } {
	const code = `HTTP ${decision.status}`;
	const check = `Check the "${hostField}" field of the credential: it must be the API address itself, with https:// when the server uses it.`;
	switch (decision.reason) {
		case 'other-origin':
			return {
				message: `${vendor} answered ${what} with a redirect (${code}) to another address, ${decision.target ?? 'unknown'}; it was not followed, so the credential was not sent there`,
				description: check,
			};
		case 'method':
			return {
				message: `${vendor} answered ${what} with a redirect (${code}) that this node does not follow for a ${decision.method ?? 'POST'} request`,
				description: check,
			};
		case 'too-many':
			return {
				message: `${vendor} answered ${what} with more than ${MAX_REDIRECTS} redirects in a row`,
				description: check,
			};
		default:
			return {
				message: `${vendor} answered ${what} with a redirect (${code}) without a usable address`,
				description: check,
			};
	}
}

/** Raised by the client when a redirect is refused; its sentence is written for the user. */
export class RedirectRefusedError extends Error {
	constructor(
		message: string,
		readonly description: string,
		readonly status: number,
	) {
		super(message);
		this.name = 'RedirectRefusedError';
	}
}
