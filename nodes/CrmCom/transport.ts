/**
 * The only place the CRM.COM node talks HTTP. CRM.COM answers with an envelope
 * `{data, status: {code, message, description}}`, often with HTTP 200 even when it failed, and
 * a refused or expired session token may come back as 401, 403 or such an envelope. The
 * VendorClient treats all three as "token refused": it logs in again once (through the
 * credential's preAuthentication, so the new token is persisted) and resends.
 */
import type { ICredentialDataDecryptedObject, IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { VendorClient, isOk, type ClientOptions, type SendOptions, type VendorProfile, type VendorResponse } from '../shared/client';
import { looksLikeHtml, redact } from '../shared/errors';
export { plainHttp } from '../shared/token';
import {
	type Envelope,
	CRMCOM_CREDENTIAL_TYPE,
	crmComExpiresAt,
	crmComFingerprint,
	envelopeText,
	isEnvelope,
	isOkEnvelope,
	normalizeCrmComBase,
} from './auth';
import { allowsInsecureHttp } from '../shared/host';

/**
 * CRM.COM does not document the codes of an expired or unknown token (see vendors.md), so an
 * envelope failure counts as "token refused" when its code or words speak of tokens, sessions
 * or authentication. Business failures (not found, invalid value) do not cause a new login.
 */
const TOKEN_WORDS = /token|session|auth|expired|unauthori[sz]ed|not logged|login|credential|forbidden/i;

export function isCrmComAuthFailure(response: VendorResponse): boolean {
	if (response.statusCode === 401 || response.statusCode === 403) return true;
	const body = response.body;
	if (!isEnvelope(body) || isOkEnvelope(body)) return false;
	// "Not found" is an answer about the data, whatever the message quotes (a contact named
	// "Session Tokens Ltd"); only a code that itself names the token or session is a refusal.
	if (isNotFoundEnvelope(body)) return false;
	return TOKEN_WORDS.test(envelopeText(body));
}

export const crmComProfile: VendorProfile = {
	vendor: 'CRM.COM',
	credentialType: CRMCOM_CREDENTIAL_TYPE,
	hostField: 'Server URL',
	tokenProperty: 'sessionToken',
	expiresAt: crmComExpiresAt,
	inputsChanged: (credentials: ICredentialDataDecryptedObject) =>
		typeof credentials.sessionToken === 'string' &&
		credentials.sessionToken !== '' &&
		credentials.inputsFingerprint !== crmComFingerprint(credentials),
	isAuthFailure: isCrmComAuthFailure,
	baseUrl: (credentials: ICredentialDataDecryptedObject) => normalizeCrmComBase(credentials.serverUrl, allowsInsecureHttp(credentials)),
	secrets: (credentials: ICredentialDataDecryptedObject) => [
		credentials.consumerKey,
		credentials.authenticationCode,
		credentials.passCode,
		credentials.jwt,
		credentials.sessionToken,
	],
};

export type CrmComMethod = 'GET' | 'POST';

const ITEM_REFUSAL = 'crmComRefusedItem';

/** Marks an error as CRM.COM's refusal of one item's data (not an outage, not a token problem). */
export function markItemRefusal<E extends NodeApiError | NodeOperationError>(error: E): E {
	error.context[ITEM_REFUSAL] = true;
	return error;
}

/**
 * True when an error is about one item only: a parameter of the item (NodeOperationError) or
 * CRM.COM refusing its data with an error envelope. Everything else — no answer, a timeout,
 * HTTP 5xx, 429 after the retries, a refused session token — means CRM.COM cannot be written
 * to right now: a write step stops the run then, whatever its On Error setting, so nothing is
 * reported as done without its write (for the call sync: every call comes again).
 */
export function isItemRefusal(error: unknown): boolean {
	if (error instanceof NodeOperationError) return true;
	return error instanceof NodeApiError && error.context[ITEM_REFUSAL] === true;
}

/** True for CRM.COM's "no such record" envelope codes (NOT_FOUND, CONTACT_NOT_FOUND, …). */
export function isNotFoundEnvelope(body: unknown): boolean {
	if (!isEnvelope(body) || isOkEnvelope(body)) return false;
	const code = String(body.status?.code ?? '').toUpperCase();
	return /(^|_)NOT_FOUND$/.test(code) && !/TOKEN|SESSION|AUTH/.test(code);
}

/** What a lookup found: the record's data, or nothing (with CRM.COM's words for it). */
export type Lookup = { found: true; data: unknown } | { found: false; said: string };

/**
 * A non-idempotent request (a create or update) that broke off without an answer may have been
 * carried out. The client never sends it again; this says so, and what to check.
 */
const WRITE_UNCERTAIN =
	'The request may have reached CRM.COM before the connection broke, so it was not sent again (that could change the contact twice). Check the contact in CRM.COM before running the workflow again.';

export class CrmComClient extends VendorClient {
	/**
	 * Calls `resource/action` with parameters (query for GET, JSON body for POST) and returns the
	 * envelope's `data`; a non-OK status becomes an error quoting CRM.COM's message.
	 */
	async call(method: CrmComMethod, action: string, params: IDataObject, options: SendOptions): Promise<unknown> {
		return (await this.envelope(method, action, params, options, false)).data;
	}

	/**
	 * Like `call`, but CRM.COM's "not found" (a NOT_FOUND envelope with HTTP 200 or 404, or an
	 * OK envelope whose data is null or an empty list) is an answer, not an error.
	 */
	async lookup(method: CrmComMethod, action: string, params: IDataObject, options: SendOptions): Promise<Lookup> {
		const body = await this.envelope(method, action, params, options, true);
		if (!isOkEnvelope(body)) return { found: false, said: redact(envelopeText(body), await this.secrets()) };
		const data = body.data;
		// An empty object stays a result: fields_set may have trimmed every field of a real record.
		const empty = data === null || data === undefined || (Array.isArray(data) && data.length === 0);
		return empty ? { found: false, said: 'no contact in its answer (status OK, no data)' } : { found: true, data };
	}

	/**
	 * The client's error for a request that got no answer. A write (not idempotent) lost on the
	 * network was not resent; its message says that it may have happened.
	 */
	private sendFailure(error: unknown, method: CrmComMethod, options: SendOptions): NodeApiError | NodeOperationError {
		if (error instanceof NodeOperationError) return error;
		const idempotent = options.idempotent ?? method === 'GET';
		const failure =
			error instanceof NodeApiError
				? error
				: new NodeApiError(this.node, { message: error instanceof Error ? error.message : String(error) }, { itemIndex: options.itemIndex });
		if (!idempotent && /^Could not reach /.test(failure.message)) failure.description = WRITE_UNCERTAIN;
		return failure;
	}

	private async envelope(
		method: CrmComMethod,
		action: string,
		params: IDataObject,
		options: SendOptions,
		notFoundIsAnswer: boolean,
	): Promise<Envelope> {
		const url = `${await this.baseUrl()}/${action.replace(/^\/+/, '')}`;
		let response: VendorResponse;
		try {
			response = await this.send(
				method === 'GET' ? { method, url, qs: params, json: true } : { method, url, body: params, json: true },
				options,
			);
		} catch (error) {
			throw this.sendFailure(error, method, options);
		}
		const what = options.what ?? action;
		const body = response.body;
		if (notFoundIsAnswer && isNotFoundEnvelope(body)) return body as Envelope;
		if (isEnvelope(body) && !isOkEnvelope(body)) {
			const secrets = await this.secrets();
			const refused = this.isAuthFailure(response);
			const message = redact(
				refused
					? `CRM.COM refused the session token for ${what} even after logging in again: ${envelopeText(body)}`
					: `CRM.COM refused ${what}: ${envelopeText(body)}`,
				secrets,
			);
			const error = new NodeApiError(this.node, { message, httpCode: String(response.statusCode) }, {
				message,
				description: refused
					? 'The login works but this call is not allowed with it: check the access token\'s permissions in CRM.COM.'
					: undefined,
				httpCode: String(response.statusCode),
				itemIndex: options.itemIndex,
			});
			// CRM.COM answered and refused this request for its own data (an invalid value, no such
			// record): the item failed, the service did not. The same envelope with HTTP 5xx, 408 or
			// 429 is the service failing: an outage.
			const status = response.statusCode;
			if (!refused && status < 500 && status !== 408 && status !== 429) markItemRefusal(error);
			throw error;
		}
		if (!isOk(response) || looksLikeHtml(body)) throw await this.errorFor(response, options);
		if (!isEnvelope(body)) {
			const message = `CRM.COM answered ${what} without its usual {data, status} envelope`;
			throw new NodeApiError(this.node, { message }, {
				message,
				description: 'Check the "Server URL" of the credential: it must point at the CRM.COM Web API (…/crmapi/rest/v2).',
				itemIndex: options.itemIndex,
			});
		}
		return body;
	}
}

export function createCrmComClient(ctx: IExecuteFunctions, options: ClientOptions = {}): CrmComClient {
	return new CrmComClient(ctx, crmComProfile, options);
}


/** A list answer's rows, whether `data` is the array or holds it. */
export function rowsOf(data: unknown): IDataObject[] {
	if (Array.isArray(data)) return data as IDataObject[];
	if (typeof data === 'object' && data !== null) {
		for (const value of Object.values(data)) if (Array.isArray(value)) return value as IDataObject[];
	}
	return [];
}
