/**
 * The one HTTP path of every node in this package, and the entry point the operations import.
 *
 * Every request goes through `helpers.httpRequestWithAuthentication`, so n8n's proxy, SSRF and
 * credential rules apply, and tokens are obtained by the credential type's `preAuthentication`
 * and persisted by n8n in its credential store. On top of that path this client adds what n8n
 * does not do by itself (see shared/docs/n8n.md), each in its own module:
 *
 * - One credential read per node run (renewal.ts). n8n re-reads and decrypts the credential on
 *   every `httpRequestWithAuthentication` call unless `credentialsDecrypted` is passed, so the
 *   client reads it once and passes that object; n8n merges what `preAuthentication` returns
 *   into it.
 * - Renewal that is single, also fires when the vendor does not answer 401, and is single across
 *   executions and worker processes where n8n allows it (renewal.ts, renewLock.ts).
 * - Safe retries (retry.ts): 429 and 503 waited out with one back-off shared by all requests of
 *   the run (honouring Retry-After); other 5xx answers and network failures retried only for
 *   idempotent requests.
 * - One request with its timeout and redirects handled here, never by n8n (send.ts, redirect.ts).
 * - Lanes (lanes.ts): requests that name the same lane run one at a time (a vendor that refuses a
 *   second concurrent statistics request of the same client).
 * - Identical lookups sent once per run when the router asks for it (reuse.ts).
 * - Errors written for the user, with no secret in them (failures.ts).
 */
import type { ICredentialDataDecryptedObject, IHttpRequestMethods, IHttpRequestOptions, INode, NodeApiError } from 'n8n-workflow';

import type { ClientOptions, RequestContext, SendOptions, ShapingFacts, VendorProfile, VendorResponse } from './clientTypes';
import { checkAnswer, errorFor, secretsOf, wrapFailure } from './failures';
import { Lanes } from './lanes';
import { TokenKeeper, defaultIsAuthFailure } from './renewal';
import { Retrier } from './retry';
import { reuseKey, type RequestReuse } from './reuse';
import { Sender } from './send';

export type { ClientOptions, RequestContext, SendOptions, VendorProfile, VendorResponse } from './clientTypes';
export { isOk, responseOf } from './response';
export { parseRetryAfter } from './retry';
export {
	EXPIRY_MARGIN_JITTER_MS,
	EXPIRY_MARGIN_MS,
	RENEWAL_JITTER_MS,
	defaultIsAuthFailure,
	forbiddenSpeaksOfToken,
	renewalTiming,
} from './renewal';

const DEFAULTS: Required<ClientOptions> = {
	maxRetries: 4,
	maxRateLimitRetries: 12,
	timeoutMs: 30_000,
	maxRetryAfterMs: 120_000,
	backoffBaseMs: 500,
	renewLock: true,
};

export class VendorClient {
	private readonly options: Required<ClientOptions>;
	private readonly tokens: TokenKeeper;
	private readonly retrier: Retrier;
	private readonly lanes = new Lanes();
	private readonly facts: ShapingFacts;

	/**
	 * Whether renewals take the cross-process lock in this node's processed-items row
	 * (renewLock.ts). Code that uses that row itself (the call sync's claim lock) turns it off
	 * before its first request.
	 */
	renewLock: boolean;

	/** Set by the router for operations whose identical lookups are sent once per run (reuse.ts). */
	reuse?: RequestReuse;

	constructor(
		private readonly ctx: RequestContext,
		readonly profile: VendorProfile,
		options: ClientOptions = {},
	) {
		this.options = { ...DEFAULTS, ...options };
		this.renewLock = this.options.renewLock;
		const forbidden = { spent: false };
		const sender = new Sender(ctx, profile, () => this.node, this.options.timeoutMs, forbidden);
		this.facts = {
			node: () => this.node,
			profile,
			limits: this.options,
			knownSecrets: () => (this.tokens.current ? secretsOf(profile, this.tokens.current) : []),
			secrets: async () => await this.secrets(),
			isAuthFailure: (response) => this.isAuthFailure(response),
		};
		this.tokens = new TokenKeeper(ctx, profile, {
			raw: async (request, credentials, what) => await sender.raw(request, credentials, what),
			renewalFailure: async (error, sendOptions) => await wrapFailure(this.facts, error, sendOptions, undefined, true),
			lockWanted: () => this.renewLock,
			forbidden,
		});
		this.retrier = new Retrier(this.options, {
			renews: Boolean(profile.tokenProperty),
			tokens: this.tokens,
			isAuthFailure: (response) => this.isAuthFailure(response),
			failure: async (error, sendOptions, code) => await wrapFailure(this.facts, error, sendOptions, code),
		});
	}

	/** How many token renewals this client caused (for logs and tests). */
	get renewals(): number {
		return this.tokens.renewals;
	}

	/** How many times this client took a token another execution had stored (for tests). */
	get adoptions(): number {
		return this.tokens.adoptions;
	}

	/** How many times this client held the cross-process renewal lock (for tests). */
	get lockHolds(): number {
		return this.tokens.lockHolds;
	}

	private nodeCache?: INode;
	private baseUrlCache?: string;

	/** The node (n8n deep-copies it on every getNode(), so it is read once). */
	get node(): INode {
		this.nodeCache ??= this.ctx.getNode();
		return this.nodeCache;
	}

	/** The vendor's base URL from the credential, read once for this client. */
	async baseUrl(): Promise<string> {
		this.baseUrlCache ??= this.profile.baseUrl(await this.getCredentials());
		return this.baseUrlCache;
	}

	/** The credential's data, read once for this client. */
	async getCredentials(): Promise<ICredentialDataDecryptedObject> {
		return await this.tokens.getCredentials();
	}

	/** Secrets of the credential, for redaction by callers that build their own messages. */
	async secrets(): Promise<unknown[]> {
		return secretsOf(this.profile, await this.getCredentials());
	}

	/**
	 * Sends one request and returns the vendor's answer, whatever its status, after renewal and
	 * retries. Throws a NodeApiError only when no answer could be had (network, renewal failed).
	 */
	async send(request: IHttpRequestOptions, options: SendOptions): Promise<VendorResponse> {
		const key = this.reuse ? reuseKey(request) : undefined;
		if (key !== undefined && this.reuse) return await this.reuse.run(key, async () => await this.sendShared(request, options));
		return await this.sendShared(request, options);
	}

	private async sendShared(request: IHttpRequestOptions, options: SendOptions): Promise<VendorResponse> {
		if (!options.lane) return await this.retrier.send(request, options);
		return await this.lanes.run(options.lane, async () => await this.retrier.send(request, options));
	}

	/**
	 * Sends a request and returns its body when the vendor answered 2xx; otherwise throws a
	 * NodeApiError that quotes the vendor's message.
	 */
	async request<T = unknown>(request: IHttpRequestOptions, options: SendOptions): Promise<T> {
		const response = await this.send(request, options);
		await this.checkAnswer(response, options, request.encoding === 'arraybuffer');
		return response.body as T;
	}

	/**
	 * Throws unless the answer is a usable 2xx: not an error status, not an HTML page (a proxy or
	 * login page answering instead of the API), not JSON cut off or damaged on its way.
	 */
	async checkAnswer(response: VendorResponse, options: SendOptions, binary = false): Promise<void> {
		await checkAnswer(this.facts, response, options, binary);
	}

	/** A NodeApiError for a non-2xx answer: status, the vendor's words, what to check. */
	async errorFor(response: VendorResponse, options: SendOptions, hint?: string): Promise<NodeApiError> {
		return await errorFor(this.facts, response, options, hint);
	}

	isAuthFailure(response: VendorResponse): boolean {
		return this.profile.isAuthFailure
			? this.profile.isAuthFailure(response)
			: defaultIsAuthFailure(response);
	}
}

export type { IHttpRequestMethods };
