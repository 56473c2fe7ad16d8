/**
 * Safe retries of one request. 429 and 503 are waited out with one back-off shared by all
 * requests of the client (a 429 slows the whole pool, not one worker), honouring Retry-After, a
 * bounded number of times: the vendor says the request was not processed. Other 5xx answers
 * (500, 502, 504) and network failures are retried only for idempotent requests; a
 * non-idempotent POST that may have reached the vendor is never sent twice. A refused token is
 * renewed once per request (renewal.ts) and the request sent again.
 */
import type { IHttpRequestOptions } from 'n8n-workflow';
import { sleep } from 'n8n-workflow';

import type { ClientOptions, RetryLink, SendOptions, VendorResponse } from './clientTypes';
import { networkErrorCode } from './errors';
import { header } from './response';

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

/** Retry-After as milliseconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
	if (value === undefined || value.trim() === '') return undefined;
	const trimmed = value.trim();
	if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
	const date = Date.parse(trimmed);
	if (Number.isNaN(date)) return undefined;
	return Math.max(0, date - now);
}

/** The request's own word, else its method: GET, HEAD, PUT, DELETE and OPTIONS are idempotent. */
export function isIdempotent(request: IHttpRequestOptions, options: SendOptions): boolean {
	if (options.idempotent !== undefined) return options.idempotent;
	return IDEMPOTENT_METHODS.has((request.method ?? 'GET').toUpperCase());
}

type RetryLimits = Pick<Required<ClientOptions>, 'maxRetries' | 'maxRateLimitRetries' | 'maxRetryAfterMs' | 'backoffBaseMs'>;

export class Retrier {
	private pauseUntil = 0;

	constructor(
		private readonly limits: RetryLimits,
		private readonly link: RetryLink,
	) {}

	/** The vendor's answer after renewal and retries; throws a shaped failure when none came. */
	async send(request: IHttpRequestOptions, options: SendOptions): Promise<VendorResponse> {
		const { limits, link } = this;
		const { tokens } = link;
		const idempotent = isIdempotent(request, options);
		let renewedForThisRequest = false;
		let resentAfterAdoption = false;
		let retries = 0;
		let limitedRetries = 0;
		for (;;) {
			await this.waitForPause();
			const generation = tokens.generation;
			let response: VendorResponse;
			try {
				response = await tokens.send(request, options);
			} catch (error) {
				const code = networkErrorCode(error);
				if (code && idempotent && retries < limits.maxRetries) {
					retries++;
					await sleep(this.backoffMs(retries));
					continue;
				}
				throw await link.failure(error, options, code);
			}
			if (link.renews && !renewedForThisRequest && link.isAuthFailure(response) && tokens.worthRenewing(response)) {
				// The token was refused: renew once (shared with every request that saw the same
				// token refused) and send this request again.
				renewedForThisRequest = true;
				tokens.markStale(generation);
				continue;
			}
			if (
				link.renews &&
				link.isAuthFailure(response) &&
				tokens.generation === tokens.adoptedGeneration &&
				!resentAfterAdoption
			) {
				// The token taken from the store (another execution's) was refused too: that was
				// not a renewal of ours, so renew once more for this request.
				resentAfterAdoption = true;
				tokens.markStale(tokens.generation);
				continue;
			}
			if (renewedForThisRequest) response = { ...response, renewed: true };
			else if (link.renews && link.isAuthFailure(response)) response = { ...response, renewed: false };
			const status = response.statusCode;
			const attempts = retries + limitedRetries + 1;
			if ((status === 429 || status === 503) && limitedRetries < limits.maxRateLimitRetries) {
				limitedRetries++;
				const retryAfter = parseRetryAfter(header(response.headers, 'retry-after'));
				if (retryAfter !== undefined && retryAfter > limits.maxRetryAfterMs) {
					return { ...response, attempts, retryAfterMs: retryAfter };
				}
				this.pause(retryAfter ?? this.backoffMs(limitedRetries));
				continue;
			}
			const transient = status === 500 || status === 502 || status === 504;
			if (transient && idempotent && retries < limits.maxRetries) {
				retries++;
				await sleep(this.backoffMs(retries));
				continue;
			}
			return { ...response, attempts };
		}
	}

	private backoffMs(attempt: number): number {
		const base = this.limits.backoffBaseMs * 2 ** (Math.min(attempt, 8) - 1);
		return Math.min(base + Math.floor(Math.random() * this.limits.backoffBaseMs), 10_000);
	}

	/** One pause for every request of this client: a 429 slows the whole pool, not one worker. */
	private pause(ms: number): void {
		this.pauseUntil = Math.max(this.pauseUntil, Date.now() + ms);
	}

	private async waitForPause(): Promise<void> {
		for (;;) {
			const wait = this.pauseUntil - Date.now();
			if (wait <= 0) return;
			await sleep(wait);
		}
	}
}
