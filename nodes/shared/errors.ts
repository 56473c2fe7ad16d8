/**
 * Error shaping shared by every vendor: find the vendor's own words in an answer, keep secrets
 * out of anything a user (or n8n's log) can see, and describe transport failures in plain words.
 */

const REDACTED = '[redacted]';

/** Anything that looks like a JWT (three base64url parts) or a Bearer value. */
const TOKEN_PATTERNS: RegExp[] = [
	/eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g,
	/(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi,
	/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g,
];

/** Secrets at least this long are removed wherever they appear, even inside a word. */
const ANYWHERE_LENGTH = 6;
/** Secrets of this length and up (and below ANYWHERE_LENGTH) are removed as whole words. */
const WHOLE_WORD_LENGTH = 3;

function escapeRegExp(text: string): string {
	return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Removes every given secret (and anything token-shaped) from a text meant for users or logs.
 *
 * Secrets of any length are removed, without destroying the sentence around a short one:
 * - 6 characters or more: every occurrence;
 * - 3 to 5 characters (a 4-digit pass code): every occurrence that is not part of a longer
 *   word or number ("pass code 4242 refused" → "pass code [redacted] refused", but "14242"
 *   and "x4242y" are left alone);
 * - 1 or 2 characters: only where the text quotes it as a value ("…", '…', `…`, or after
 *   `=` / `: `), since the same letters are everywhere in ordinary words.
 */
export function redact(text: string, secrets: ReadonlyArray<unknown> = []): string {
	let out = text;
	const list = secrets
		.filter((secret): secret is string => typeof secret === 'string' && secret.trim() !== '')
		.sort((a, b) => b.length - a.length);
	for (const secret of list) {
		if (secret.length >= ANYWHERE_LENGTH) {
			out = out.split(secret).join(REDACTED);
			continue;
		}
		const escaped = escapeRegExp(secret);
		if (secret.length >= WHOLE_WORD_LENGTH) {
			out = out.replace(new RegExp(`(?<![A-Za-z0-9])${escaped}(?![A-Za-z0-9])`, 'g'), REDACTED);
			continue;
		}
		out = out
			.replace(new RegExp(`(["'\`])${escaped}\\1`, 'g'), `$1${REDACTED}$1`)
			.replace(new RegExp(`([=:]\\s?)${escaped}(?![A-Za-z0-9])`, 'g'), `$1${REDACTED}`);
	}
	for (const pattern of TOKEN_PATTERNS) {
		out = out.replace(pattern, (match, prefix: unknown) =>
			typeof prefix === 'string' && /^Bearer/i.test(prefix) ? `${prefix}${REDACTED}` : REDACTED,
		);
	}
	return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function firstString(...values: unknown[]): string | undefined {
	for (const value of values) {
		if (typeof value === 'string' && value.trim() !== '') return value.trim();
	}
	return undefined;
}

export function looksLikeHtml(body: unknown): boolean {
	return typeof body === 'string' && /^\s*(<!doctype html|<html|<head|<body|<\?xml)/i.test(body);
}

/**
 * The vendor's own explanation inside an answer, whatever its style: `{message}`, OAuth's
 * `{error, error_description}`, CRM.COM's `{status: {message, description}}`, `{errors: [...]}`,
 * `{detail}`, `{title}`; plain text is quoted (shortened), an HTML page is named as such.
 */
export function vendorMessage(body: unknown): string | undefined {
	if (body === undefined || body === null || body === '') return undefined;
	if (Buffer.isBuffer(body)) return vendorMessage(body.toString('utf8'));
	if (typeof body === 'string') {
		if (looksLikeHtml(body)) return 'an HTML page instead of an API answer';
		const trimmed = body.trim();
		if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
			try {
				return vendorMessage(JSON.parse(trimmed));
			} catch {
				return 'an answer that is not valid JSON';
			}
		}
		return trimmed.length > 200 ? `${trimmed.slice(0, 200)}…` : trimmed;
	}
	if (Array.isArray(body)) return vendorMessage(body[0]);
	if (!isRecord(body)) return undefined;
	const status = isRecord(body.status) ? body.status : undefined;
	const error = body.error;
	const errors = Array.isArray(body.errors) ? body.errors : undefined;
	const fromError = isRecord(error) ? firstString(error.message, error.description) : undefined;
	const fromErrors = errors ? vendorMessage(errors[0]) : undefined;
	const statusText = status
		? [firstString(status.message), firstString(status.description)]
				.filter((s, i, all) => s !== undefined && all.indexOf(s) === i)
				.join(' — ')
		: undefined;
	const oauth =
		typeof error === 'string'
			? [error, firstString(body.error_description)].filter(Boolean).join(': ')
			: undefined;
	return firstString(
		body.message,
		fromError,
		oauth,
		body.error_description,
		body.detail,
		body.description,
		statusText,
		fromErrors,
		body.title,
		body.msg,
	);
}

/** Codes of transport failures (no HTTP answer at all), searched through an error's causes. */
const NETWORK_CODES: Record<string, string> = {
	ECONNREFUSED: 'the connection was refused (nothing listens at that address)',
	ECONNRESET: 'the connection was dropped before an answer came',
	EPIPE: 'the connection was dropped while sending',
	ECONNABORTED: 'no answer came in time',
	ETIMEDOUT: 'no answer came in time',
	ESOCKETTIMEDOUT: 'no answer came in time',
	ENOTFOUND: 'the host name could not be resolved',
	EAI_AGAIN: 'the host name could not be resolved (DNS not answering)',
	EHOSTUNREACH: 'the host is unreachable',
	ENETUNREACH: 'the network is unreachable',
	CERT_HAS_EXPIRED: 'its TLS certificate has expired',
	DEPTH_ZERO_SELF_SIGNED_CERT: 'its TLS certificate is self-signed',
	UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its TLS certificate could not be verified',
	ERR_TLS_CERT_ALTNAME_INVALID: 'its TLS certificate is for another host name',
	UND_ERR_SOCKET: 'the connection was dropped before an answer came',
	UND_ERR_CONNECT_TIMEOUT: 'no connection could be made in time',
	UND_ERR_HEADERS_TIMEOUT: 'no answer came in time',
};

export function networkErrorCode(error: unknown): string | undefined {
	let current: unknown = error;
	for (let depth = 0; depth < 6 && isRecord(current); depth++) {
		const code = current.code;
		if (typeof code === 'string' && code in NETWORK_CODES) return code;
		if (current instanceof Error && current.message === 'socket hang up') return 'ECONNRESET';
		if (current instanceof Error && /timeout of \d+ms exceeded/.test(current.message))
			return 'ETIMEDOUT';
		current = current.cause;
	}
	return undefined;
}

export function describeNetworkError(code: string): string {
	return NETWORK_CODES[code] ?? code;
}

/** Finds the message an error carries, unwrapping n8n's NodeApiError around our own errors. */
export function innermostMessage(error: unknown): string {
	let current: unknown = error;
	let message = '';
	for (let depth = 0; depth < 6 && current instanceof Error; depth++) {
		if (current.message) message = current.message;
		const cause: unknown = (current as Error & { cause?: unknown }).cause;
		if (!(cause instanceof Error)) break;
		// NodeApiError keeps the error it wraps as `cause`; our own errors are plain sentences.
		current = cause;
	}
	return message;
}

/** Status text for a few codes, for messages like "answered 429 (Too Many Requests)". */
export function statusLabel(status: number): string {
	const names: Record<number, string> = {
		400: 'Bad Request',
		401: 'Unauthorized',
		403: 'Forbidden',
		404: 'Not Found',
		405: 'Method Not Allowed',
		409: 'Conflict',
		422: 'Unprocessable Entity',
		429: 'Too Many Requests',
		500: 'Internal Server Error',
		502: 'Bad Gateway',
		503: 'Service Unavailable',
		504: 'Gateway Timeout',
	};
	return names[status] ? `HTTP ${status} ${names[status]}` : `HTTP ${status}`;
}

/**
 * An error raised while obtaining a token (inside a credential's preAuthentication or a Token
 * operation). Its message is a complete sentence for the user, never containing a secret, and
 * it carries no HTTP response, so n8n does not mistake it for a 401 and retry. The vendor's
 * HTTP status is kept as `vendorStatus`, a name n8n's NodeApiError does not read: were it
 * `httpCode` or `status`, n8n would replace our sentence with its generic one for that status
 * ("Authorization failed - please check your credentials").
 */
export class TokenError extends Error {
	constructor(
		message: string,
		readonly kind: 'input' | 'vendor' | 'network',
		readonly field?: string,
		readonly vendorStatus?: number,
	) {
		super(message);
		this.name = 'TokenError';
	}
}

/** The TokenError a credential's preAuthentication threw, inside n8n's wrapping, if any. */
export function findTokenError(error: unknown): TokenError | undefined {
	let current: unknown = error;
	for (let depth = 0; depth < 6 && current instanceof Error; depth++) {
		if (current instanceof TokenError) return current;
		current = (current as Error & { cause?: unknown }).cause;
	}
	return undefined;
}
