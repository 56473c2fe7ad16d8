/**
 * A strict fake of the B2COPY external-CRM API (docs/vendors.md §1, seed 000): the ES256
 * assertion exchange, refresh-token rotation, the fee call and a protected echo route.
 *
 * Where the vendor's behaviour is UNKNOWN, the fake is configurable (key id from the JWS header
 * and/or the `key_id` claim, four response shapes, expiry fields present or not) so tests can
 * exercise more than one plausible answer.
 *
 * Exchange checks, in this order (the first failure answers, `{code, message}`):
 *   400 bad_content_type | invalid_json | missing_external_token   (request body)
 *   401 malformed_token        not a compact JWS with a JSON header and a JSON object payload
 *   401 unsupported_alg        JWS header alg other than ES256 (including none)
 *   401 key_id_mismatch        header kid and claim key_id both present and different ('either')
 *   400 missing_claims         no key id where `keyIdFrom` looks for it
 *   401 unknown_key_id
 *   401 invalid_signature
 *   401 exp_missing            exp absent or not a number
 *   401 assertion_expired      exp <= now - clockSkewSec
 *   401 exp_too_far            exp - now > maxAssertionLifetimeSec
 *   401 iat_in_future          iat > now + clockSkewSec (iat is optional; if present, a number)
 *   401 not_yet_valid          nbf > now + clockSkewSec
 *   400 missing_claims         admin_id (string|number) or device_ip (string) missing
 *   401 replayed_assertion     jti (or, without jti, the token string) already used successfully
 *   403 unknown_admin          admin_id (compared as a string) not registered
 *   403 device_ip_not_allowed  device_ip not in the admin's allowedIps
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import {
	SignJWT,
	decodeJwt,
	decodeProtectedHeader,
	errors,
	importPKCS8,
	importSPKI,
	jwtVerify,
} from 'jose';
import type { JWTPayload } from 'jose';

type VerifyKey = Awaited<ReturnType<typeof importSPKI>>;
import {
	CONTROL_PREFIX,
	ExpiryCountdown,
	FakeServer,
	isPlainObject,
	json,
	parseBearer,
	readJsonObject,
} from './common';
import type { ControlOutcome, FakeRequest } from './common';

export const B2COPY_PATHS = {
	exchange: '/api/admin/auth/v2/admin/adminservice/authexternalcrm',
	refresh: '/api/admin/auth/v2/admin/adminservice/refreshtoken',
	fee: '/api/admin/fees/v2/fee/feeservice/processext',
	echo: '/api/admin/test/echo',
	state: '/__fake/state',
	control: '/__fake/control',
} as const;

export type B2CopyResponseShape = 'snake' | 'camel' | 'camelObject' | 'wrapped';
export type B2CopyKeyIdFrom = 'claim' | 'header' | 'either';

export interface FakeB2CopyOptions {
	/** keyId → SPKI public PEM (P-256). Validated at start. */
	keys: Record<string, string>;
	/** adminId → the device IPs allowed for it. */
	admins: Record<string, { allowedIps: string[] }>;
	accessTokenTtlSec?: number;
	refreshTokenTtlSec?: number;
	/** `exp - now` beyond this → 401 exp_too_far. */
	maxAssertionLifetimeSec?: number;
	clockSkewSec?: number;
	keyIdFrom?: B2CopyKeyIdFrom;
	responseShape?: B2CopyResponseShape;
	/** false: no expires_in / expiresIn / expiresAt anywhere (the access JWT still has exp). */
	includeExpiry?: boolean;
	/** PENDING answers per request_id before SUCCESS (or a scripted ERROR). */
	feePendingPolls?: number;
	/** The status a dead, unknown or missing access token gets: 401 (default) or 403. */
	deadTokenStatus?: 401 | 403;
	port?: number;
	/** Clock in epoch milliseconds (default Date.now); lets tests move time. */
	now?: () => number;
}

export interface B2CopySettings {
	accessTokenTtlSec: number;
	refreshTokenTtlSec: number;
	maxAssertionLifetimeSec: number;
	clockSkewSec: number;
	keyIdFrom: B2CopyKeyIdFrom;
	responseShape: B2CopyResponseShape;
	includeExpiry: boolean;
	feePendingPolls: number;
	admins: Record<string, { allowedIps: string[] }>;
	deadTokenStatus: 401 | 403;
}

export interface B2CopyCounters {
	/** Requests to the exchange route that reached the vendor logic. */
	exchanges: number;
	exchangesOk: number;
	refreshes: number;
	refreshesOk: number;
	/** Requests to protected routes (fee, echo), authorised or not. */
	protectedRequests: number;
	/** Protected requests whose Bearer token was accepted. */
	protectedOk: number;
	/** Refusals by cause (the `code` of the answer; refresh causes are finer than the answer). */
	refusals: Record<string, number>;
}

interface AccessRecord {
	adminId: string;
	expMs: number;
	forcedExpired: boolean;
}

interface RefreshRecord {
	adminId: string;
	expMs: number;
	state: 'live' | 'used' | 'revoked';
}

interface FeeRecord {
	accountLogin: string;
	polls: number;
}

class Refusal {
	constructor(
		readonly status: number,
		readonly code: string,
		readonly message: string,
	) {}
}

const base64url = (input: Buffer | string): string => Buffer.from(input).toString('base64url');

function emptyCounters(): B2CopyCounters {
	return {
		exchanges: 0,
		exchangesOk: 0,
		refreshes: 0,
		refreshesOk: 0,
		protectedRequests: 0,
		protectedOk: 0,
		refusals: {},
	};
}

export class FakeB2Copy extends FakeServer {
	/** Live settings; tests may change them between requests. */
	readonly settings: B2CopySettings;

	private readonly keys = new Map<string, VerifyKey>();
	private readonly now: () => number;
	private readonly secret = randomBytes(32);
	private readonly accessTokens = new Map<string, AccessRecord>();
	private readonly refreshTokens = new Map<string, RefreshRecord>();
	private readonly usedAssertions = new Set<string>();
	private readonly fees = new Map<string, FeeRecord>();
	private readonly feeErrors = new Map<string, string>();
	private counts: B2CopyCounters = emptyCounters();
	private readonly expiry = new ExpiryCountdown('expireAccessTokensAfter', () => this.expireAccessTokens());

	constructor(options: FakeB2CopyOptions) {
		super(undefined, { name: 'B2COPY' });
		this.now = options.now ?? Date.now;
		this.settings = {
			accessTokenTtlSec: options.accessTokenTtlSec ?? 60,
			refreshTokenTtlSec: options.refreshTokenTtlSec ?? 3600,
			maxAssertionLifetimeSec: options.maxAssertionLifetimeSec ?? 3600,
			clockSkewSec: options.clockSkewSec ?? 120,
			keyIdFrom: options.keyIdFrom ?? 'either',
			responseShape: options.responseShape ?? 'snake',
			includeExpiry: options.includeExpiry ?? true,
			feePendingPolls: options.feePendingPolls ?? 2,
			admins: { ...options.admins },
			deadTokenStatus: options.deadTokenStatus ?? 401,
		};
	}

	/** Register (or replace) a public key; rejects anything but a P-256 SPKI PEM. */
	async registerKey(keyId: string, publicPem: string): Promise<void> {
		let key: VerifyKey;
		try {
			key = await importSPKI(publicPem, 'ES256');
		} catch (error) {
			throw new Error(
				`Fake B2COPY: key ${keyId} is not a P-256 public key (${(error as Error).message})`,
			);
		}
		this.keys.set(keyId, key);
	}

	removeKey(keyId: string): void {
		this.keys.delete(keyId);
	}

	/** A snapshot of the counters. */
	get counters(): B2CopyCounters {
		return { ...this.counts, refusals: { ...this.counts.refusals } };
	}

	/** Zero the counters (tokens, replay memory and fee state are kept). */
	reset(): void {
		this.counts = emptyCounters();
	}

	/** Every access token issued so far becomes expired. */
	expireAccessTokens(): void {
		for (const record of this.accessTokens.values()) record.forcedExpired = true;
		this.expiry.cancel();
	}

	/**
	 * After `n` more protected requests with an accepted token, every access token issued up to
	 * that moment expires (n = 0: now).
	 */
	expireAccessTokensAfter(n: number): void {
		this.expiry.start(n);
	}

	/** Every live refresh token is revoked (401 Invalid refresh token from now on). */
	revokeRefreshTokens(): void {
		for (const record of this.refreshTokens.values()) {
			if (record.state === 'live') record.state = 'revoked';
		}
	}

	/** Every access and refresh token ever issued, oldest first (for leak tests). */
	issuedTokens(): { access: string[]; refresh: string[] } {
		return { access: [...this.accessTokens.keys()], refresh: [...this.refreshTokens.keys()] };
	}

	/** After its PENDING polls, this request_id answers status 3 with `message`. */
	scriptFeeError(requestId: string, message: string): void {
		this.feeErrors.set(requestId, message);
	}

	/** How many times a request_id has been polled. */
	feePolls(requestId: string): number {
		return this.fees.get(requestId)?.polls ?? 0;
	}

	protected async handle(request: FakeRequest): Promise<void> {
		const { method, path, res } = request;
		try {
			if (path.startsWith(CONTROL_PREFIX)) {
				this.handleControl(request);
				return;
			}
			switch (path) {
				case B2COPY_PATHS.exchange:
					if (method !== 'POST') return this.methodNotAllowed(request, ['POST']);
					return await this.handleExchange(request);
				case B2COPY_PATHS.refresh:
					if (method !== 'POST') return this.methodNotAllowed(request, ['POST']);
					return this.handleRefresh(request);
				case B2COPY_PATHS.fee:
					if (method !== 'POST') return this.methodNotAllowed(request, ['POST']);
					return this.handleProtected(request, (adminId) => this.handleFee(request, adminId));
				case B2COPY_PATHS.echo:
					if (method !== 'GET' && method !== 'POST')
						return this.methodNotAllowed(request, ['GET', 'POST']);
					return this.handleProtected(request, (adminId) => this.handleEcho(request, adminId));
				default:
					json(res, 404, { code: 'not_found', message: 'Not found' });
			}
		} catch (error) {
			if (!(error instanceof Refusal)) throw error;
			this.counts.refusals[error.code] = (this.counts.refusals[error.code] ?? 0) + 1;
			json(res, error.status, { code: error.code, message: error.message });
		}
	}

	private methodNotAllowed(request: FakeRequest, allowed: string[]): void {
		json(
			request.res,
			405,
			{ code: 'method_not_allowed', message: 'Method not allowed' },
			{ allow: allowed.join(', ') },
		);
	}

	private nowSec(): number {
		return Math.floor(this.now() / 1000);
	}

	private readBody(request: FakeRequest, field: string): Record<string, unknown> {
		const body = readJsonObject(request);
		if (!body.ok) {
			if (body.reason === 'content-type') {
				throw new Refusal(400, 'bad_content_type', 'Content-Type must be application/json');
			}
			if (body.reason !== 'empty')
				throw new Refusal(400, 'invalid_json', 'Request body must be a JSON object');
			throw new Refusal(400, `missing_${field}`, `${field} is required`);
		}
		return body.value;
	}

	// ---- exchange -------------------------------------------------------------------------------

	private async handleExchange(request: FakeRequest): Promise<void> {
		this.counts.exchanges++;
		const body = this.readBody(request, 'external_token');
		const token = body.external_token;
		if (typeof token !== 'string' || token.trim() === '') {
			throw new Refusal(400, 'missing_external_token', 'external_token is required');
		}
		const { adminId, replayKey } = await this.verifyAssertion(token);
		this.usedAssertions.add(replayKey);
		this.counts.exchangesOk++;
		json(request.res, 200, this.issuePair(adminId));
	}

	private async verifyAssertion(token: string): Promise<{ adminId: string; replayKey: string }> {
		const s = this.settings;
		let header: ReturnType<typeof decodeProtectedHeader>;
		let unverified: JWTPayload;
		try {
			if (token.split('.').length !== 3) throw new Error('not a compact JWS');
			header = decodeProtectedHeader(token);
			unverified = decodeJwt(token);
		} catch {
			throw new Refusal(401, 'malformed_token', 'Malformed token');
		}
		if (header.alg !== 'ES256') {
			throw new Refusal(401, 'unsupported_alg', 'Unsupported token algorithm; ES256 is required');
		}

		const headerKid = typeof header.kid === 'string' && header.kid !== '' ? header.kid : undefined;
		const rawClaimKid = unverified.key_id;
		const claimKid =
			(typeof rawClaimKid === 'string' && rawClaimKid !== '') || typeof rawClaimKid === 'number'
				? String(rawClaimKid)
				: undefined;
		let keyId: string | undefined;
		if (s.keyIdFrom === 'header') keyId = headerKid;
		else if (s.keyIdFrom === 'claim') keyId = claimKid;
		else {
			if (headerKid !== undefined && claimKid !== undefined && headerKid !== claimKid) {
				throw new Refusal(
					401,
					'key_id_mismatch',
					'Key id in the token header and key_id claim differ',
				);
			}
			keyId = headerKid ?? claimKid;
		}
		if (keyId === undefined) {
			const where =
				s.keyIdFrom === 'header'
					? 'kid header'
					: s.keyIdFrom === 'claim'
						? 'key_id claim'
						: 'key_id claim or kid header';
			throw new Refusal(400, 'missing_claims', `Missing required claims: ${where}`);
		}
		const key = this.keys.get(keyId);
		if (!key) throw new Refusal(401, 'unknown_key_id', 'Unknown key id');

		let payload: JWTPayload;
		try {
			({ payload } = await jwtVerify(token, key, {
				algorithms: ['ES256'],
				currentDate: new Date(this.now()),
				clockTolerance: s.clockSkewSec,
			}));
		} catch (error) {
			throw this.mapJoseError(error);
		}

		const now = this.nowSec();
		if (typeof payload.exp !== 'number')
			throw new Refusal(401, 'exp_missing', 'Token has no exp claim');
		if (payload.exp <= now - s.clockSkewSec)
			throw new Refusal(401, 'assertion_expired', 'Token has expired');
		if (payload.exp - now > s.maxAssertionLifetimeSec) {
			throw new Refusal(401, 'exp_too_far', 'Token exp is too far in the future');
		}
		if (payload.iat !== undefined) {
			if (typeof payload.iat !== 'number')
				throw new Refusal(401, 'iat_invalid', 'Token iat claim is invalid');
			if (payload.iat > now + s.clockSkewSec)
				throw new Refusal(401, 'iat_in_future', 'Token iat is in the future');
		}

		const rawAdmin = payload.admin_id;
		const adminOk =
			(typeof rawAdmin === 'string' && rawAdmin !== '') ||
			(typeof rawAdmin === 'number' && Number.isFinite(rawAdmin));
		const ipOk = typeof payload.device_ip === 'string' && payload.device_ip !== '';
		if (!adminOk || !ipOk) {
			const missing = [adminOk ? undefined : 'admin_id', ipOk ? undefined : 'device_ip'].filter(
				Boolean,
			);
			throw new Refusal(400, 'missing_claims', `Missing required claims: ${missing.join(', ')}`);
		}

		const jti = payload.jti;
		const replayKey = typeof jti === 'string' && jti !== '' ? `jti:${jti}` : `token:${token}`;
		if (this.usedAssertions.has(replayKey))
			throw new Refusal(401, 'replayed_assertion', 'Token has already been used');

		const adminId = String(rawAdmin);
		const admin = Object.prototype.hasOwnProperty.call(s.admins, adminId)
			? s.admins[adminId]
			: undefined;
		if (!admin) throw new Refusal(403, 'unknown_admin', 'Unknown admin');
		if (!admin.allowedIps.includes(payload.device_ip as string)) {
			throw new Refusal(403, 'device_ip_not_allowed', 'Device IP is not allowed for this admin');
		}
		return { adminId, replayKey };
	}

	private mapJoseError(error: unknown): Refusal {
		if (error instanceof errors.JWSSignatureVerificationFailed) {
			return new Refusal(401, 'invalid_signature', 'Invalid token signature');
		}
		if (error instanceof errors.JWTExpired)
			return new Refusal(401, 'assertion_expired', 'Token has expired');
		if (error instanceof errors.JWTClaimValidationFailed) {
			if (error.claim === 'exp') return new Refusal(401, 'exp_missing', 'Token has no exp claim');
			if (error.claim === 'nbf') return new Refusal(401, 'not_yet_valid', 'Token is not yet valid');
			if (error.claim === 'iat')
				return new Refusal(401, 'iat_invalid', 'Token iat claim is invalid');
		}
		if (error instanceof errors.JOSEAlgNotAllowed) {
			return new Refusal(401, 'unsupported_alg', 'Unsupported token algorithm; ES256 is required');
		}
		// Includes a P-384/other-curve signature that jose cannot even parse as ES256.
		if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) {
			return new Refusal(401, 'malformed_token', 'Malformed token');
		}
		return new Refusal(401, 'invalid_signature', 'Invalid token signature');
	}

	// ---- tokens ---------------------------------------------------------------------------------

	private signAccessToken(adminId: string, iat: number, exp: number): string {
		const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
		const payload = base64url(
			JSON.stringify({
				iss: 'fake-b2copy',
				sub: adminId,
				admin_id: adminId,
				iat,
				exp,
				jti: randomUUID(),
			}),
		);
		const signature = createHmac('sha256', this.secret)
			.update(`${header}.${payload}`)
			.digest('base64url');
		return `${header}.${payload}.${signature}`;
	}

	private issuePair(adminId: string): unknown {
		const s = this.settings;
		const nowMs = this.now();
		const iat = Math.floor(nowMs / 1000);
		const access = this.signAccessToken(adminId, iat, iat + s.accessTokenTtlSec);
		const refresh = randomBytes(32).toString('base64url');
		const accessExpMs = (iat + s.accessTokenTtlSec) * 1000;
		const refreshExpMs = nowMs + s.refreshTokenTtlSec * 1000;
		this.accessTokens.set(access, { adminId, expMs: accessExpMs, forcedExpired: false });
		this.refreshTokens.set(refresh, { adminId, expMs: refreshExpMs, state: 'live' });

		const expiry = s.includeExpiry;
		const snake = {
			access_token: access,
			refresh_token: refresh,
			...(expiry ? { expires_in: s.accessTokenTtlSec } : {}),
			token_type: 'Bearer',
		};
		switch (s.responseShape) {
			case 'snake':
				return snake;
			case 'wrapped':
				return { data: snake };
			case 'camel':
				return {
					accessToken: access,
					refreshToken: refresh,
					...(expiry ? { expiresIn: s.accessTokenTtlSec } : {}),
				};
			case 'camelObject': {
				const createdAt = new Date(nowMs).toISOString();
				return {
					accessToken: {
						token: access,
						createdAt,
						...(expiry ? { expiresAt: new Date(accessExpMs).toISOString() } : {}),
					},
					refreshToken: {
						token: refresh,
						createdAt,
						...(expiry ? { expiresAt: new Date(refreshExpMs).toISOString() } : {}),
					},
				};
			}
		}
	}

	// ---- refresh --------------------------------------------------------------------------------

	private handleRefresh(request: FakeRequest): void {
		this.counts.refreshes++;
		const body = this.readBody(request, 'refresh_token');
		const token = body.refresh_token;
		if (typeof token !== 'string' || token === '') {
			throw new Refusal(400, 'missing_refresh_token', 'refresh_token is required');
		}
		const record = this.refreshTokens.get(token);
		let cause: string | undefined;
		if (!record) cause = 'refresh_unknown';
		else if (record.state === 'used') cause = 'refresh_reused';
		else if (record.state === 'revoked') cause = 'refresh_revoked';
		else if (this.now() >= record.expMs) cause = 'refresh_expired';
		if (cause || !record) {
			const key = cause ?? 'refresh_unknown';
			this.counts.refusals[key] = (this.counts.refusals[key] ?? 0) + 1;
			json(request.res, 401, { code: 'invalid_refresh_token', message: 'Invalid refresh token' });
			return;
		}
		record.state = 'used';
		this.counts.refreshesOk++;
		json(request.res, 200, this.issuePair(record.adminId));
	}

	// ---- protected routes -----------------------------------------------------------------------

	private handleProtected(request: FakeRequest, next: (adminId: string) => void): void {
		this.counts.protectedRequests++;
		const token = parseBearer(request.headers);
		const status = this.settings.deadTokenStatus;
		const headers: Record<string, string> = status === 401 ? { 'www-authenticate': 'Bearer' } : {};
		const refuse = (code: string, message: string): void => {
			this.counts.refusals[code] = (this.counts.refusals[code] ?? 0) + 1;
			json(request.res, status, { code, message }, headers);
		};
		if (token === undefined) return refuse('missing_access_token', 'Missing access token');
		const record = this.accessTokens.get(token);
		if (!record) return refuse('invalid_access_token', 'Invalid access token');
		if (record.forcedExpired || this.now() >= record.expMs) {
			return refuse('access_token_expired', 'Access token expired');
		}
		this.counts.protectedOk++;
		this.expiry.count();
		next(record.adminId);
	}

	private handleFee(request: FakeRequest, _adminId: string): void {
		const body = this.readBody(request, 'account_login');
		const accountLogin = body.account_login;
		const requestId = body.request_id;
		const missing = [
			typeof accountLogin === 'string' && accountLogin !== '' ? undefined : 'account_login',
			typeof requestId === 'string' && requestId !== '' ? undefined : 'request_id',
		].filter(Boolean);
		if (missing.length > 0) {
			throw new Refusal(
				400,
				'invalid_request',
				`Missing or invalid fields: ${missing.join(', ')} (strings required)`,
			);
		}
		const login = accountLogin as string;
		const id = requestId as string;
		let record = this.fees.get(id);
		if (record && record.accountLogin !== login) {
			throw new Refusal(
				409,
				'request_id_conflict',
				'request_id was already used with another account_login',
			);
		}
		if (!record) {
			record = { accountLogin: login, polls: 0 };
			this.fees.set(id, record);
		}
		record.polls++;
		const answer: Record<string, unknown> = { account_login: login, request_id: id };
		const scriptedError = this.feeErrors.get(id);
		if (record.polls <= this.settings.feePendingPolls) answer.status = 1;
		else if (scriptedError !== undefined) {
			answer.status = 3;
			answer.message = scriptedError;
		} else answer.status = 2;
		json(request.res, 200, answer);
	}

	private handleEcho(request: FakeRequest, adminId: string): void {
		if (request.method === 'GET') {
			json(request.res, 200, { ok: true, admin_id: adminId, query: request.query });
			return;
		}
		const body = readJsonObject(request);
		if (!body.ok && body.reason !== 'empty') {
			throw new Refusal(400, 'invalid_json', 'Request body must be a JSON object');
		}
		json(request.res, 200, { ok: true, admin_id: adminId, body: body.ok ? body.value : {} });
	}

	// ---- control plane --------------------------------------------------------------------------

	private state(): Record<string, unknown> {
		return {
			counters: this.counters,
			latencyMs: this.latencyMs,
			pendingFaults: this.pendingFaults,
			issued: { access: this.accessTokens.size, refresh: this.refreshTokens.size },
			requestsLogged: this.requests.length,
		};
	}

	private handleControl(request: FakeRequest): void {
		this.handleControlRoutes(request, B2COPY_PATHS, () => this.state(), (b) => this.control(b));
	}

	/** B2COPY's own control actions. */
	private control(b: Record<string, unknown>): ControlOutcome {
		switch (b.action) {
			case 'expireAccessTokens':
				this.expireAccessTokens();
				return true;
			case 'expireAccessTokensAfter':
				if (typeof b.n !== 'number' || !Number.isInteger(b.n) || b.n < 0) return 'n must be an integer >= 0';
				this.expireAccessTokensAfter(b.n);
				return true;
			case 'revokeRefreshTokens':
				this.revokeRefreshTokens();
				return true;
			case 'reset':
				this.reset();
				return true;
			case 'scriptFeeError':
				if (typeof b.requestId !== 'string' || typeof b.message !== 'string') return 'requestId and message must be strings';
				this.scriptFeeError(b.requestId, b.message);
				return true;
			default:
				return false;
		}
	}
}

/** Start a fake B2COPY on 127.0.0.1 (port 0 unless `options.port`). */
export async function startFakeB2Copy(options: FakeB2CopyOptions): Promise<FakeB2Copy> {
	const fake = new FakeB2Copy(options);
	for (const [keyId, pem] of Object.entries(options.keys)) await fake.registerKey(keyId, pem);
	return fake.listen(options.port ?? 0);
}

export interface B2CopyAssertionOptions {
	adminId?: string | number;
	deviceIp?: string;
	keyId?: string;
	/** Put the key id in the JWS header `kid` (default true). A string overrides its value. */
	kidHeader?: boolean | string;
	/** Put the key id in the `key_id` claim (default true). A string overrides its value. */
	keyIdClaim?: boolean | string;
	/** Seconds since the epoch; default now − 60. `null` omits iat. */
	iat?: number | null;
	/** Seconds since the epoch; default now + 300. `null` omits exp. */
	exp?: number | null;
	/** Default a random UUID; `null` omits jti. */
	jti?: string | null;
	/** Extra or overriding claims (`undefined` values delete a claim). */
	claims?: Record<string, unknown>;
	/** Clock in ms (default Date.now). */
	now?: number;
}

/**
 * Sign a B2COPY assertion with jose, for tests of the fake and of the client. Defaults follow
 * docs/vendors.md: kid header + key_id claim, iat = now − 60, exp = now + 300, a random jti.
 */
export async function signB2CopyAssertion(
	privatePkcs8Pem: string,
	options: B2CopyAssertionOptions = {},
): Promise<string> {
	const nowSec = Math.floor((options.now ?? Date.now()) / 1000);
	const keyId = options.keyId ?? 'key-1';
	const payload: Record<string, unknown> = {
		admin_id: options.adminId ?? 'admin-1',
		device_ip: options.deviceIp ?? '203.0.113.10',
	};
	const keyIdClaim = options.keyIdClaim ?? true;
	if (keyIdClaim !== false) payload.key_id = keyIdClaim === true ? keyId : keyIdClaim;
	const iat = options.iat === undefined ? nowSec - 60 : options.iat;
	const exp = options.exp === undefined ? nowSec + 300 : options.exp;
	const jti = options.jti === undefined ? randomUUID() : options.jti;
	if (iat !== null) payload.iat = iat;
	if (exp !== null) payload.exp = exp;
	if (jti !== null) payload.jti = jti;
	for (const [name, value] of Object.entries(options.claims ?? {})) {
		if (value === undefined) delete payload[name];
		else payload[name] = value;
	}
	const kidHeader = options.kidHeader ?? true;
	const header: { alg: string; typ: string; kid?: string } = { alg: 'ES256', typ: 'JWT' };
	if (kidHeader !== false) header.kid = kidHeader === true ? keyId : kidHeader;
	const key = await importPKCS8(privatePkcs8Pem, 'ES256');
	return new SignJWT(payload).setProtectedHeader(header).sign(key);
}

/** True when `value` is a JSON object with a string `message` (the fake's error shape). */
export function isB2CopyError(value: unknown): value is { code: string; message: string } {
	return (
		isPlainObject(value) && typeof value.message === 'string' && typeof value.code === 'string'
	);
}
