/**
 * The one HTTP path of every node in this package.
 *
 * Every request goes through `helpers.httpRequestWithAuthentication`, so n8n's proxy, SSRF and
 * credential rules apply, and tokens are obtained by the credential type's `preAuthentication`
 * and persisted by n8n in its credential store. On top of that path this client adds what n8n
 * does not do by itself (see shared/docs/n8n.md):
 *
 * - One credential read per node run. n8n re-reads and decrypts the credential on every
 *   `httpRequestWithAuthentication` call unless `credentialsDecrypted` is passed, so the client
 *   reads it once and passes that object; n8n merges what `preAuthentication` returns into it.
 * - Renewal that is single, and also fires when the vendor does not answer 401. n8n calls
 *   `preAuthentication` only when the token property is empty, or after a 401 (per request, so
 *   ten requests in flight that meet an expired token renew ten times). The client therefore
 *   asks n8n not to throw on HTTP errors (`ignoreHttpStatusErrors`), recognises a refused token
 *   with the vendor's own rule (`isAuthFailure`: a 401, a 403, an error envelope…), and renews
 *   exactly once for all requests in flight: it sends one request with the token property
 *   blanked, which makes n8n run `preAuthentication`, persist the new token for later executions
 *   and worker processes, and merge it into the shared object; the other requests wait for that
 *   and resend with the new token. The same renewal runs before a request when the stored token
 *   is known to be expired (`expiresAt`) or was minted from inputs the user has since edited
 *   (`inputsChanged`).
 * - Renewal that is single across executions and worker processes where n8n allows it: before
 *   renewing, the store is read again (another execution may have stored a fresh token), then
 *   the renewal runs under a lock in n8n's processed-items store (renewLock.ts); executions that
 *   do not get the lock wait for the holder's token and adopt it.
 * - Safe retries: 429 and 503 are waited out with one back-off shared by all requests of the
 *   run (honouring Retry-After), a bounded number of times; other 5xx answers and network
 *   failures are retried only for idempotent requests; a non-idempotent POST that may have
 *   reached the vendor is never sent twice.
 * - Lanes: requests that name the same lane run one at a time (a vendor that refuses a second
 *   concurrent statistics request of the same client).
 */
import type {
	ICredentialDataDecryptedObject,
	IDataObject,
	IHttpRequestMethods,
	IHttpRequestOptions,
	INode,
} from 'n8n-workflow';
import { NodeApiError, NodeOperationError, sleep } from 'n8n-workflow';

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
import { NO_REDIRECTS, RedirectRefusedError, decideRedirect, redirectMessage } from './redirect';
import { lockOrAdopt, processedItemsLock } from './renewLock';
import { reuseKey, type RequestReuse } from './reuse';
import type { ClientOptions, RequestContext, SendOptions, VendorProfile, VendorResponse } from './clientTypes';
import { header, responseOf } from './response';

export type { ClientOptions, RequestContext, SendOptions, VendorProfile, VendorResponse } from './clientTypes';
export { isOk, responseOf } from './response';

const DEFAULTS: Required<ClientOptions> = {
	maxRetries: 4,
	maxRateLimitRetries: 12,
	timeoutMs: 30_000,
	maxRetryAfterMs: 120_000,
	backoffBaseMs: 500,
	renewLock: true,
};

/** Renew a little before the stored expiry, so a token does not die on its way. */
export const EXPIRY_MARGIN_MS = 30_000;
/**
 * Each client adds a random part of up to this much to the margin, so executions (and worker
 * processes) that share a credential do not all decide to renew at the same instant: the first
 * one renews and persists, the others find its token when they re-check the store.
 */
export const EXPIRY_MARGIN_JITTER_MS = 30_000;
/**
 * Where the renewal lock cannot be had (trigger and load-options contexts, a workflow without
 * an id), a client whose token is missing, expired or refused waits a random time of up to this
 * much and reads the credential store again before obtaining one: executions that renew at the
 * same moment then mostly find the first one's token. With the lock (every saved workflow's
 * node run) there is no such wait: the lock alone makes a burst converge (docs/scaling.md).
 */
export const RENEWAL_JITTER_MS = 2_000;

/**
 * The waits above, as one settings object (not state: no token is kept here). Unit tests that
 * run thousands of single-process renewals shorten them; n8n always runs with the defaults.
 */
export const renewalTiming = {
	marginJitterMs: EXPIRY_MARGIN_JITTER_MS,
	renewalJitterMs: RENEWAL_JITTER_MS,
};

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

/** Words of a refusal that speaks of the token itself (not of a permission). */
const TOKEN_WORDS = /token|expired|session|unauthori[sz]ed|not authenticated|authenticat|credential|sign(ed)? ?in|log(ged)? ?in/i;

/**
 * True when a 403 answer speaks of the token ("Access token is invalid or expired"): renewed on
 * every request like a 401. Any other 403 may be a permission refusal.
 */
export function forbiddenSpeaksOfToken(response: VendorResponse): boolean {
	const said = vendorMessage(response.body) ?? (typeof response.body === 'string' ? response.body : '');
	return TOKEN_WORDS.test(said);
}

/** The default rule for a refused token: 401, or 403. */
export function defaultIsAuthFailure(response: VendorResponse): boolean {
	return response.statusCode === 401 || response.statusCode === 403;
}

export class VendorClient {
	private credentials?: ICredentialDataDecryptedObject;
	private loading?: Promise<ICredentialDataDecryptedObject>;
	private changedInputs = false;
	private generation = 0;
	private staleGeneration = -1;
	private renewal?: Promise<void>;
	/** The generation whose renewal already re-checked the store (see recheckStore). */
	private recheckedGeneration = -1;
	/** The generation whose token was taken from the store rather than renewed by this client. */
	private adoptedGeneration = -1;
	private readonly marginMs = EXPIRY_MARGIN_MS + Math.floor(Math.random() * renewalTiming.marginJitterMs);
	private renewalError?: NodeApiError | NodeOperationError;
	/** Releases the renewal lock this client holds until its renewal ends (renewLock.ts). */
	private heldLock?: () => Promise<void>;
	private pauseUntil = 0;
	/** A renewal of this run already failed for a network reason (one more is allowed). */
	private networkRenewalFailed = false;
	/** A 403 that does not speak of the token has already cost one renewal in this run. */
	private forbiddenRenewalSpent = false;
	private readonly lanes = new Map<string, Promise<void>>();
	private readonly options: Required<ClientOptions>;

	/** How many token renewals this client caused (for logs and tests). */
	renewals = 0;
	/** How many times this client took a token another execution had stored (for tests). */
	adoptions = 0;
	/** How many times this client held the cross-process renewal lock (for tests). */
	lockHolds = 0;

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
		if (this.credentials) return this.credentials;
		this.loading ??= (async () => {
			const data = await this.ctx.getCredentials(this.profile.credentialType);
			// Our own working copy: n8n merges renewed tokens into the object we pass it.
			const copy = { ...data };
			this.changedInputs = this.profile.inputsChanged?.(copy) ?? false;
			this.credentials = copy;
			return copy;
		})();
		return await this.loading;
	}

	/** Secrets of the credential, for redaction by callers that build their own messages. */
	async secrets(): Promise<unknown[]> {
		const credentials = await this.getCredentials();
		return this.secretsOf(credentials);
	}

	private secretsOf(credentials: ICredentialDataDecryptedObject): unknown[] {
		const list = this.profile.secrets(credentials);
		if (this.profile.tokenProperty) list.push(credentials[this.profile.tokenProperty]);
		return list;
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
		if (!options.lane) return await this.sendWithRetries(request, options);
		const previous = this.lanes.get(options.lane) ?? Promise.resolve();
		let release!: () => void;
		const mine = new Promise<void>((resolve) => (release = resolve));
		const tail = previous.then(() => mine);
		this.lanes.set(options.lane, tail);
		await previous;
		try {
			return await this.sendWithRetries(request, options);
		} finally {
			release();
			if (this.lanes.get(options.lane) === tail) this.lanes.delete(options.lane);
		}
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
		if (response.statusCode < 200 || response.statusCode >= 300) throw await this.errorFor(response, options);
		if (binary || typeof response.body !== 'string' || response.body.trim() === '') return;
		if (looksLikeHtml(response.body)) throw await this.errorFor(response, options);
		if (/json/i.test(header(response.headers, 'content-type') ?? '')) {
			const message = `${this.profile.vendor} answered ${options.what ?? 'the request'} with JSON that could not be read (${statusLabel(response.statusCode)})`;
			throw new NodeApiError(this.node, { message }, {
				message,
				description: `The answer was cut off or damaged on its way. Run the workflow again; if it persists, check the "${this.profile.hostField}" field of the credential and any proxy in between.`,
				httpCode: String(response.statusCode),
				itemIndex: options.itemIndex,
			});
		}
	}

	/** A NodeApiError for a non-2xx answer: status, the vendor's words, what to check. */
	async errorFor(
		response: VendorResponse,
		options: SendOptions,
		hint?: string,
	): Promise<NodeApiError> {
		const secrets = await this.secrets();
		const said = vendorMessage(response.body);
		const what = options.what ?? 'the request';
		const { vendor } = this.profile;
		let message: string;
		let description: string | undefined = hint;
		const auth = this.isAuthFailure(response);
		if (auth && response.renewed === false) {
			// A bare 403 after this run already tried a new token for one: a permission refusal.
			message = `${vendor} refused ${what} (${statusLabel(response.statusCode)})${said ? `: ${said}` : ''}`;
			description ??= `A new access token was already tried in this run and did not help, so this is most likely a permission: check that the ${vendor} user behind the credential may use this call, or reconnect the credential (open it and save it again) if its access was revoked.`;
		} else if (auth) {
			message = `${vendor} refused the access token for ${what} even after a new one was obtained (${statusLabel(response.statusCode)})${said ? `: ${said}` : ''}`;
			description ??= `The credential works for signing in but not for this call: check that the ${vendor} user behind the credential may use it (its permissions), or reconnect the credential (open it and save it again) if its access was revoked.`;
		} else if (response.retryAfterMs !== undefined) {
			message = `${vendor} answered ${what} with ${statusLabel(response.statusCode)} and asked to wait ${Math.round(response.retryAfterMs / 1000)} s, longer than this node waits (${Math.round(this.options.maxRetryAfterMs / 1000)} s)${said ? `: ${said}` : ''}`;
			description ??= 'The vendor is limiting requests: run the workflow again later.';
		} else if (response.statusCode === 429 || response.statusCode === 503) {
			message = `${vendor} kept answering ${statusLabel(response.statusCode)} to ${what} after ${response.attempts ?? this.options.maxRateLimitRetries + 1} tries${said ? `: ${said}` : ''}`;
			description ??=
				'The vendor is limiting requests (perhaps because of another workflow using the same account). Lower "Requests in Parallel" under Options, or run the workflow later.';
		} else if (looksLikeHtml(response.body)) {
			message = `${vendor} answered ${what} with an HTML page (${statusLabel(response.statusCode)}), not an API answer`;
			description ??=
				`Check the "${this.profile.hostField}" field of the credential: it must be the API address of ${vendor}, not a web page or a proxy login page.`;
		} else {
			message = `${vendor} refused ${what} (${statusLabel(response.statusCode)})${said ? `: ${said}` : ''}`;
		}
		return new NodeApiError(
			this.node,
			{ message: redact(message, secrets), httpCode: String(response.statusCode) },
			{
				message: redact(message, secrets),
				description: description ? redact(description, secrets) : undefined,
				httpCode: String(response.statusCode),
				itemIndex: options.itemIndex,
			},
		);
	}

	isAuthFailure(response: VendorResponse): boolean {
		return this.profile.isAuthFailure
			? this.profile.isAuthFailure(response)
			: defaultIsAuthFailure(response);
	}

	/**
	 * Whether a refused answer is worth a new token: always for a refusal that is surely about the
	 * token (401, an error envelope, a 403 that speaks of the token); for a bare 403 (perhaps a
	 * permission refusal) only the first time in this run.
	 */
	private worthRenewing(response: VendorResponse): boolean {
		if (response.statusCode !== 403 || forbiddenSpeaksOfToken(response)) return true;
		if (this.forbiddenRenewalSpent) return false;
		this.forbiddenRenewalSpent = true;
		return true;
	}

	private isIdempotent(request: IHttpRequestOptions, options: SendOptions): boolean {
		if (options.idempotent !== undefined) return options.idempotent;
		return IDEMPOTENT_METHODS.has((request.method ?? 'GET').toUpperCase());
	}

	private async sendWithRetries(
		request: IHttpRequestOptions,
		options: SendOptions,
	): Promise<VendorResponse> {
		const idempotent = this.isIdempotent(request, options);
		let renewedForThisRequest = false;
		let resentAfterAdoption = false;
		let retries = 0;
		let limitedRetries = 0;
		for (;;) {
			await this.waitForPause();
			const generation = this.generation;
			let response: VendorResponse;
			try {
				response = await this.sendOnce(request, options);
			} catch (error) {
				const code = networkErrorCode(error);
				if (code && idempotent && retries < this.options.maxRetries) {
					retries++;
					await sleep(this.backoffMs(retries));
					continue;
				}
				throw await this.wrapFailure(error, options, code);
			}
			if (
				this.profile.tokenProperty &&
				!renewedForThisRequest &&
				this.isAuthFailure(response) &&
				this.worthRenewing(response)
			) {
				// The token was refused: renew once (shared with every request that saw the same
				// token refused) and send this request again.
				renewedForThisRequest = true;
				this.markStale(generation);
				continue;
			}
			if (
				this.profile.tokenProperty &&
				this.isAuthFailure(response) &&
				this.generation === this.adoptedGeneration &&
				!resentAfterAdoption
			) {
				// The token taken from the store (another execution's) was refused too: that was
				// not a renewal of ours, so renew once more for this request.
				resentAfterAdoption = true;
				this.markStale(this.generation);
				continue;
			}
			if (renewedForThisRequest) response = { ...response, renewed: true };
			else if (this.profile.tokenProperty && this.isAuthFailure(response)) response = { ...response, renewed: false };
			const status = response.statusCode;
			const attempts = retries + limitedRetries + 1;
			if ((status === 429 || status === 503) && limitedRetries < this.options.maxRateLimitRetries) {
				limitedRetries++;
				const retryAfter = parseRetryAfter(header(response.headers, 'retry-after'));
				if (retryAfter !== undefined && retryAfter > this.options.maxRetryAfterMs) {
					return { ...response, attempts, retryAfterMs: retryAfter };
				}
				this.pause(retryAfter ?? this.backoffMs(limitedRetries));
				continue;
			}
			const transient = status === 500 || status === 502 || status === 504;
			if (transient && idempotent && retries < this.options.maxRetries) {
				retries++;
				await sleep(this.backoffMs(retries));
				continue;
			}
			return { ...response, attempts };
		}
	}

	private backoffMs(attempt: number): number {
		const base = this.options.backoffBaseMs * 2 ** (Math.min(attempt, 8) - 1);
		return Math.min(base + Math.floor(Math.random() * this.options.backoffBaseMs), 10_000);
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

	private markStale(generation: number): void {
		if (generation === this.generation) this.staleGeneration = generation;
	}

	private needsRenewal(credentials: ICredentialDataDecryptedObject): boolean {
		const property = this.profile.tokenProperty;
		if (!property) return false;
		if (this.staleGeneration === this.generation) return true;
		if (this.changedInputs) return true;
		return !this.isFresh(credentials);
	}

	/** A token is there and its stored expiry (if known) is not within the margin. */
	private isFresh(credentials: ICredentialDataDecryptedObject): boolean {
		const token = credentials[this.profile.tokenProperty as string];
		if (typeof token !== 'string' || token === '') return false;
		const expiresAt = this.profile.expiresAt?.(credentials);
		return expiresAt === undefined || expiresAt - this.marginMs > Date.now();
	}

	/**
	 * Before renewing, read the credential again from n8n's store (`getCredentials` reads the
	 * database on every call): another execution, perhaps on another worker process, may have
	 * renewed since this run read it. A stored token that differs from ours, is fresh and was
	 * obtained with the current inputs is adopted instead of renewing. When the store has nothing
	 * better, take the cross-process renewal lock (renewLock.ts): the holder reads the store once
	 * more and renews only if it still has nothing better (the lock is released when its renewal
	 * ends, after n8n stored the new token); the others wait for that token and adopt it. Where
	 * no lock can be had, wait a random moment and read once more instead. Whatever is read last
	 * becomes our copy, so a renewal starts from the newest stored state.
	 */
	private async recheckStore(current: ICredentialDataDecryptedObject): Promise<void> {
		const ours = current[this.profile.tokenProperty as string];
		const startGeneration = this.generation;
		let done!: () => void;
		this.renewal = new Promise<void>((resolve) => (done = resolve));
		try {
			if (await this.adoptFromStore(ours)) return;
			const lock = this.renewLock ? processedItemsLock(this.ctx.helpers) : undefined;
			const outcome = await lockOrAdopt(lock, async () => await this.adoptFromStore(ours));
			if (outcome.kind === 'adopted') return;
			if (outcome.kind === 'held') {
				this.lockHolds++;
				// The previous holder may have stored its token just before releasing the row.
				if (await this.adoptFromStore(ours)) await outcome.release();
				else this.heldLock = outcome.release;
				return;
			}
			if (outcome.reason === 'unavailable' && renewalTiming.renewalJitterMs > 0) {
				await sleep(Math.floor(Math.random() * renewalTiming.renewalJitterMs));
				await this.adoptFromStore(ours);
			}
		} finally {
			if (this.generation === startGeneration) this.recheckedGeneration = startGeneration;
			this.renewal = undefined;
			done();
		}
	}

	/**
	 * Reads the store; adopts its token when it differs from `ours`, is fresh and matches the
	 * current inputs. Otherwise keeps the newest stored state (fingerprint, refresh token) with
	 * our refused or missing token, still marked as needing a renewal.
	 */
	private async adoptFromStore(ours: ICredentialDataDecryptedObject[string] | undefined): Promise<boolean> {
		const property = this.profile.tokenProperty as string;
		const stored = await this.readStore();
		if (stored === undefined) return false;
		const inputsChanged = this.profile.inputsChanged?.(stored) ?? false;
		if (stored[property] !== ours && !inputsChanged && this.isFresh(stored)) {
			this.adoptions++;
			this.adopt(stored);
			this.adoptedGeneration = this.generation;
			return true;
		}
		this.credentials = { ...stored, [property]: ours ?? '' };
		this.changedInputs = inputsChanged;
		return false;
	}

	private async releaseLock(): Promise<void> {
		const release = this.heldLock;
		this.heldLock = undefined;
		if (release) await release();
	}

	/** The credential as stored now, or undefined when it cannot be read (renew as before). */
	private async readStore(): Promise<ICredentialDataDecryptedObject | undefined> {
		try {
			return { ...(await this.ctx.getCredentials(this.profile.credentialType)) };
		} catch {
			return undefined;
		}
	}

	private async sendOnce(
		request: IHttpRequestOptions,
		options: SendOptions,
	): Promise<VendorResponse> {
		if (!this.profile.tokenProperty) return await this.raw(request, undefined, options.what);
		for (;;) {
			const credentials = await this.getCredentials();
			if (this.renewal) {
				await this.renewal;
				continue;
			}
			if (this.renewalError !== undefined) {
				await this.releaseLock();
				throw this.renewalError;
			}
			if (!this.needsRenewal(credentials)) {
				await this.releaseLock();
				return await this.raw(request, credentials, options.what);
			}
			if (this.recheckedGeneration !== this.generation) {
				await this.recheckStore(credentials);
				continue;
			}
			return await this.renewWith(request, credentials, options);
		}
	}

	/**
	 * Sends `request` with the token property blanked, so that n8n runs the credential's
	 * `preAuthentication`, persists its result and merges it into the object we pass. Every other
	 * request waits for this one.
	 */
	private async renewWith(
		request: IHttpRequestOptions,
		credentials: ICredentialDataDecryptedObject,
		options: SendOptions,
	): Promise<VendorResponse> {
		const property = this.profile.tokenProperty as string;
		const fresh: ICredentialDataDecryptedObject = { ...credentials, [property]: '' };
		let done!: () => void;
		this.renewal = new Promise<void>((resolve) => (done = resolve));
		this.renewals++;
		const outcome = await this.raw(request, fresh, options.what).then(
			(response) => ({ response }),
			(error: unknown) => ({ error }),
		);
		const renewed = typeof fresh[property] === 'string' && fresh[property] !== '';
		let failure: NodeApiError | NodeOperationError | undefined;
		if (renewed) {
			this.adopt(fresh);
		} else if ('error' in outcome) {
			failure = await this.wrapFailure(outcome.error, options, undefined, true);
			// preAuthentication failed: every later request of this run fails the same way
			// instead of asking the vendor for a token again and again. Except once for a
			// network failure (the token endpoint timed out even after its own retries): the next
			// request tries one fresh renewal, so one bad moment does not fail every remaining item.
			const network = findTokenError(outcome.error)?.kind === 'network';
			if (network && !this.networkRenewalFailed) this.networkRenewalFailed = true;
			else this.renewalError = failure;
		}
		// n8n has stored the new token by now: executions waiting for it find it.
		await this.releaseLock();
		this.renewal = undefined;
		done();
		if ('response' in outcome) return outcome.response;
		// Either the renewal failed (a clean error for the user), or only the request itself
		// failed after a successful renewal (the caller decides whether to retry).
		throw failure ?? outcome.error;
	}

	private adopt(fresh: ICredentialDataDecryptedObject): void {
		this.credentials = fresh;
		this.changedInputs = false;
		this.generation++;
	}

	/**
	 * One request with the credential, redirects included: n8n is told never to follow one
	 * (it would re-send the credential, and on 307/308 the body, to another host); a same-origin
	 * redirect is followed here with the credential, any other is refused (see redirect.ts).
	 */
	private async raw(
		request: IHttpRequestOptions,
		credentials: ICredentialDataDecryptedObject | undefined,
		what?: string,
	): Promise<VendorResponse> {
		let current = request;
		for (let hop = 0; ; hop++) {
			const response = await this.rawOnce(current, credentials);
			const decision = decideRedirect(current, response, hop);
			if (decision.kind === 'none') return response;
			if (decision.kind === 'follow') {
				current = decision.request;
				continue;
			}
			const { message, description } = redirectMessage(
				decision,
				this.profile.vendor,
				what ?? 'the request',
				this.profile.hostField,
			);
			throw new RedirectRefusedError(message, description, decision.status);
		}
	}

	private async rawOnce(
		request: IHttpRequestOptions,
		credentials: ICredentialDataDecryptedObject | undefined,
	): Promise<VendorResponse> {
		const options: IHttpRequestOptions = {
			...NO_REDIRECTS,
			...request,
			// authenticate() may add to these: never let it touch the caller's objects.
			headers: { ...(request.headers ?? {}) },
			qs: request.qs ? { ...request.qs } : undefined,
			body:
				request.body && typeof request.body === 'object' && !Buffer.isBuffer(request.body)
					? Array.isArray(request.body)
						? [...request.body]
						: { ...(request.body as IDataObject) }
					: request.body,
			timeout: request.timeout ?? this.options.timeoutMs,
			returnFullResponse: true,
		};
		if (options.qs === undefined) delete options.qs;
		if (options.body === undefined) delete options.body;
		const node = this.node;
		const reference = node.credentials?.[this.profile.credentialType];
		if (credentials) {
			// Our own token handling: HTTP errors come back as answers, not as n8n's 401 path.
			options.ignoreHttpStatusErrors = true;
			const full = (await this.ctx.helpers.httpRequestWithAuthentication.call(
				this.ctx,
				this.profile.credentialType,
				options,
				{
					credentialsDecrypted: {
						id: reference?.id ?? '',
						name: reference?.name ?? '',
						type: this.profile.credentialType,
						data: credentials,
					},
				},
			)) as { statusCode: number; headers: Record<string, unknown>; body: unknown };
			return { statusCode: full.statusCode, headers: full.headers ?? {}, body: full.body };
		}
		// OAuth2: n8n refreshes on its own when a request throws one of `tokenExpiredStatusCode`
		// (then resends once), so let errors throw and turn an HTTP error back into an answer here.
		// A 403 counts as a refused token too, until one 403 has survived a refresh in this run
		// (then it is a permission refusal, and further 403s cost no refresh).
		const forbiddenRefreshes = !this.forbiddenRenewalSpent;
		const outcome = await this.ctx.helpers.httpRequestWithAuthentication
			.call(this.ctx, this.profile.credentialType, options, {
				oauth2: { tokenExpiredStatusCode: forbiddenRefreshes ? [401, 403] : 401 },
			})
			.then(
				(full: { statusCode: number; headers: Record<string, unknown>; body: unknown }) => ({
					response: { statusCode: full.statusCode, headers: full.headers ?? {}, body: full.body },
				}),
				(error: unknown) => ({ error, response: responseOf(error) }),
			);
		if (outcome.response) {
			const status = outcome.response.statusCode;
			if (status === 401 || status === 403) {
				// n8n refreshed and resent for a 401 (and a 403 when asked to): the answer is the
				// resent request's.
				const renewed = status === 401 || forbiddenRefreshes;
				if (status === 403 && forbiddenRefreshes) this.forbiddenRenewalSpent = true;
				return { ...outcome.response, renewed };
			}
			return outcome.response;
		}
		throw (outcome as { error: unknown }).error;
	}

	/** One clean NodeApiError for a failure without an answer: no request config, no secrets. */
	private async wrapFailure(
		error: unknown,
		options: SendOptions,
		code: string | undefined,
		duringRenewal = false,
	): Promise<NodeApiError | NodeOperationError> {
		if (error instanceof RedirectRefusedError) {
			return new NodeApiError(
				this.node,
				{ message: error.message, httpCode: String(error.status) },
				{ message: error.message, description: error.description, httpCode: String(error.status), itemIndex: options.itemIndex },
			);
		}
		if (error instanceof NodeOperationError) {
			// n8n's own sentences, e.g. OAuth2's "The credential … needs to be reconnected."
			if (error.context.itemIndex === undefined) error.context.itemIndex = options.itemIndex;
			return error;
		}
		const secrets = this.credentials ? this.secretsOf(this.credentials) : [];
		const { vendor } = this.profile;
		let message: string;
		let description: string | undefined;
		if (code && !duringRenewal) {
			message = `Could not reach ${vendor} for ${options.what ?? 'the request'}: ${describeNetworkError(code)}`;
			description = `Check the "${this.profile.hostField}" field of the credential, and that ${vendor} can be reached from the n8n server.`;
		} else {
			// Errors thrown by preAuthentication are full sentences written for the user.
			const tokenError = findTokenError(error);
			if (tokenError?.kind === 'input') {
				return new NodeOperationError(this.node, redact(tokenError.message, secrets), {
					itemIndex: options.itemIndex,
					description: 'Open the credential and correct the field named above.',
				});
			}
			message = innermostMessage(error) || `${vendor} could not be reached`;
			if (code && !message.includes(describeNetworkError(code)))
				message = `${message} (${describeNetworkError(code)})`;
		}
		const safe = redact(message, secrets);
		return new NodeApiError(
			this.node,
			{ message: safe },
			{
				message: safe,
				description: description ? redact(description, secrets) : undefined,
				itemIndex: options.itemIndex,
			},
		);
	}
}

/** The TokenError a credential's preAuthentication threw, inside n8n's wrapping, if any. */
function findTokenError(error: unknown): TokenError | undefined {
	let current: unknown = error;
	for (let depth = 0; depth < 6 && current instanceof Error; depth++) {
		if (current instanceof TokenError) return current;
		current = (current as Error & { cause?: unknown }).cause;
	}
	return undefined;
}

export type { IHttpRequestMethods };
