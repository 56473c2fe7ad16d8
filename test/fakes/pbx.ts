/**
 * A strict fake of the Ringme/Telphin-style virtual PBX (docs/vendors.md §2, seed 001): OAuth2
 * (authorization code for public apps, client credentials for trusted apps, refresh-token
 * rotation), the REST API under `/api/ver1.0/` and extension event webhooks.
 *
 * Decisions where the vendor documentation is silent (the fake is an executable spec):
 * - Token endpoint: `application/x-www-form-urlencoded` only; client credentials in the body
 *   (a Basic header → 401 invalid_client unless `acceptBasicClientAuth`); a repeated parameter →
 *   400 invalid_request; `scope` with client_credentials → 400 invalid_scope (the docs say omit
 *   it). OAuth error bodies are exactly `{"error": "..."}`. Dead refresh token → 401
 *   invalid_grant (documented); bad/used/expired code → 400 invalid_grant (RFC 6749).
 * - API errors are `{"message": "..."}`. A `client_id` path segment other than the user's own
 *   (or `@me`) → 403. A trailing slash is optional on every API route.
 * - Statistics (call_history list/one, record list): at most one in flight per client, the
 *   others → 429; each takes `statsDelayMs`. Datetimes `YYYY-MM-DD HH:MM:SS` (GMT, a real
 *   date), both required, the window is inclusive at both ends on the call's start time.
 *   page ≥ 1 (default 1), per_page 1..500 (default 20), order asc|desc (default desc); the
 *   order is by start time, then by generation sequence.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import {
	CONTROL_PREFIX,
	FakeServer,
	json,
	parseBasic,
	parseBearer,
	fireFirst,
	readJsonObject,
	sleep,
} from './common';
import type { FakeRequest, FaultMatch, MatchRule, Query } from './common';

export const PBX_PATHS = {
	authorize: '/oauth/authorize',
	token: '/oauth/token',
	api: '/api/ver1.0',
	storage: '/storage/',
	state: '/__fake/state',
	control: '/__fake/control',
} as const;

export const PBX_EVENT_TYPES = [
	'dial-in',
	'dial-out',
	'answer',
	'hangup',
	'message-in',
	'message-out',
	'voicemail',
] as const;
export type PbxEventType = (typeof PBX_EVENT_TYPES)[number];

export const PBX_STATS_CONCURRENT_MESSAGE =
	'Stats request already exists, concurrent request not allowed';
export const PBX_MAX_PER_PAGE = 500;
export const PBX_DEFAULT_PER_PAGE = 20;

export type PbxGrantType = 'authorization_code' | 'refresh_token' | 'client_credentials';
export type PbxExtensionType = 'phone' | 'queue' | 'ivr' | 'fax';
export type PbxFlow = 'in' | 'out' | 'internal';
export type PbxResult = 'answered' | 'noanswer' | 'busy' | 'cancel' | 'failed';
const HANGUP_CAUSES: Record<PbxResult, string> = {
	answered: 'NORMAL_CLEARING',
	noanswer: 'NO_ANSWER',
	busy: 'USER_BUSY',
	cancel: 'ORIGINATOR_CANCEL',
	failed: 'NO_ROUTE_DESTINATION',
};

export interface PbxPublicApp {
	clientId: string;
	clientSecret: string;
	redirectUris: string[];
	name?: string;
}

/** A trusted app that already exists (owned by the PBX user), e.g. to skip the code flow. */
export interface PbxTrustedAppSeed {
	clientId: string;
	clientSecret: string;
	name?: string;
}

export interface PbxUser {
	id: number;
	login: string;
	client_id: number;
	dealer_id: number | null;
	admin: boolean;
	extension_id: number | null;
	extension_group_id: number | null;
	timezone: string;
	access: string;
	extra_params: Record<string, unknown>;
}

export interface PbxExtension {
	id: number;
	name: string;
	type: PbxExtensionType;
	label: string;
	client_id: number;
	extension_group_id: number | null;
	status: string;
	caller_id_name: string;
}

export interface PbxCdr {
	record_uuid: string;
	extension_id: number;
	start_time_gmt: string;
	end_time_gmt: string;
	duration: number;
}

export interface PbxCall {
	call_uuid: string;
	client_id: number;
	flow: PbxFlow;
	result: PbxResult;
	start_time_gmt: string;
	answer_time_gmt: string | null;
	end_time_gmt: string;
	/** Seconds, start → end. */
	duration: number;
	/** Seconds, answer → end (0 when not answered). */
	bridged_duration: number;
	from_username: string;
	to_username: string;
	extension_id: number;
	did_number: string | null;
	hangup_cause: string;
	/** One leg with a recording for answered calls, empty otherwise. */
	cdr: PbxCdr[];
}

/**
 * A call as call history shows it while it is still in progress (listing.listInProgress): no
 * hangup time, the duration so far, no final result (`inProgressResult`), no hangup cause, no
 * recording yet.
 */
export type PbxCallInProgress = Omit<PbxCall, 'end_time_gmt' | 'result' | 'hangup_cause'> & {
	end_time_gmt: null;
	result: string | null;
	hangup_cause: null;
};

/** What addCallsAt takes: a start, a length, and optionally who called whom and how it ended. */
export interface PbxCallSpec {
	startMs: number;
	durationSec: number;
	flow?: PbxFlow;
	/** The caller (for an inbound call, the external party). */
	from?: string;
	/** The called party (for an outbound call, the external party). */
	to?: string;
	result?: PbxResult;
}

export interface PbxSubscription {
	id: number;
	extension_id: number;
	url: string;
	event_type: PbxEventType;
	method: 'POST';
	/** 'api' when created through `POST /extension/{id}/event/`, else 'external'. */
	createdBy: 'api' | 'external';
}

export interface PbxCallbackRecord {
	extensionId: number;
	body: Record<string, unknown>;
	call_api_id: string;
	call_id: string;
	at: number;
}

export interface PbxDelivery {
	subscriptionId: number;
	url: string;
	/** HTTP status of the receiver, null when the POST failed (the error is in `error`). */
	status: number | null;
	error?: string;
}

export interface FakePbxOptions {
	publicApps: PbxPublicApp[];
	trustedApps?: PbxTrustedAppSeed[];
	user?: Partial<PbxUser>;
	/** Default: 3 phones, a queue, an IVR and a fax (ids 1001..1006). */
	extensions?: PbxExtension[];
	/** Default false: a Basic Authorization header at /oauth/token → 401 invalid_client. */
	acceptBasicClientAuth?: boolean;
	/** Access token lifetime, default 3600. */
	tokenLifetimeSec?: number;
	/** Authorization code lifetime, default 60. */
	codeLifetimeSec?: number;
	/** Name of the secret in the application creation answer, default 'secret'. */
	secretField?: 'secret' | 'client_secret';
	/** Generated calls, default 5000. */
	callCount?: number;
	/** The calls are spread over this many days ending at start-up, default 30. */
	periodDays?: number;
	/** Seed of the deterministic generator, default 'pbx'. */
	seed?: string;
	/** Time every statistics request takes, default 20 ms. */
	statsDelayMs?: number;
	/** When set, 429 answers carry `Retry-After: <n>`. Default: no header. */
	statsRetryAfterSec?: number;
	/** Default 10 (0 refuses every new subscription). */
	maxSubscriptionsPerExtension?: number;
	/** A cap over all of the client's extensions together. Default: none. */
	maxSubscriptionsPerClient?: number;
	/**
	 * How a new subscription beyond a cap is refused (the PBX's cap and its answer are UNKNOWN).
	 * Default 400 `{"message": "Subscription limit reached"}`; see SUBSCRIPTION_LIMIT_ANSWERS.
	 */
	subscriptionLimitAnswer?: PbxRefusalAnswer;
	/**
	 * The status a dead, unknown or missing access token gets: 401 (default, with
	 * `WWW-Authenticate: Bearer`) or 403 with "Access token is invalid or expired" (which of the
	 * two the PBX uses is unknown).
	 */
	deadTokenStatus?: 401 | 403;
	/**
	 * A server cap on list pages (call history, records, extensions) below what per_page asks,
	 * e.g. 50: served silently, pages numbered by the size served. Default: none.
	 */
	pageCap?: number;
	/** Timeout of each webhook POST made by fireEvent / fireRaw, default 5000 ms. */
	deliveryTimeoutMs?: number;
	port?: number;
	/** Clock in epoch milliseconds (default Date.now). */
	now?: () => number;
	/** Call history lists a call only once it has ended (end time ≤ the clock). Default false. */
	listAtHangup?: boolean;
	/**
	 * Call history lists a call from its start (start ≤ the clock), while in progress as a
	 * PbxCallInProgress. Default false (every call is listed as ended, whatever the clock says).
	 * `listAtHangup` takes precedence.
	 */
	listInProgress?: boolean;
	/** The `result` of a call in progress (default null; e.g. 'in_progress'). */
	inProgressResult?: string | null;
	/** Serve at most this many calls per call-history page, whatever per_page asked (silently). */
	perPageCap?: number;
	/** Refuse (400) a call-history per_page above this. Default PBX_MAX_PER_PAGE. */
	maxPerPage?: number;
	/** Called before each call-history list answer with its 1-based number (to add calls while a run pages). */
	beforeListPage?: (listRequest: number) => void;
}

export interface PbxSettings {
	acceptBasicClientAuth: boolean;
	tokenLifetimeSec: number;
	codeLifetimeSec: number;
	secretField: 'secret' | 'client_secret';
	statsDelayMs: number;
	statsRetryAfterSec: number | undefined;
	maxSubscriptionsPerExtension: number;
	maxSubscriptionsPerClient: number | undefined;
	subscriptionLimitAnswer: PbxRefusalAnswer;
	deliveryTimeoutMs: number;
	deadTokenStatus: 401 | 403;
	pageCap: number | undefined;
	/** true: /oauth/authorize redirects with error=access_denied (the user clicked "Deny"). */
	denyAuthorization: boolean;
}

export interface PbxCounter {
	attempted: number;
	ok: number;
}

export interface PbxCounters {
	/** GET /oauth/authorize; ok = a code was issued. */
	authorize: PbxCounter;
	/** Every POST /oauth/token that reached the vendor logic. */
	tokenRequests: number;
	/** By supported grant_type (attempted once the grant type is known). */
	grants: Record<PbxGrantType, PbxCounter>;
	/** OAuth refusals at /oauth/token by `error`. */
	tokenRefusals: Record<string, number>;
	/** Requests to known /api/ver1.0 routes; ok = the Bearer token was accepted. */
	apiRequests: number;
	apiOk: number;
	apiUnauthorized: number;
	applicationsCreated: number;
	/** Statistics requests with an accepted token (refused ones included). */
	statsRequests: number;
	statsConcurrentRefusals: number;
	/** Most same-client statistics requests seen in flight at once (a refused one included). */
	statsMaxConcurrent: number;
	callbacks: number;
	subscriptionsCreated: number;
	subscriptionsDeleted: number;
	/** New subscriptions refused for a cap. */
	subscriptionsRefused: number;
	eventsDelivered: number;
	recordDownloads: number;
	storageDownloads: number;
}

interface AppRecord {
	clientId: string;
	secret: string;
	name: string;
	type: 'public' | 'trusted';
	redirectUris: string[];
	userId: number;
}

interface CodeRecord {
	clientId: string;
	redirectUri: string;
	userId: number;
	expMs: number;
	used: boolean;
}

interface AccessRecord {
	clientId: string;
	userId: number;
	grant: PbxGrantType;
	expMs: number;
	forcedExpired: boolean;
}

interface RefreshRecord {
	clientId: string;
	userId: number;
	state: 'live' | 'used' | 'revoked';
}

interface StoredCall {
	seq: number;
	startMs: number;
	call: PbxCall;
}

class OAuthRefusal {
	constructor(
		readonly status: number,
		readonly error: string,
	) {}
}

class ApiRefusal {
	constructor(
		readonly status: number,
		readonly message: string,
		readonly headers: Record<string, string> = {},
		/** The whole body, when not `{"message": message}`. */
		readonly body?: unknown,
	) {}
}

/** A refusal as the PBX might word it: status and JSON body. */
export interface PbxRefusalAnswer {
	status: number;
	body: unknown;
}

/**
 * Plausible answers of the PBX to a subscription beyond its cap (which one it uses is UNKNOWN):
 * its usual `{"message"}` error with 400, 403 (tried once more with a new token by the client),
 * 409 or 422, an OAuth-style `{"error"}` body, and a message that carries the cap.
 */
export const SUBSCRIPTION_LIMIT_ANSWERS: Record<string, PbxRefusalAnswer> = {
	message400: { status: 400, body: { message: 'Subscription limit reached' } },
	forbidden403: { status: 403, body: { message: 'Maximum number of event subscriptions exceeded' } },
	conflict409: { status: 409, body: { error: 'too_many_subscriptions', error_description: 'Too many event subscriptions for this extension' } },
	unprocessable422: { status: 422, body: { message: 'Limit of 10 events per extension is exceeded' } },
};

const DATETIME_RE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;
const EXTENSION_TYPES: PbxExtensionType[] = ['phone', 'queue', 'ivr', 'fax'];

/** `YYYY-MM-DD HH:MM:SS` in GMT. */
export function formatPbxDatetime(ms: number): string {
	return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** Epoch ms of a strict `YYYY-MM-DD HH:MM:SS` GMT string (a real calendar date), else undefined. */
export function parsePbxDatetime(value: string): number | undefined {
	const m = DATETIME_RE.exec(value);
	if (!m) return undefined;
	const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
	const ms = Date.UTC(y, mo - 1, d, h, mi, s);
	return formatPbxDatetime(ms) === value ? ms : undefined;
}

function emptyCounters(): PbxCounters {
	return {
		authorize: { attempted: 0, ok: 0 },
		tokenRequests: 0,
		grants: {
			authorization_code: { attempted: 0, ok: 0 },
			refresh_token: { attempted: 0, ok: 0 },
			client_credentials: { attempted: 0, ok: 0 },
		},
		tokenRefusals: {},
		apiRequests: 0,
		apiOk: 0,
		apiUnauthorized: 0,
		applicationsCreated: 0,
		statsRequests: 0,
		statsConcurrentRefusals: 0,
		statsMaxConcurrent: 0,
		callbacks: 0,
		subscriptionsCreated: 0,
		subscriptionsDeleted: 0,
		subscriptionsRefused: 0,
		eventsDelivered: 0,
		recordDownloads: 0,
		storageDownloads: 0,
	};
}

function hash(...parts: Array<string | number>): Buffer {
	return createHash('sha256').update(parts.join(':')).digest();
}

function uuidFrom(digest: Buffer): string {
	const h = Buffer.from(digest.subarray(0, 16));
	h[6] = (h[6] & 0x0f) | 0x40;
	h[8] = (h[8] & 0x3f) | 0x80;
	const x = h.toString('hex');
	return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** mulberry32: a small deterministic PRNG. */
function prng(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

const token = (bytes = 24): string => randomBytes(bytes).toString('base64url');
const hexId = (): string => randomBytes(16).toString('hex');

function defaultExtensions(clientId: number): PbxExtension[] {
	const prefix = String(clientId).padStart(6, '0');
	const make = (
		id: number,
		short: string,
		type: PbxExtensionType,
		label: string,
	): PbxExtension => ({
		id,
		name: `${prefix}*${short}`,
		type,
		label,
		client_id: clientId,
		extension_group_id: null,
		status: 'active',
		caller_id_name: label,
	});
	return [
		make(1001, '101', 'phone', 'Reception'),
		make(1002, '102', 'phone', 'Sales'),
		make(1003, '103', 'phone', 'Support'),
		make(1004, '200', 'queue', 'Main queue'),
		make(1005, '300', 'ivr', 'Main menu'),
		make(1006, '400', 'fax', 'Fax'),
	];
}

export class FakePbx extends FakeServer {
	/** Live settings; tests may change them between requests. */
	readonly settings: PbxSettings;
	readonly user: PbxUser;

	private readonly now: () => number;
	/** Call-history listing options (see FakePbxOptions); may be changed between runs. */
	readonly listing: {
		listAtHangup: boolean;
		listInProgress: boolean;
		inProgressResult: string | null;
		perPageCap?: number;
		maxPerPage: number;
		beforeListPage?: (listRequest: number) => void;
		requests: number;
	};
	private readonly seed: string;
	private readonly signingKey = randomBytes(32);
	private readonly apps = new Map<string, AppRecord>();
	private readonly codes = new Map<string, CodeRecord>();
	private readonly accessTokens = new Map<string, AccessRecord>();
	private readonly refreshTokens = new Map<string, RefreshRecord>();
	private readonly createdSecrets: string[] = [];
	private readonly extensionList: PbxExtension[];
	private readonly calls: StoredCall[] = [];
	private readonly callsByUuid = new Map<string, StoredCall>();
	private readonly recordToCall = new Map<string, StoredCall>();
	private readonly audioCache = new Map<string, Buffer>();
	private readonly subs: PbxSubscription[] = [];
	private readonly callbackLog: PbxCallbackRecord[] = [];
	private readonly statsInFlight = new Map<string, number>();
	private nextSubscriptionId = 1;
	private lostAnswers: MatchRule[] =
		[];
	private counts: PbxCounters = emptyCounters();
	private expireAfter: number | undefined;

	constructor(options: FakePbxOptions) {
		super(undefined, { name: 'PBX' });
		this.now = options.now ?? Date.now;
		this.listing = {
			listAtHangup: options.listAtHangup ?? false,
			listInProgress: options.listInProgress ?? false,
			inProgressResult: options.inProgressResult ?? null,
			perPageCap: options.perPageCap,
			maxPerPage: options.maxPerPage ?? PBX_MAX_PER_PAGE,
			beforeListPage: options.beforeListPage,
			requests: 0,
		};
		this.seed = options.seed ?? 'pbx';
		this.settings = {
			acceptBasicClientAuth: options.acceptBasicClientAuth ?? false,
			tokenLifetimeSec: options.tokenLifetimeSec ?? 3600,
			codeLifetimeSec: options.codeLifetimeSec ?? 60,
			secretField: options.secretField ?? 'secret',
			statsDelayMs: options.statsDelayMs ?? 20,
			statsRetryAfterSec: options.statsRetryAfterSec,
			maxSubscriptionsPerExtension: options.maxSubscriptionsPerExtension ?? 10,
			maxSubscriptionsPerClient: options.maxSubscriptionsPerClient,
			subscriptionLimitAnswer: options.subscriptionLimitAnswer ?? SUBSCRIPTION_LIMIT_ANSWERS.message400,
			deliveryTimeoutMs: options.deliveryTimeoutMs ?? 5000,
			deadTokenStatus: options.deadTokenStatus ?? 401,
			pageCap: options.pageCap,
			denyAuthorization: false,
		};
		this.user = {
			id: 20,
			login: 'client1',
			client_id: 12,
			dealer_id: null,
			admin: false,
			extension_id: null,
			extension_group_id: null,
			timezone: 'Europe/Moscow',
			access: 'all',
			extra_params: {},
			...options.user,
		};
		for (const app of options.publicApps) {
			if (app.redirectUris.length === 0) {
				throw new Error(`Fake PBX: public app ${app.clientId} needs a redirect URI`);
			}
			this.apps.set(app.clientId, {
				clientId: app.clientId,
				secret: app.clientSecret,
				name: app.name ?? `Public app ${app.clientId}`,
				type: 'public',
				redirectUris: [...app.redirectUris],
				userId: this.user.id,
			});
		}
		for (const app of options.trustedApps ?? []) {
			this.apps.set(app.clientId, {
				clientId: app.clientId,
				secret: app.clientSecret,
				name: app.name ?? `Trusted app ${app.clientId}`,
				type: 'trusted',
				redirectUris: [],
				userId: this.user.id,
			});
		}
		this.extensionList = options.extensions ?? defaultExtensions(this.user.client_id);
		this.generateCalls(options.callCount ?? 5000, options.periodDays ?? 30);
	}

	// ---- test API -------------------------------------------------------------------------------

	/** A snapshot of the counters. */
	get counters(): PbxCounters {
		const c = this.counts;
		return {
			...c,
			authorize: { ...c.authorize },
			grants: {
				authorization_code: { ...c.grants.authorization_code },
				refresh_token: { ...c.grants.refresh_token },
				client_credentials: { ...c.grants.client_credentials },
			},
			tokenRefusals: { ...c.tokenRefusals },
		};
	}

	/** Zero the counters and forget the callback record (tokens, apps, calls, subscriptions stay). */
	reset(): void {
		this.counts = emptyCounters();
		this.callbackLog.length = 0;
	}

	/** Every access token issued so far becomes expired (refresh tokens stay valid). */
	expireTokens(): void {
		for (const record of this.accessTokens.values()) record.forcedExpired = true;
		this.expireAfter = undefined;
	}

	/** After `n` more accepted API requests, every access token issued by then expires. */
	expireTokensAfter(n: number): void {
		if (!Number.isInteger(n) || n < 0)
			throw new Error('expireTokensAfter: n must be an integer >= 0');
		if (n === 0) this.expireTokens();
		else this.expireAfter = n;
	}

	/**
	 * For matching requests the vendor logic runs (a call is placed, a subscription made…), then
	 * the connection is dropped instead of answering: the client cannot know it succeeded. Unlike
	 * the `drop` fault, which drops before the vendor sees the request. Same matching rules as
	 * `fail()` (default once; `every`: unlimited).
	 */
	loseAnswers(match: FaultMatch): void {
		for (const key of ['times', 'skip', 'every'] as const) {
			const value = match[key];
			if (value !== undefined && (!Number.isInteger(value) || value < (key === 'skip' ? 0 : 1))) {
				throw new Error(`loseAnswers(): ${key} must be an integer >= ${key === 'skip' ? 0 : 1}`);
			}
		}
		const limit = match.times ?? (match.every !== undefined ? Number.POSITIVE_INFINITY : 1);
		this.lostAnswers.push({ match, seen: 0, fired: 0, limit });
	}

	/** Forget the rules of `loseAnswers`. */
	clearLostAnswers(): void {
		this.lostAnswers = [];
	}

	private answerIsLost(method: string, path: string): boolean {
		const { fired, left } = fireFirst(this.lostAnswers, method, path);
		this.lostAnswers = left;
		return fired !== undefined;
	}

	/** Every live refresh token dies (401 invalid_grant: the user must reconnect). */
	revokeRefreshTokens(): void {
		for (const record of this.refreshTokens.values()) {
			if (record.state === 'live') record.state = 'revoked';
		}
	}

	/** Every credential the fake ever handed out, oldest first (for leak tests). */
	issuedTokens(): {
		access: string[];
		refresh: string[];
		codes: string[];
		secrets: string[];
	} {
		return {
			access: [...this.accessTokens.keys()],
			refresh: [...this.refreshTokens.keys()],
			codes: [...this.codes.keys()],
			secrets: [...this.createdSecrets],
		};
	}

	/** Apps as the fake knows them (secrets included), e.g. to find a trusted app created via API. */
	applications(): Array<{
		clientId: string;
		secret: string;
		name: string;
		type: string;
	}> {
		return [...this.apps.values()].map(({ clientId, secret, name, type }) => ({
			clientId,
			secret,
			name,
			type,
		}));
	}

	extensions(): PbxExtension[] {
		return this.extensionList.map((e) => ({ ...e }));
	}

	/** All calls, oldest first (copies). */
	allCalls(): PbxCall[] {
		return this.sortedCalls('asc').map((s) => structuredClone(s.call));
	}

	/**
	 * Append `n` calls newer than every existing one, spread between the newest start time and
	 * now (1 s apart beyond that, i.e. possibly in the future). Returns them, oldest first.
	 */
	addCalls(n: number, options: { external?: boolean } = {}): PbxCall[] {
		if (!Number.isInteger(n) || n < 1) throw new Error('addCalls: n must be an integer >= 1');
		const last = this.calls.reduce((max, s) => Math.max(max, s.startMs), 0);
		const base = last > 0 ? last : this.now() - 3_600_000;
		const stepSec = Math.max(1, Math.floor((this.now() - base) / 1000 / (n + 1)));
		const added: PbxCall[] = [];
		for (let i = 1; i <= n; i++) {
			const stored = this.makeCall(this.calls.length, base + i * stepSec * 1000, Infinity);
			if (options.external && stored.call.flow === 'internal') {
				// An inbound call from outside instead (the demo's "add 7 calls" syncs exactly 7).
				stored.call.flow = 'in';
				stored.call.from_username = `+7495${String(stored.seq % 10_000_000).padStart(7, '0')}`;
			}
			this.store(stored);
			added.push(structuredClone(stored.call));
		}
		return added;
	}

	/**
	 * Add calls at given start times lasting given seconds (answered ones get a recording leg),
	 * optionally with a direction, parties and result; with `listAtHangup` they appear in call
	 * history only once they ended, with `listInProgress` from their start. Returns them, ended.
	 */
	addCallsAt(specs: PbxCallSpec[]): PbxCall[] {
		const added: PbxCall[] = [];
		for (const spec of specs) {
			const stored = this.makeCall(this.calls.length + 1_000_000, Math.floor(spec.startMs / 1000) * 1000, Infinity);
			const { call } = stored;
			this.shape(stored, spec);
			const endMs = stored.startMs + Math.max(0, Math.round(spec.durationSec)) * 1000;
			call.end_time_gmt = formatPbxDatetime(endMs);
			call.duration = Math.round((endMs - stored.startMs) / 1000);
			if (call.answer_time_gmt !== null) {
				const answerMs = Math.min(stored.startMs + 2000, endMs);
				call.answer_time_gmt = formatPbxDatetime(answerMs);
				call.bridged_duration = Math.round((endMs - answerMs) / 1000);
				for (const leg of call.cdr) {
					leg.start_time_gmt = call.answer_time_gmt;
					leg.end_time_gmt = call.end_time_gmt;
					leg.duration = call.bridged_duration;
				}
			}
			this.store(stored);
			added.push(structuredClone(call));
		}
		return added;
	}

	/** Applies a spec's direction, parties and result to a generated call (before its times are set). */
	private shape(stored: StoredCall, spec: PbxCallSpec): void {
		const { call } = stored;
		if (spec.flow !== undefined && spec.flow !== call.flow) {
			const ext = this.extensionList.find((e) => e.id === call.extension_id)!;
			const external = call.flow === 'in' ? call.from_username : call.flow === 'out' ? call.to_username : `+7495${String(stored.seq % 10_000_000).padStart(7, '0')}`;
			call.flow = spec.flow;
			call.from_username = spec.flow === 'in' ? external : ext.name;
			const colleague = this.extensionList.find((e) => e.type === 'phone' && e.id !== ext.id) ?? ext;
			call.to_username = spec.flow === 'out' ? external : spec.flow === 'in' ? ext.name : colleague.name;
			call.did_number = spec.flow === 'in' ? `+7495${String(1_000_000 + (this.user.client_id % 9_000_000)).padStart(7, '0')}` : null;
		}
		if (spec.from !== undefined) call.from_username = spec.from;
		if (spec.to !== undefined) call.to_username = spec.to;
		if (spec.result !== undefined && spec.result !== call.result) {
			call.result = spec.result;
			call.hangup_cause = HANGUP_CAUSES[spec.result];
			if (spec.result === 'answered') {
				call.answer_time_gmt = call.start_time_gmt;
				call.cdr = [{ record_uuid: uuidFrom(hash(this.seed, 'record-uuid', stored.seq)), extension_id: call.extension_id, start_time_gmt: call.start_time_gmt, end_time_gmt: call.end_time_gmt, duration: 0 }];
			} else {
				call.answer_time_gmt = null;
				call.bridged_duration = 0;
				call.cdr = [];
			}
		}
	}

	/**
	 * A call as call history shows it at `nowMs`: undefined while not yet listed (listAtHangup:
	 * until it ended; listInProgress: until it started), in progress while listInProgress and not
	 * ended, else as stored.
	 */
	private shown(stored: StoredCall, nowMs: number): PbxCall | PbxCallInProgress | undefined {
		const endMs = parsePbxDatetime(stored.call.end_time_gmt)!;
		if (this.listing.listAtHangup) return endMs <= nowMs ? stored.call : undefined;
		if (!this.listing.listInProgress || endMs <= nowMs) return stored.call;
		if (stored.startMs > nowMs) return undefined;
		const answerMs = stored.call.answer_time_gmt === null ? undefined : parsePbxDatetime(stored.call.answer_time_gmt)!;
		return {
			...stored.call,
			answer_time_gmt: answerMs !== undefined && answerMs <= nowMs ? stored.call.answer_time_gmt : null,
			end_time_gmt: null,
			duration: Math.floor((nowMs - stored.startMs) / 1000),
			bridged_duration: answerMs !== undefined && answerMs <= nowMs ? Math.floor((nowMs - answerMs) / 1000) : 0,
			result: this.listing.inProgressResult,
			hangup_cause: null,
			cdr: [],
		};
	}

	/** Deterministic pseudo-random MP3-ish bytes of a recording (20–60 KB). */
	audioOf(recordUuid: string): Buffer {
		if (!this.recordToCall.has(recordUuid))
			throw new Error(`Fake PBX: unknown record ${recordUuid}`);
		const cached = this.audioCache.get(recordUuid);
		if (cached) return cached;
		const size =
			20 * 1024 + (hash(this.seed, 'audio-size', recordUuid).readUInt32BE(0) % (40 * 1024 + 1));
		const chunks: Buffer[] = [Buffer.from([0x49, 0x44, 0x33, 0x04, 0, 0, 0, 0, 0, 0])];
		let total = 10;
		for (let i = 0; total < size; i++) {
			const chunk = hash(this.seed, 'audio', recordUuid, i);
			chunks.push(chunk);
			total += chunk.length;
		}
		const audio = Buffer.concat(chunks).subarray(0, size);
		this.audioCache.set(recordUuid, audio);
		return audio;
	}

	/** True when one more subscription for this extension would exceed a cap. */
	private atSubscriptionCap(extensionId: number): boolean {
		const perClient = this.settings.maxSubscriptionsPerClient;
		return (
			this.subs.filter((s) => s.extension_id === extensionId).length >= this.settings.maxSubscriptionsPerExtension ||
			(perClient !== undefined && this.subs.length >= perClient)
		);
	}

	/** Every subscription (any creator), oldest first. */
	subscriptions(): PbxSubscription[] {
		return this.subs.map((s) => ({ ...s }));
	}

	/** A subscription made by someone else (not counted as created); the cap applies (throws). */
	addSubscription(
		extensionId: number,
		sub: { url: string; event_type: PbxEventType; method?: 'POST' },
	): PbxSubscription {
		if (!this.findExtension(String(extensionId))) {
			throw new Error(`Fake PBX: unknown extension ${extensionId}`);
		}
		if (!(PBX_EVENT_TYPES as readonly string[]).includes(sub.event_type)) {
			throw new Error(`Fake PBX: unknown event type ${sub.event_type}`);
		}
		if (this.atSubscriptionCap(extensionId)) {
			throw new Error('Fake PBX: subscription limit reached');
		}
		return this.addSub(extensionId, sub.url, sub.event_type, 'external');
	}

	/** Every click-to-call request accepted, oldest first. */
	callbacks(): PbxCallbackRecord[] {
		return this.callbackLog.map((c) => ({
			...c,
			body: structuredClone(c.body),
		}));
	}

	/**
	 * POST a form-encoded event to every URL subscribed for this extension and event type.
	 * `fields` override the generated ones (`undefined` removes a field).
	 */
	async fireEvent(
		extensionId: number,
		eventType: PbxEventType,
		fields: Record<string, string | undefined> = {},
	): Promise<PbxDelivery[]> {
		const ext = this.findExtension(String(extensionId));
		if (!ext) throw new Error(`Fake PBX: unknown extension ${extensionId}`);
		const body = this.eventFields(ext, eventType);
		for (const [name, value] of Object.entries(fields)) {
			if (value === undefined) delete body[name];
			else body[name] = value;
		}
		const targets = this.subs.filter(
			(s) => s.extension_id === ext.id && s.event_type === eventType,
		);
		return Promise.all(
			targets.map(async (sub): Promise<PbxDelivery> => {
				try {
					const status = await this.post(sub.url, body);
					this.counts.eventsDelivered++;
					return { subscriptionId: sub.id, url: sub.url, status };
				} catch (error) {
					return {
						subscriptionId: sub.id,
						url: sub.url,
						status: null,
						error: error instanceof Error ? error.message : String(error),
					};
				}
			}),
		);
	}

	/** POST form-encoded `fields` to any URL (a forged event); resolves to the HTTP status. */
	async fireRaw(url: string, fields: Record<string, string>): Promise<number> {
		return this.post(url, fields);
	}

	// ---- generation -----------------------------------------------------------------------------

	private generateCalls(count: number, periodDays: number): void {
		if (!Number.isInteger(count) || count < 0) throw new Error('Fake PBX: callCount must be >= 0');
		// The period ends 15 min before start-up so every generated call has ended.
		const end = Math.floor(this.now() / 1000) * 1000 - 15 * 60_000;
		const periodMs = Math.max(1, periodDays) * 86_400_000;
		const spacing = periodMs / Math.max(1, count);
		for (let seq = 0; seq < count; seq++) {
			const jitter = prng(hash(this.seed, 'jitter', seq).readUInt32LE(0))() * spacing * 0.8;
			const startMs = Math.floor((end - periodMs + seq * spacing + jitter) / 1000) * 1000;
			this.store(this.makeCall(seq, startMs, end + 15 * 60_000));
		}
	}

	private store(stored: StoredCall): void {
		if (this.callsByUuid.has(stored.call.call_uuid)) {
			throw new Error(`Fake PBX: duplicate call_uuid ${stored.call.call_uuid}`);
		}
		this.calls.push(stored);
		this.callsByUuid.set(stored.call.call_uuid, stored);
		for (const cdr of stored.call.cdr) this.recordToCall.set(cdr.record_uuid, stored);
	}

	private makeCall(seq: number, startMs: number, notAfterMs: number): StoredCall {
		const rand = prng(hash(this.seed, 'call', seq).readUInt32LE(0));
		const pick = <T>(items: T[]): T => items[Math.floor(rand() * items.length)];
		const phones = this.extensionList.filter((e) => e.type === 'phone');
		const ext = phones.length > 0 ? pick(phones) : this.extensionList[0];
		const other = phones.filter((e) => e.id !== ext.id);
		const external = (): string => `+7495${String(Math.floor(rand() * 1e7)).padStart(7, '0')}`;
		const f = rand();
		const flow: PbxFlow = f < 0.5 ? 'in' : f < 0.85 ? 'out' : 'internal';
		const r = rand();
		const result: PbxResult =
			r < 0.65
				? 'answered'
				: r < 0.8
					? 'noanswer'
					: r < 0.9
						? 'busy'
						: r < 0.97
							? 'cancel'
							: 'failed';
		const cause = HANGUP_CAUSES[result];
		const ringSec = 2 + Math.floor(rand() * 25);
		const talkSec = result === 'answered' ? 5 + Math.floor(rand() * 900) : 0;
		let answerMs = result === 'answered' ? startMs + ringSec * 1000 : null;
		let endMs = startMs + (ringSec + talkSec) * 1000;
		if (endMs > notAfterMs) {
			endMs = Math.max(startMs, notAfterMs);
			if (answerMs !== null) answerMs = Math.min(answerMs, endMs);
		}
		let from: string;
		let to: string;
		let did: string | null = null;
		if (flow === 'in') {
			from = external();
			did = `+7495${String(1_000_000 + (this.user.client_id % 9_000_000)).padStart(7, '0')}`;
			to = ext.name;
		} else if (flow === 'out') {
			from = ext.name;
			to = external();
		} else {
			from = ext.name;
			to = (other.length > 0 ? pick(other) : ext).name;
		}
		const callUuid = uuidFrom(hash(this.seed, 'call-uuid', seq));
		const cdr: PbxCdr[] =
			answerMs !== null
				? [
						{
							record_uuid: uuidFrom(hash(this.seed, 'record-uuid', seq)),
							extension_id: ext.id,
							start_time_gmt: formatPbxDatetime(answerMs),
							end_time_gmt: formatPbxDatetime(endMs),
							duration: Math.round((endMs - answerMs) / 1000),
						},
					]
				: [];
		const call: PbxCall = {
			call_uuid: callUuid,
			client_id: this.user.client_id,
			flow,
			result,
			start_time_gmt: formatPbxDatetime(startMs),
			answer_time_gmt: answerMs === null ? null : formatPbxDatetime(answerMs),
			end_time_gmt: formatPbxDatetime(endMs),
			duration: Math.round((endMs - startMs) / 1000),
			bridged_duration: answerMs === null ? 0 : Math.round((endMs - answerMs) / 1000),
			from_username: from,
			to_username: to,
			extension_id: ext.id,
			did_number: did,
			hangup_cause: cause,
			cdr,
		};
		return { seq, startMs, call };
	}

	/** Calls are only ever appended, and their start never changes: the sorted list is kept until one is added. */
	private sortedCache?: { count: number; asc: StoredCall[]; desc: StoredCall[] };

	private sortedCalls(order: 'asc' | 'desc'): StoredCall[] {
		if (this.sortedCache?.count !== this.calls.length) {
			const asc = [...this.calls].sort((a, b) => a.startMs - b.startMs || a.seq - b.seq);
			this.sortedCache = { count: this.calls.length, asc, desc: [...asc].reverse() };
		}
		return order === 'asc' ? this.sortedCache.asc : this.sortedCache.desc;
	}

	// ---- dispatch -------------------------------------------------------------------------------

	protected async handle(request: FakeRequest): Promise<void> {
		const { path, res } = request;
		if (path.startsWith(CONTROL_PREFIX)) {
			this.handleControl(request);
			return;
		}
		if (this.answerIsLost(request.method, path)) {
			// The vendor logic runs, but whatever it answers never reaches the client.
			const { res: lost } = request;
			lost.writeHead = (() => lost) as never;
			lost.end = (() => {
				lost.socket?.destroy();
				return lost;
			}) as never;
		}
		try {
			if (path === PBX_PATHS.authorize) {
				if (request.method !== 'GET') return this.methodNotAllowed(res, ['GET']);
				return this.handleAuthorize(request);
			}
			if (path === PBX_PATHS.token) {
				if (request.method !== 'POST') return this.methodNotAllowed(res, ['POST']);
				return this.handleToken(request);
			}
			if (path.startsWith(PBX_PATHS.storage)) return this.handleStorage(request);
			if (path === PBX_PATHS.api || path.startsWith(`${PBX_PATHS.api}/`)) {
				return await this.handleApi(request, path.slice(PBX_PATHS.api.length));
			}
			json(res, 404, { message: 'Not found' });
		} catch (error) {
			if (error instanceof OAuthRefusal) {
				this.counts.tokenRefusals[error.error] = (this.counts.tokenRefusals[error.error] ?? 0) + 1;
				json(res, error.status, { error: error.error }, { 'cache-control': 'no-store' });
				return;
			}
			if (error instanceof ApiRefusal) {
				json(res, error.status, error.body ?? { message: error.message }, error.headers);
				return;
			}
			throw error;
		}
	}

	private methodNotAllowed(res: ServerResponse, allowed: string[]): void {
		json(res, 405, { message: 'Method not allowed' }, { allow: allowed.join(', ') });
	}

	// ---- OAuth ----------------------------------------------------------------------------------

	private handleAuthorize(request: FakeRequest): void {
		const { query, res } = request;
		this.counts.authorize.attempted++;
		const bad = (error: string, description: string): void =>
			json(res, 400, { error, error_description: description });
		for (const [name, value] of Object.entries(query)) {
			if (Array.isArray(value)) return bad('invalid_request', `${name} must be given once`);
		}
		const q = query as Record<string, string>;
		const app = q.client_id ? this.apps.get(q.client_id) : undefined;
		if (!app || app.type !== 'public')
			return bad('invalid_client', 'Unknown or non-public client_id');
		if (!q.redirect_uri) return bad('invalid_request', 'redirect_uri is required');
		if (!app.redirectUris.includes(q.redirect_uri)) {
			return bad('invalid_request', 'redirect_uri is not registered for this application');
		}
		const redirect = (params: Record<string, string>): void => {
			const target = new URL(q.redirect_uri);
			for (const [name, value] of Object.entries(params)) target.searchParams.set(name, value);
			if (q.state !== undefined) target.searchParams.set('state', q.state);
			res.writeHead(302, {
				location: target.toString(),
				'content-length': '0',
			});
			res.end();
		};
		if (q.response_type === undefined) return redirect({ error: 'invalid_request' });
		if (q.response_type !== 'code') return redirect({ error: 'unsupported_response_type' });
		if (q.scope !== 'all') return redirect({ error: 'invalid_scope' });
		if (this.settings.denyAuthorization) return redirect({ error: 'access_denied' });
		const code = token(22);
		this.codes.set(code, {
			clientId: app.clientId,
			redirectUri: q.redirect_uri,
			userId: this.user.id,
			expMs: this.now() + this.settings.codeLifetimeSec * 1000,
			used: false,
		});
		this.counts.authorize.ok++;
		redirect({ code });
	}

	private handleToken(request: FakeRequest): void {
		this.counts.tokenRequests++;
		const contentType = String(request.headers['content-type'] ?? '')
			.split(';')[0]
			.trim()
			.toLowerCase();
		if (contentType !== 'application/x-www-form-urlencoded') {
			throw new OAuthRefusal(400, 'invalid_request');
		}
		const basic = parseBasic(request.headers);
		if (
			request.headers.authorization !== undefined &&
			!(basic && this.settings.acceptBasicClientAuth)
		) {
			throw new OAuthRefusal(401, 'invalid_client');
		}
		const params = new URLSearchParams(request.rawBody);
		const form: Record<string, string> = {};
		for (const [name, value] of params) {
			if (name in form) throw new OAuthRefusal(400, 'invalid_request');
			form[name] = value;
		}
		const grant = form.grant_type;
		if (!grant) throw new OAuthRefusal(400, 'invalid_request');
		if (
			grant !== 'authorization_code' &&
			grant !== 'refresh_token' &&
			grant !== 'client_credentials'
		) {
			throw new OAuthRefusal(400, 'unsupported_grant_type');
		}
		this.counts.grants[grant].attempted++;

		let clientId = form.client_id;
		let secret = form.client_secret;
		if (basic && clientId === undefined && secret === undefined) {
			clientId = basic.user;
			secret = basic.password;
		} else if (basic) throw new OAuthRefusal(400, 'invalid_request'); // two client auth methods
		const app = clientId ? this.apps.get(clientId) : undefined;
		if (!app || secret === undefined || secret !== app.secret) {
			throw new OAuthRefusal(401, 'invalid_client');
		}

		let answer: Record<string, unknown>;
		if (grant === 'authorization_code') {
			if (app.type !== 'public') throw new OAuthRefusal(400, 'unauthorized_client');
			if (!form.code || !form.redirect_uri) throw new OAuthRefusal(400, 'invalid_request');
			const code = this.codes.get(form.code);
			if (
				!code ||
				code.used ||
				code.clientId !== app.clientId ||
				this.now() >= code.expMs ||
				code.redirectUri !== form.redirect_uri
			) {
				if (code && code.clientId === app.clientId) code.used = true;
				throw new OAuthRefusal(400, 'invalid_grant');
			}
			code.used = true;
			answer = this.issue(app, code.userId, grant, true);
		} else if (grant === 'refresh_token') {
			if (app.type !== 'public') throw new OAuthRefusal(400, 'unauthorized_client');
			if (!form.refresh_token) throw new OAuthRefusal(400, 'invalid_request');
			const record = this.refreshTokens.get(form.refresh_token);
			if (!record || record.state !== 'live' || record.clientId !== app.clientId) {
				throw new OAuthRefusal(401, 'invalid_grant');
			}
			record.state = 'used';
			answer = this.issue(app, record.userId, grant, true);
		} else {
			if (app.type !== 'trusted') throw new OAuthRefusal(400, 'unauthorized_client');
			if (form.scope !== undefined) throw new OAuthRefusal(400, 'invalid_scope');
			answer = this.issue(app, app.userId, grant, false);
		}
		this.counts.grants[grant].ok++;
		json(request.res, 200, answer, {
			'cache-control': 'no-store',
			pragma: 'no-cache',
		});
	}

	private issue(
		app: AppRecord,
		userId: number,
		grant: PbxGrantType,
		withRefresh: boolean,
	): Record<string, unknown> {
		const access = token(22);
		const lifetime = this.settings.tokenLifetimeSec;
		this.accessTokens.set(access, {
			clientId: app.clientId,
			userId,
			grant,
			expMs: this.now() + lifetime * 1000,
			forcedExpired: false,
		});
		const answer: Record<string, unknown> = {
			access_token: access,
			expires_in: lifetime,
			token_type: 'Bearer',
		};
		if (withRefresh) {
			const refresh = token(22);
			this.refreshTokens.set(refresh, {
				clientId: app.clientId,
				userId,
				state: 'live',
			});
			answer.refresh_token = refresh;
		}
		return answer;
	}

	// ---- storage (signed, no Bearer) ------------------------------------------------------------

	private storageUrl(recordUuid: string): string {
		const expires = Math.floor(this.now() / 1000) + 3600;
		return `${this.url}${PBX_PATHS.storage}${recordUuid}.mp3?expires=${expires}&signature=${this.sign(recordUuid, expires)}`;
	}

	private sign(recordUuid: string, expires: number | string): string {
		return createHmac('sha256', this.signingKey).update(`${recordUuid}:${expires}`).digest('hex');
	}

	private handleStorage(request: FakeRequest): void {
		const { res, query, method, path } = request;
		if (method !== 'GET') return this.methodNotAllowed(res, ['GET']);
		const m = /^\/storage\/([0-9a-f-]{36})\.mp3$/.exec(path);
		if (!m || !this.recordToCall.has(m[1])) throw new ApiRefusal(404, 'Not found');
		const { expires, signature } = query;
		if (
			typeof expires !== 'string' ||
			typeof signature !== 'string' ||
			signature !== this.sign(m[1], expires)
		) {
			throw new ApiRefusal(403, 'Invalid signature');
		}
		if (Number(expires) * 1000 < this.now()) throw new ApiRefusal(403, 'Link expired');
		this.counts.storageDownloads++;
		this.sendAudio(res, m[1]);
	}

	private sendAudio(res: ServerResponse, recordUuid: string): void {
		const audio = this.audioOf(recordUuid);
		res.writeHead(200, {
			'content-type': 'audio/mpeg',
			'content-length': String(audio.length),
			'content-disposition': `attachment; filename="${recordUuid}.mp3"`,
		});
		res.end(audio);
	}

	// ---- REST API -------------------------------------------------------------------------------

	private async handleApi(request: FakeRequest, sub: string): Promise<void> {
		const { method, res } = request;
		type Route = {
			re: RegExp;
			methods: Record<string, (m: RegExpExecArray, userId: number) => void | Promise<void>>;
		};
		const routes: Route[] = [
			{
				re: /^\/user\/?$/,
				methods: { GET: () => json(res, 200, { ...this.user }) },
			},
			{
				re: /^\/application\/?$/,
				methods: {
					GET: (_m, userId) => json(res, 200, this.listApps(userId)),
					POST: (_m, userId) => this.createApp(request, userId),
				},
			},
			{
				re: /^\/application\/([^/]+)\/reset_secret\/?$/,
				methods: { PUT: (m, userId) => this.resetSecret(res, m[1], userId) },
			},
			{
				re: /^\/client\/([^/]+)\/call_history\/?$/,
				methods: {
					GET: (m) => this.stats(m[1], () => this.listCalls(request)),
				},
			},
			{
				re: /^\/client\/([^/]+)\/call_history\/([^/]+)\/?$/,
				methods: {
					GET: (m) =>
						this.stats(m[1], () => {
							const stored = this.callsByUuid.get(decodeURIComponent(m[2]));
							const call = stored && this.shown(stored, this.now());
							if (!call) throw new ApiRefusal(404, 'Not found');
							json(res, 200, call);
						}),
				},
			},
			{
				re: /^\/client\/([^/]+)\/record\/?$/,
				methods: {
					GET: (m) => this.stats(m[1], () => this.listRecords(request)),
				},
			},
			{
				re: /^\/client\/([^/]+)\/record\/([^/]+)\/storage_url\/?$/,
				methods: {
					GET: (m) => {
						this.checkClient(m[1]);
						if (!this.recordToCall.has(m[2])) throw new ApiRefusal(404, 'Not found');
						json(res, 200, { record_url: this.storageUrl(m[2]) });
					},
				},
			},
			{
				re: /^\/client\/([^/]+)\/record\/([^/]+)\/?$/,
				methods: {
					GET: (m) => {
						this.checkClient(m[1]);
						if (!this.recordToCall.has(m[2])) throw new ApiRefusal(404, 'Not found');
						this.counts.recordDownloads++;
						this.sendAudio(res, m[2]);
					},
				},
			},
			{
				re: /^\/client\/([^/]+)\/extension\/?$/,
				methods: {
					GET: (m) => {
						this.checkClient(m[1]);
						this.listExtensions(request);
					},
				},
			},
			{
				re: /^\/extension\/([^/]+)\/callback\/?$/,
				methods: { POST: (m) => this.callback(request, m[1]) },
			},
			{
				re: /^\/extension\/([^/]+)\/event\/?$/,
				methods: {
					GET: (m) => {
						const ext = this.requireExtension(m[1]);
						json(
							res,
							200,
							this.subs.filter((s) => s.extension_id === ext.id).map((s) => this.publicSub(s)),
						);
					},
					POST: (m) => this.subscribe(request, m[1]),
				},
			},
			{
				re: /^\/extension\/([^/]+)\/event\/([^/]+)\/?$/,
				methods: {
					DELETE: (m) => {
						const ext = this.requireExtension(m[1]);
						const index = this.subs.findIndex(
							(s) => s.extension_id === ext.id && String(s.id) === m[2],
						);
						if (index < 0) throw new ApiRefusal(404, 'Not found');
						this.subs.splice(index, 1);
						this.counts.subscriptionsDeleted++;
						res.writeHead(204);
						res.end();
					},
				},
			},
		];
		for (const route of routes) {
			const m = route.re.exec(sub);
			if (!m) continue;
			const handler = route.methods[method];
			if (!handler) return this.methodNotAllowed(res, Object.keys(route.methods));
			const userId = this.authenticate(request);
			await handler(m, userId);
			return;
		}
		json(res, 404, { message: 'Not found' });
	}

	private authenticate(request: FakeRequest): number {
		this.counts.apiRequests++;
		const bearer = parseBearer(request.headers);
		const refuse = (message: string): never => {
			this.counts.apiUnauthorized++;
			if (this.settings.deadTokenStatus === 403)
				throw new ApiRefusal(403, 'Access token is invalid or expired');
			throw new ApiRefusal(401, message, { 'www-authenticate': 'Bearer' });
		};
		if (bearer === undefined) return refuse('Authentication credentials were not provided');
		const record = this.accessTokens.get(bearer);
		if (!record) return refuse('Invalid token');
		if (record.forcedExpired || this.now() >= record.expMs) return refuse('Token expired');
		this.counts.apiOk++;
		if (this.expireAfter !== undefined) {
			this.expireAfter--;
			if (this.expireAfter <= 0) this.expireTokens();
		}
		return record.userId;
	}

	private checkClient(segment: string): void {
		if (segment !== '@me' && segment !== String(this.user.client_id)) {
			throw new ApiRefusal(403, 'Access denied');
		}
	}

	private findExtension(id: string): PbxExtension | undefined {
		return this.extensionList.find((e) => String(e.id) === id);
	}

	private requireExtension(id: string): PbxExtension {
		const ext = this.findExtension(id);
		if (!ext) throw new ApiRefusal(404, 'Not found');
		return ext;
	}

	private readJson(request: FakeRequest): Record<string, unknown> {
		const body = readJsonObject(request);
		if (body.ok) return body.value;
		if (body.reason === 'content-type') {
			throw new ApiRefusal(400, 'Content-Type must be application/json');
		}
		throw new ApiRefusal(400, 'Request body must be a JSON object');
	}

	// applications

	private listApps(userId: number): unknown[] {
		return [...this.apps.values()]
			.filter((a) => a.type === 'trusted' && a.userId === userId)
			.map((a) => ({ id: a.clientId, name: a.name, type: a.type }));
	}

	private createApp(request: FakeRequest, userId: number): void {
		const body = this.readJson(request);
		if (typeof body.name !== 'string' || body.name.trim() === '') {
			throw new ApiRefusal(400, 'name is required');
		}
		if (body.type !== 'trusted') throw new ApiRefusal(400, "type must be 'trusted'");
		const app: AppRecord = {
			clientId: hexId(),
			secret: hexId(),
			name: body.name,
			type: 'trusted',
			redirectUris: [],
			userId,
		};
		this.apps.set(app.clientId, app);
		this.createdSecrets.push(app.secret);
		this.counts.applicationsCreated++;
		json(request.res, 201, this.appWithSecret(app));
	}

	private appWithSecret(app: AppRecord): Record<string, unknown> {
		return {
			id: app.clientId,
			name: app.name,
			type: app.type,
			[this.settings.secretField]: app.secret,
		};
	}

	private resetSecret(res: ServerResponse, id: string, userId: number): void {
		const app = this.apps.get(id);
		if (!app || app.type !== 'trusted' || app.userId !== userId)
			throw new ApiRefusal(404, 'Not found');
		app.secret = hexId();
		this.createdSecrets.push(app.secret);
		json(res, 200, this.appWithSecret(app));
	}

	// statistics

	private async stats(clientSegment: string, work: () => void): Promise<void> {
		this.checkClient(clientSegment);
		const key = String(this.user.client_id);
		const inFlight = this.statsInFlight.get(key) ?? 0;
		this.counts.statsRequests++;
		this.counts.statsMaxConcurrent = Math.max(this.counts.statsMaxConcurrent, inFlight + 1);
		if (inFlight > 0) {
			this.counts.statsConcurrentRefusals++;
			const retry = this.settings.statsRetryAfterSec;
			throw new ApiRefusal(
				429,
				PBX_STATS_CONCURRENT_MESSAGE,
				retry !== undefined ? { 'retry-after': String(retry) } : {},
			);
		}
		this.statsInFlight.set(key, inFlight + 1);
		try {
			if (this.settings.statsDelayMs > 0) await sleep(this.settings.statsDelayMs);
			work();
		} finally {
			this.statsInFlight.set(key, (this.statsInFlight.get(key) ?? 1) - 1);
		}
	}

	private single(query: Query, name: string): string | undefined {
		const value = query[name];
		if (Array.isArray(value)) throw new ApiRefusal(400, `${name} must be given once`);
		return value;
	}

	private paging(query: Query): { page: number; perPage: number } {
		const rawPage = this.single(query, 'page');
		const rawPer = this.single(query, 'per_page');
		const page = rawPage === undefined ? 1 : Number(rawPage);
		const asked = rawPer === undefined ? PBX_DEFAULT_PER_PAGE : Number(rawPer);
		const perPage = this.settings.pageCap === undefined ? asked : Math.min(asked, this.settings.pageCap);
		if (!/^\d+$/.test(rawPage ?? '1') || !Number.isSafeInteger(page) || page < 1) {
			throw new ApiRefusal(400, 'page must be a positive integer');
		}
		if (!/^\d+$/.test(rawPer ?? '1') || asked < 1 || asked > PBX_MAX_PER_PAGE) {
			throw new ApiRefusal(400, `per_page must be an integer between 1 and ${PBX_MAX_PER_PAGE}`);
		}
		return { page, perPage };
	}

	private statsQuery(query: Query): {
		page: number;
		perPage: number;
		order: 'asc' | 'desc';
		startMs: number;
		endMs: number;
	} {
		const bounds: number[] = [];
		for (const name of ['start_datetime', 'end_datetime']) {
			const raw = this.single(query, name);
			if (raw === undefined || raw === '') throw new ApiRefusal(400, `${name} is required`);
			const ms = parsePbxDatetime(raw);
			if (ms === undefined) {
				throw new ApiRefusal(
					400,
					`${name} must be in the format YYYY-MM-DD HH:MM:SS (GMT), got '${raw}'`,
				);
			}
			bounds.push(ms);
		}
		if (bounds[0] > bounds[1])
			throw new ApiRefusal(400, 'start_datetime must not be after end_datetime');
		const order = this.single(query, 'order') ?? 'desc';
		if (order !== 'asc' && order !== 'desc') throw new ApiRefusal(400, 'order must be asc or desc');
		return {
			...this.paging(query),
			order,
			startMs: bounds[0],
			endMs: bounds[1],
		};
	}

	private listCalls(request: FakeRequest): void {
		const { query } = request;
		const q = this.statsQuery(query);
		const flow = this.single(query, 'flow');
		if (flow !== undefined && flow !== 'in' && flow !== 'out' && flow !== 'internal') {
			throw new ApiRefusal(400, 'flow must be one of in, out, internal');
		}
		const extensionId = this.single(query, 'extension_id');
		if (extensionId !== undefined && !/^\d+$/.test(extensionId)) {
			throw new ApiRefusal(400, 'extension_id must be an integer');
		}
		const to = this.single(query, 'to_username');
		const from = this.single(query, 'from_username');
		this.listing.requests++;
		this.listing.beforeListPage?.(this.listing.requests);
		if (q.perPage > this.listing.maxPerPage) {
			throw new ApiRefusal(400, `per_page must be an integer between 1 and ${this.listing.maxPerPage}`);
		}
		const nowMs = this.now();
		const matching = this.sortedCalls(q.order).filter(
			(s) =>
				s.startMs >= q.startMs &&
				s.startMs <= q.endMs &&
				(flow === undefined || s.call.flow === flow) &&
				(extensionId === undefined || String(s.call.extension_id) === extensionId) &&
				(to === undefined || s.call.to_username === to) &&
				(from === undefined || s.call.from_username === from),
		);
		const listed = this.listing.listAtHangup || this.listing.listInProgress
			? matching.flatMap((s) => this.shown(s, nowMs) ?? [])
			: matching.map((s) => s.call);
		const served = Math.min(q.perPage, this.listing.perPageCap ?? q.perPage);
		const slice = listed.slice((q.page - 1) * served, q.page * served);
		json(request.res, 200, {
			page: q.page,
			per_page: q.perPage,
			order: q.order,
			call_history: slice,
		});
	}

	private listRecords(request: FakeRequest): void {
		const q = this.statsQuery(request.query);
		const nowMs = this.now();
		const records = this.sortedCalls(q.order)
			.filter((s) => s.startMs >= q.startMs && s.startMs <= q.endMs)
			.flatMap((s) =>
				(this.shown(s, nowMs)?.cdr ?? []).map((c) => ({
					call_uuid: s.call.call_uuid,
					record_uuid: c.record_uuid,
				})),
			);
		json(request.res, 200, records.slice((q.page - 1) * q.perPage, q.page * q.perPage));
	}

	private listExtensions(request: FakeRequest): void {
		const type = this.single(request.query, 'type');
		if (type !== undefined && !(EXTENSION_TYPES as string[]).includes(type)) {
			throw new ApiRefusal(400, `type must be one of ${EXTENSION_TYPES.join(', ')}`);
		}
		const { page, perPage } = this.paging(request.query);
		const list = this.extensionList.filter((e) => type === undefined || e.type === type);
		json(request.res, 200, list.slice((page - 1) * perPage, page * perPage));
	}

	// click-to-call

	private callback(request: FakeRequest, extensionSegment: string): void {
		const ext = this.requireExtension(extensionSegment);
		const body = this.readJson(request);
		const src = body.src_num;
		if (
			!Array.isArray(src) ||
			src.length === 0 ||
			!src.every((n) => typeof n === 'string' && /^\+?[0-9*#]{2,20}$/.test(n))
		) {
			throw new ApiRefusal(400, 'src_num must be a non-empty array of phone numbers (strings)');
		}
		if (typeof body.dst_num !== 'string' || !/^\+?[0-9*#]{2,20}$/.test(body.dst_num)) {
			throw new ApiRefusal(400, 'dst_num must be a phone number (string)');
		}
		if (body.caller_id_name !== undefined && typeof body.caller_id_name !== 'string') {
			throw new ApiRefusal(400, 'caller_id_name must be a string');
		}
		if (body.caller_id_number !== undefined && typeof body.caller_id_number !== 'string') {
			throw new ApiRefusal(400, 'caller_id_number must be a string');
		}
		const record: PbxCallbackRecord = {
			extensionId: ext.id,
			body: structuredClone(body),
			call_api_id: hexId(),
			call_id: hexId(),
			at: this.now(),
		};
		this.callbackLog.push(record);
		this.counts.callbacks++;
		json(request.res, 200, {
			call_api_id: record.call_api_id,
			call_id: record.call_id,
		});
	}

	// event subscriptions

	private publicSub(s: PbxSubscription): Record<string, unknown> {
		return { id: s.id, url: s.url, event_type: s.event_type, method: s.method };
	}

	private addSub(
		extensionId: number,
		url: string,
		eventType: PbxEventType,
		createdBy: 'api' | 'external',
	): PbxSubscription {
		const sub: PbxSubscription = {
			id: this.nextSubscriptionId++,
			extension_id: extensionId,
			url,
			event_type: eventType,
			method: 'POST',
			createdBy,
		};
		this.subs.push(sub);
		return { ...sub };
	}

	private subscribe(request: FakeRequest, extensionSegment: string): void {
		const ext = this.requireExtension(extensionSegment);
		const body = this.readJson(request);
		let valid = false;
		if (typeof body.url === 'string') {
			try {
				valid = ['http:', 'https:'].includes(new URL(body.url).protocol);
			} catch {
				valid = false;
			}
		}
		if (!valid) throw new ApiRefusal(400, 'url must be an absolute http(s) URL');
		if (
			typeof body.event_type !== 'string' ||
			!(PBX_EVENT_TYPES as readonly string[]).includes(body.event_type)
		) {
			throw new ApiRefusal(400, `event_type must be one of ${PBX_EVENT_TYPES.join(', ')}`);
		}
		if (body.method !== undefined && body.method !== 'POST') {
			throw new ApiRefusal(400, "method must be 'POST'");
		}
		if (this.atSubscriptionCap(ext.id)) {
			const answer = this.settings.subscriptionLimitAnswer;
			this.counts.subscriptionsRefused++;
			throw new ApiRefusal(answer.status, 'Subscription limit reached', {}, answer.body);
		}
		const sub = this.addSub(ext.id, body.url as string, body.event_type as PbxEventType, 'api');
		this.counts.subscriptionsCreated++;
		json(request.res, 201, this.publicSub(sub));
	}

	// ---- events ---------------------------------------------------------------------------------

	private eventFields(ext: PbxExtension, eventType: PbxEventType): Record<string, string> {
		const outgoing = eventType === 'dial-out' || eventType === 'message-out';
		const external = '+74951234567';
		const did = '+74957654321';
		const nowMicros = (BigInt(this.now()) * 1000n).toString();
		const fields: Record<string, string> = {
			EventType: eventType,
			CallID: hexId(),
			SubCallID: hexId(),
			CallerIDNum: outgoing ? ext.name : external,
			CallerIDName: outgoing ? ext.caller_id_name : 'Ivan Petrov',
			CalledDID: outgoing ? '' : did,
			CalledExtension: outgoing ? '' : ext.name,
			CalledExtensionID: outgoing ? '' : String(ext.id),
			CallerExtension: outgoing ? ext.name : '',
			CallerExtensionID: outgoing ? String(ext.id) : '',
			CalledNumber: outgoing ? external : did,
			CallFlow: outgoing ? 'out' : 'in',
			CallAPIID: '',
			EventTime: nowMicros,
		};
		if (eventType === 'dial-in' || eventType === 'dial-out') fields.CallStatus = 'CALLING';
		if (eventType === 'answer') fields.CallStatus = 'ANSWER';
		if (eventType === 'hangup') {
			fields.CallStatus = 'ANSWER';
			fields.Duration = '65000000';
			fields.RecID = hexId();
			fields.Bridged = 'yes';
		}
		if (eventType === 'voicemail') fields.RecID = hexId();
		return fields;
	}

	private async post(url: string, fields: Record<string, string>): Promise<number> {
		const response = await fetch(url, {
			method: 'POST',
			headers: { 'content-type': 'application/x-www-form-urlencoded' },
			body: new URLSearchParams(fields).toString(),
			redirect: 'manual',
			signal: AbortSignal.timeout(this.settings.deliveryTimeoutMs),
		});
		await response.arrayBuffer();
		return response.status;
	}

	// ---- control plane --------------------------------------------------------------------------

	private state(): Record<string, unknown> {
		return {
			counters: this.counters,
			latencyMs: this.latencyMs,
			pendingFaults: this.pendingFaults,
			issued: {
				access: this.accessTokens.size,
				refresh: this.refreshTokens.size,
				codes: this.codes.size,
			},
			calls: this.calls.length,
			subscriptions: this.subs.length,
			callbacks: this.callbackLog.length,
			requestsLogged: this.requests.length,
		};
	}

	private handleControl(request: FakeRequest): void {
		const { res, method, path } = request;
		if (path === PBX_PATHS.state && method === 'GET') {
			json(res, 200, this.state());
			return;
		}
		if (path !== PBX_PATHS.control || method !== 'POST') {
			json(res, 404, { message: 'Unknown control route' });
			return;
		}
		const body = readJsonObject(request);
		if (!body.ok) {
			json(res, 400, { message: 'Control body must be a JSON object' });
			return;
		}
		const b = body.value;
		const isCount = (v: unknown, min: number): v is number =>
			typeof v === 'number' && Number.isInteger(v) && v >= min;
		switch (b.action) {
			case 'expireTokens':
				this.expireTokens();
				break;
			case 'expireTokensAfter':
				if (!isCount(b.n, 0)) return json(res, 400, { message: 'n must be an integer >= 0' });
				this.expireTokensAfter(b.n);
				break;
			case 'deadTokenStatus':
				if (b.status !== 401 && b.status !== 403) return json(res, 400, { message: 'status must be 401 or 403' });
				this.settings.deadTokenStatus = b.status;
				break;
			case 'pageCap':
				if (b.n !== null && !isCount(b.n, 1)) return json(res, 400, { message: 'n must be an integer >= 1, or null' });
				this.settings.pageCap = (b.n as number | null) ?? undefined;
				break;
			case 'revokeRefreshTokens':
				this.revokeRefreshTokens();
				break;
			case 'reset':
				this.reset();
				break;
			case 'statsDelay':
				if (typeof b.ms !== 'number' || b.ms < 0) {
					return json(res, 400, { message: 'ms must be a number >= 0' });
				}
				this.settings.statsDelayMs = b.ms;
				break;
			case 'addCalls':
				if (!isCount(b.n, 1)) return json(res, 400, { message: 'n must be an integer >= 1' });
				this.addCalls(b.n, { external: b.external === true });
				break;
			case 'fireEvent': {
				// {extensionId, eventType, fields?}: fireEvent over HTTP (for the demo and tests that
				// drive a fake in another process); answers once every delivery is done.
				const extensionId = Number(b.extensionId);
				if (!Number.isInteger(extensionId) || !this.findExtension(String(extensionId))) {
					return json(res, 400, { message: 'extensionId must be a known extension id' });
				}
				if (!(PBX_EVENT_TYPES as readonly string[]).includes(String(b.eventType))) {
					return json(res, 400, { message: `eventType must be one of ${PBX_EVENT_TYPES.join(', ')}` });
				}
				const fields: Record<string, string | undefined> = {};
				if (b.fields !== undefined) {
					if (typeof b.fields !== 'object' || b.fields === null || Array.isArray(b.fields)) {
						return json(res, 400, { message: 'fields must be an object' });
					}
					for (const [name, value] of Object.entries(b.fields)) {
						if (value !== null && typeof value !== 'string') {
							return json(res, 400, { message: 'fields values must be strings (null removes a field)' });
						}
						fields[name] = value ?? undefined;
					}
				}
				void this.fireEvent(extensionId, b.eventType as PbxEventType, fields).then(
					(deliveries) => json(res, 200, { ok: true, deliveries, ...this.state() }),
					(error: unknown) => json(res, 500, { message: error instanceof Error ? error.message : String(error) }),
				);
				return;
			}
			default: {
				const handled = this.commonControl(b);
				if (handled !== true) return json(res, 400, { message: handled === false ? 'Unknown action' : handled });
			}
		}
		json(res, 200, { ok: true, ...this.state() });
	}
}

/** Start a fake PBX on 127.0.0.1 (port 0 unless `options.port`). */
export async function startFakePbx(options: FakePbxOptions): Promise<FakePbx> {
	return new FakePbx(options).listen(options.port ?? 0);
}
