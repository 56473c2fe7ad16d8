/**
 * Token renewal, single per run and, where n8n allows it, across executions and worker processes.
 * n8n runs a credential's `preAuthentication` only when the token property is empty or after a
 * 401, per request. So the client recognises a refused token by the vendor's rule
 * (`isAuthFailure`: 401, 403, an error envelope…), or a token known to be expired (`expiresAt`)
 * or minted from since-edited inputs (`inputsChanged`), and renews once for all requests in
 * flight: one request goes with the token property blanked, n8n runs `preAuthentication`,
 * persists the token and merges it into the shared object; the others wait and resend with it.
 * Before renewing, the store is read again (another execution may have stored a fresh token),
 * and the renewal runs under a lock in n8n's processed-items store (renewLock.ts); executions
 * that do not get the lock wait for the holder's token and adopt it.
 */
import type { ICredentialDataDecryptedObject, IHttpRequestOptions } from 'n8n-workflow';
import { sleep } from 'n8n-workflow';

import type {
	RenewalLink,
	RequestContext,
	SendOptions,
	ShapedFailure,
	TokenGate,
	VendorProfile,
	VendorResponse,
} from './clientTypes';
import { findTokenError, vendorMessage } from './errors';
import { lockOrAdopt, processedItemsLock } from './renewLock';

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

/** The credential of one client, its token and the renewal of it. */
export class TokenKeeper implements TokenGate {
	private credentials?: ICredentialDataDecryptedObject;
	private loading?: Promise<ICredentialDataDecryptedObject>;
	private changedInputs = false;
	generation = 0;
	private staleGeneration = -1;
	private renewal?: Promise<void>;
	/** The generation whose renewal already re-checked the store (see recheckStore). */
	private recheckedGeneration = -1;
	adoptedGeneration = -1;
	private readonly marginMs = EXPIRY_MARGIN_MS + Math.floor(Math.random() * renewalTiming.marginJitterMs);
	private renewalError?: ShapedFailure;
	/** Releases the renewal lock this client holds until its renewal ends (renewLock.ts). */
	private heldLock?: () => Promise<void>;
	/** A renewal of this run already failed for a network reason (one more is allowed). */
	private networkRenewalFailed = false;

	/** How many token renewals this client caused (for logs and tests). */
	renewals = 0;
	/** How many times this client took a token another execution had stored (for tests). */
	adoptions = 0;
	/** How many times this client held the cross-process renewal lock (for tests). */
	lockHolds = 0;

	constructor(
		private readonly ctx: RequestContext,
		private readonly profile: VendorProfile,
		private readonly link: RenewalLink,
	) {}

	/** The credential as this client holds it now, if it was read. */
	get current(): ICredentialDataDecryptedObject | undefined {
		return this.credentials;
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

	/**
	 * Whether a refused answer is worth a new token: always for a refusal that is surely about the
	 * token (401, an error envelope, a 403 that speaks of the token); for a bare 403 (perhaps a
	 * permission refusal) only the first time in this run.
	 */
	worthRenewing(response: VendorResponse): boolean {
		if (response.statusCode !== 403 || forbiddenSpeaksOfToken(response)) return true;
		if (this.link.forbidden.spent) return false;
		this.link.forbidden.spent = true;
		return true;
	}

	markStale(generation: number): void {
		if (generation === this.generation) this.staleGeneration = generation;
	}

	async send(request: IHttpRequestOptions, options: SendOptions): Promise<VendorResponse> {
		if (!this.profile.tokenProperty) return await this.link.raw(request, undefined, options.what);
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
				return await this.link.raw(request, credentials, options.what);
			}
			if (this.recheckedGeneration !== this.generation) {
				await this.recheckStore(credentials);
				continue;
			}
			return await this.renewWith(request, credentials, options);
		}
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
			const lock = this.link.lockWanted() ? processedItemsLock(this.ctx.helpers) : undefined;
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
		const outcome = await this.link.raw(request, fresh, options.what).then(
			(response) => ({ response }),
			(error: unknown) => ({ error }),
		);
		const renewed = typeof fresh[property] === 'string' && fresh[property] !== '';
		let failure: ShapedFailure | undefined;
		if (renewed) {
			this.adopt(fresh);
		} else if ('error' in outcome) {
			failure = await this.link.renewalFailure(outcome.error, options);
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
}
