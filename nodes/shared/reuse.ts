/**
 * Identical lookups once per run. When several items of one node run send exactly the same read
 * request (same method, URL, query, headers: e.g. Contact → Get for the same phone number), it is
 * sent once and its answer handed to every item that asks for it. Each item still turns that
 * answer into its own output item (its own copy of the data, its own `pairedItem`) or its own
 * error (with its own item index), exactly as if it had sent the request itself.
 *
 * What is reused, and what is not:
 * - Only GET and HEAD requests without a binary answer, and only for the operations that ask for
 *   it (typed read operations; never API Request). The Options → "Reuse Identical Lookups"
 *   switch turns it off.
 * - An answer in which the vendor spoke about the data is reused: 2xx, and the 4xx answers that
 *   say "bad request / not found / gone / invalid" (400, 404, 410, 422). Every item that reuses it
 *   gets the same verdict its own request would have had (a "not found" stays an error, per item).
 * - Anything that may be different a moment later is never reused: a network failure, a
 *   timeout, 5xx, 429, a refused token, any other status, a body that is not parsed JSON
 *   (damaged on its way, an HTML page from a proxy). The next item with the same request
 *   sends its own (one request per item at most, as without reuse); a failed lookup can never
 *   become a success for another item.
 * - The memory lives in the client of one node run: nothing is kept across runs or executions.
 */
import type { IHttpRequestOptions } from 'n8n-workflow';
import { deepCopy } from 'n8n-workflow';

import type { VendorResponse } from './clientTypes';

const REUSABLE_ERROR_STATUSES = new Set([400, 404, 410, 422]);

/** The key of a request that may be shared, or undefined when it must be sent as it is. */
export function reuseKey(request: IHttpRequestOptions): string | undefined {
	const method = (request.method ?? 'GET').toUpperCase();
	if (method !== 'GET' && method !== 'HEAD') return undefined;
	if (request.encoding === 'arraybuffer' || request.encoding === 'stream') return undefined;
	if (request.body !== undefined && request.body !== null && request.body !== '') return undefined;
	return JSON.stringify([method, request.baseURL ?? '', request.url, request.qs ?? null, request.headers ?? null]);
}

function snapshot(response: VendorResponse): VendorResponse {
	return { ...response, headers: { ...response.headers }, body: deepCopy(response.body as object) };
}

export class RequestReuse {
	private readonly answers = new Map<string, Promise<VendorResponse | undefined>>();
	/** Requests this run actually sent through the reuse layer. */
	sent = 0;
	/** Items served with an earlier answer instead of a request of their own. */
	reused = 0;

	constructor(
		/** The vendor's own "token refused" rule: such an answer is never reused. */
		private readonly refused: (response: VendorResponse) => boolean = () => false,
	) {}

	private reusable(response: VendorResponse): boolean {
		const status = response.statusCode;
		if (this.refused(response)) return false;
		// An API answer is parsed JSON; a string is a damaged body or a page from something in
		// between (a proxy, a login page): not an answer about the data.
		if (typeof response.body !== 'object' || response.body === null) return false;
		return (status >= 200 && status < 300) || REUSABLE_ERROR_STATUSES.has(status);
	}

	/**
	 * The answer for `key`: an earlier item's (a copy of it) when that one succeeded in a reusable
	 * way, else from `send` (and remembered for the items after this one when reusable).
	 */
	async run(key: string, send: () => Promise<VendorResponse>): Promise<VendorResponse> {
		const earlier = this.answers.get(key);
		if (earlier) {
			const answer = await earlier;
			if (answer) {
				this.reused++;
				return snapshot(answer);
			}
		}
		this.sent++;
		const own = send();
		// What later items get: a private snapshot taken when the answer arrives (so nothing an
		// item does to its own data can reach another item), or undefined when not reusable.
		const shared = own.then(
			(response) => (this.reusable(response) ? snapshot(response) : undefined),
			() => undefined,
		);
		this.answers.set(key, shared);
		void shared.then((answer) => {
			if (answer === undefined && this.answers.get(key) === shared) this.answers.delete(key);
		});
		return await own;
	}
}
