/**
 * The client's errors, written for the user: a non-2xx answer (status, the vendor's words, what
 * to check), a 2xx that is no API answer (an HTML page, damaged JSON), and a failure without an
 * answer (network, refused redirect, failed renewal). Never a request config, never a secret:
 * every message is redacted with the credential's secrets.
 */
import type { ICredentialDataDecryptedObject } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import type { SendOptions, ShapedFailure, ShapingFacts, VendorProfile, VendorResponse } from './clientTypes';
import {
	describeNetworkError,
	findTokenError,
	innermostMessage,
	looksLikeHtml,
	redact,
	statusLabel,
	vendorMessage,
} from './errors';
import { RedirectRefusedError } from './redirect';
import { header } from './response';

/** The values to keep out of messages: the profile's secrets and the token. */
export function secretsOf(profile: VendorProfile, credentials: ICredentialDataDecryptedObject): unknown[] {
	const list = profile.secrets(credentials);
	if (profile.tokenProperty) list.push(credentials[profile.tokenProperty]);
	return list;
}

/**
 * Throws unless the answer is a usable 2xx: not an error status, not an HTML page (a proxy or
 * login page answering instead of the API), not JSON cut off or damaged on its way.
 */
export async function checkAnswer(
	facts: ShapingFacts,
	response: VendorResponse,
	options: SendOptions,
	binary = false,
): Promise<void> {
	if (response.statusCode < 200 || response.statusCode >= 300) throw await errorFor(facts, response, options);
	if (binary || typeof response.body !== 'string' || response.body.trim() === '') return;
	if (looksLikeHtml(response.body)) throw await errorFor(facts, response, options);
	if (/json/i.test(header(response.headers, 'content-type') ?? '')) {
		const { vendor, hostField } = facts.profile;
		const message = `${vendor} answered ${options.what ?? 'the request'} with JSON that could not be read (${statusLabel(response.statusCode)})`;
		throw new NodeApiError(facts.node(), { message }, {
			message,
			description: `The answer was cut off or damaged on its way. Run the workflow again; if it persists, check the "${hostField}" field of the credential and any proxy in between.`,
			httpCode: String(response.statusCode),
			itemIndex: options.itemIndex,
		});
	}
}

/** A NodeApiError for a non-2xx answer: status, the vendor's words, what to check. */
export async function errorFor(
	facts: ShapingFacts,
	response: VendorResponse,
	options: SendOptions,
	hint?: string,
): Promise<NodeApiError> {
	const secrets = await facts.secrets();
	const said = vendorMessage(response.body);
	const what = options.what ?? 'the request';
	const { vendor, hostField } = facts.profile;
	const { maxRetryAfterMs, maxRateLimitRetries } = facts.limits;
	let message: string;
	let description: string | undefined = hint;
	const auth = facts.isAuthFailure(response);
	if (auth && response.renewed === false) {
		// A bare 403 after this run already tried a new token for one: a permission refusal.
		message = `${vendor} refused ${what} (${statusLabel(response.statusCode)})${said ? `: ${said}` : ''}`;
		description ??= `A new access token was already tried in this run and did not help, so this is most likely a permission: check that the ${vendor} user behind the credential may use this call, or reconnect the credential (open it and save it again) if its access was revoked.`;
	} else if (auth) {
		message = `${vendor} refused the access token for ${what} even after a new one was obtained (${statusLabel(response.statusCode)})${said ? `: ${said}` : ''}`;
		description ??= `The credential works for signing in but not for this call: check that the ${vendor} user behind the credential may use it (its permissions), or reconnect the credential (open it and save it again) if its access was revoked.`;
	} else if (response.retryAfterMs !== undefined) {
		message = `${vendor} answered ${what} with ${statusLabel(response.statusCode)} and asked to wait ${Math.round(response.retryAfterMs / 1000)} s, longer than this node waits (${Math.round(maxRetryAfterMs / 1000)} s)${said ? `: ${said}` : ''}`;
		description ??= 'The vendor is limiting requests: run the workflow again later.';
	} else if (response.statusCode === 429 || response.statusCode === 503) {
		message = `${vendor} kept answering ${statusLabel(response.statusCode)} to ${what} after ${response.attempts ?? maxRateLimitRetries + 1} tries${said ? `: ${said}` : ''}`;
		description ??=
			'The vendor is limiting requests (perhaps because of another workflow using the same account). Lower "Requests in Parallel" under Options, or run the workflow later.';
	} else if (looksLikeHtml(response.body)) {
		message = `${vendor} answered ${what} with an HTML page (${statusLabel(response.statusCode)}), not an API answer`;
		description ??=
			`Check the "${hostField}" field of the credential: it must be the API address of ${vendor}, not a web page or a proxy login page.`;
	} else {
		message = `${vendor} refused ${what} (${statusLabel(response.statusCode)})${said ? `: ${said}` : ''}`;
	}
	return new NodeApiError(
		facts.node(),
		{ message: redact(message, secrets), httpCode: String(response.statusCode) },
		{
			message: redact(message, secrets),
			description: description ? redact(description, secrets) : undefined,
			httpCode: String(response.statusCode),
			itemIndex: options.itemIndex,
		},
	);
}

/** One clean NodeApiError for a failure without an answer: no request config, no secrets. */
export async function wrapFailure(
	facts: ShapingFacts,
	error: unknown,
	options: SendOptions,
	code: string | undefined,
	duringRenewal = false,
): Promise<ShapedFailure> {
	if (error instanceof RedirectRefusedError) {
		return new NodeApiError(
			facts.node(),
			{ message: error.message, httpCode: String(error.status) },
			{ message: error.message, description: error.description, httpCode: String(error.status), itemIndex: options.itemIndex },
		);
	}
	if (error instanceof NodeOperationError) {
		// n8n's own sentences, e.g. OAuth2's "The credential … needs to be reconnected."
		if (error.context.itemIndex === undefined) error.context.itemIndex = options.itemIndex;
		return error;
	}
	const secrets = facts.knownSecrets();
	const { vendor, hostField } = facts.profile;
	let message: string;
	let description: string | undefined;
	if (code && !duringRenewal) {
		message = `Could not reach ${vendor} for ${options.what ?? 'the request'}: ${describeNetworkError(code)}`;
		description = `Check the "${hostField}" field of the credential, and that ${vendor} can be reached from the n8n server.`;
	} else {
		// Errors thrown by preAuthentication are full sentences written for the user.
		const tokenError = findTokenError(error);
		if (tokenError?.kind === 'input') {
			return new NodeOperationError(facts.node(), redact(tokenError.message, secrets), {
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
		facts.node(),
		{ message: safe },
		{
			message: safe,
			description: description ? redact(description, secrets) : undefined,
			itemIndex: options.itemIndex,
		},
	);
}
