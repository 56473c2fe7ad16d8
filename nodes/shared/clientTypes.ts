/**
 * The types of the HTTP path (client.ts and the modules it is built from): what the operations
 * see (VendorResponse, VendorProfile, SendOptions, ClientOptions) and how the parts are wired
 * together. Every type used by more than one module lives here, so no module imports another
 * for its types alone and no two modules import each other.
 */
import type {
	ICredentialDataDecryptedObject,
	IExecuteFunctions,
	IHookFunctions,
	IHttpRequestOptions,
	ILoadOptionsFunctions,
	INode,
	NodeApiError,
	NodeOperationError,
} from 'n8n-workflow';

export type RequestContext = IExecuteFunctions | ILoadOptionsFunctions | IHookFunctions;

export interface VendorResponse {
	statusCode: number;
	headers: Record<string, unknown>;
	body: unknown;
	/** How many times the request was sent (set by the client). */
	attempts?: number;
	/** Set when the vendor asked to wait longer than the client is willing to. */
	retryAfterMs?: number;
	/** True when a new token was obtained for this request after the vendor refused the old one. */
	renewed?: boolean;
}

/** What the client must know about one vendor and its credential type. */
export interface VendorProfile {
	/** Shown in messages: "B2COPY answered …". */
	vendor: string;
	credentialType: string;
	/** The credential field holding the vendor's address, named in messages. */
	hostField: string;
	/**
	 * The credential's hidden `expirable` property. Left out for OAuth2 credentials, whose tokens
	 * n8n manages itself (refresh on 401, single flight, reconnect errors).
	 */
	tokenProperty?: string;
	/** Epoch milliseconds after which the stored token is known to be dead, if known. */
	expiresAt?(credentials: ICredentialDataDecryptedObject): number | undefined;
	/** True when the stored token was obtained with inputs the user has edited since. */
	inputsChanged?(credentials: ICredentialDataDecryptedObject): boolean;
	/**
	 * True when this answer means "your token was refused". Default: HTTP 401, or 403 (vendors
	 * answer a dead token with either). A 403 whose message does not speak of the token may also
	 * be a permission refusal: the client renews on such a 403 once per run only, so a permission
	 * problem costs at most one renewal, never a loop.
	 */
	isAuthFailure?(response: VendorResponse): boolean;
	/** Values that must never appear in a message (keys, secrets, tokens). */
	secrets(credentials: ICredentialDataDecryptedObject): unknown[];
	/** The vendor's base URL from the credential, normalised (throws a TokenError when invalid). */
	baseUrl(credentials: ICredentialDataDecryptedObject): string;
}

export interface SendOptions {
	itemIndex: number;
	/**
	 * True when sending the request twice has the same effect as sending it once. Defaults to
	 * true for GET, HEAD, PUT, DELETE and OPTIONS, false otherwise.
	 */
	idempotent?: boolean;
	/** Requests with the same lane never run at the same time. */
	lane?: string;
	/** Words for messages: "B2COPY refused <what>". Default: "the request". */
	what?: string;
}

export interface ClientOptions {
	/** Tries after the first for (idempotent) 5xx answers and network failures. */
	maxRetries?: number;
	/**
	 * Tries after the first for 429 and 503: the vendor says the request was not processed, so
	 * resending is always safe; a busy vendor may refuse many tries in a row.
	 */
	maxRateLimitRetries?: number;
	/** Per-request timeout in milliseconds. */
	timeoutMs?: number;
	/** The longest single wait a Retry-After may impose before the client gives up. */
	maxRetryAfterMs?: number;
	/** Base of the exponential back-off when the vendor gives no Retry-After. */
	backoffBaseMs?: number;
	/**
	 * Renew under the cross-process lock in this node's processed-items row (renewLock.ts).
	 * False for a node run whose node-scope row is used for something else (the call sync's
	 * claim lock): never take the lock there.
	 */
	renewLock?: boolean;
}

/** A failure without an answer, shaped for the user (failures.ts). */
export type ShapedFailure = NodeApiError | NodeOperationError;

/**
 * "A 403 that does not speak of the token has already cost one renewal in this run": one flag
 * per client, shared by the OAuth2 path (send.ts) and the token renewal (renewal.ts).
 */
export interface ForbiddenBudget {
	spent: boolean;
}

/** One request with the credential, redirects included (send.ts); no credential for OAuth2. */
export type SendRaw = (
	request: IHttpRequestOptions,
	credentials: ICredentialDataDecryptedObject | undefined,
	what?: string,
) => Promise<VendorResponse>;

/** What the token renewal (renewal.ts) needs from the rest of the client. */
export interface RenewalLink {
	raw: SendRaw;
	/** Shapes a failed renewal for the user (failures.ts). */
	renewalFailure(error: unknown, options: SendOptions): Promise<ShapedFailure>;
	/** Whether renewals take the cross-process lock (the client's `renewLock`, read each time). */
	lockWanted(): boolean;
	forbidden: ForbiddenBudget;
}

/** The token state the retry loop (retry.ts) reads and marks (renewal.ts keeps it). */
export interface TokenGate {
	/** Bumped whenever a new token is taken (renewed or adopted). */
	readonly generation: number;
	/** The generation whose token was taken from the store rather than renewed by this client. */
	readonly adoptedGeneration: number;
	/** The token of `generation` was refused: the next request renews (once for all). */
	markStale(generation: number): void;
	/** Whether a refused answer is worth a new token (a bare 403 only once per run). */
	worthRenewing(response: VendorResponse): boolean;
	/** Sends through the token gate: renews first when the token is missing, stale or expired. */
	send(request: IHttpRequestOptions, options: SendOptions): Promise<VendorResponse>;
}

/** What the retry loop (retry.ts) needs from the rest of the client. */
export interface RetryLink {
	/** True when the client renews tokens itself (the profile has a token property). */
	renews: boolean;
	tokens: TokenGate;
	isAuthFailure(response: VendorResponse): boolean;
	/** Shapes a failure without an answer for the user (failures.ts). */
	failure(error: unknown, options: SendOptions, code: string | undefined): Promise<ShapedFailure>;
}

/** What error shaping (failures.ts) needs to know about the client. */
export interface ShapingFacts {
	node(): INode;
	profile: VendorProfile;
	limits: Pick<Required<ClientOptions>, 'maxRateLimitRetries' | 'maxRetryAfterMs'>;
	/** Secrets of the credential as read so far (none before it was read). */
	knownSecrets(): unknown[];
	/** Secrets of the credential, reading it first when needed. */
	secrets(): Promise<unknown[]>;
	isAuthFailure(response: VendorResponse): boolean;
}
