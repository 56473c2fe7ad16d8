/**
 * A plain HTTP client for the tests of the fakes themselves (test/fakes/*.test.ts): what a vendor
 * client would send (a JSON or form body, a raw body, a Bearer token, HTTP Basic, a query), over
 * fetch, and the answer with its body parsed when it is JSON.
 */
export interface Answer {
	status: number;
	headers: Headers;
	/** The body parsed as JSON; undefined when it is not JSON. */
	body: any;
	text: string;
	bytes: Buffer;
}

export interface CallOptions {
	/** Sent as JSON (content-type application/json unless `headers` say otherwise). */
	body?: unknown;
	/** Sent as application/x-www-form-urlencoded. */
	form?: Record<string, string>;
	/** Sent as it is. */
	raw?: string;
	headers?: Record<string, string>;
	/** `Authorization: Bearer <token>`. */
	token?: string;
	/** HTTP Basic `user:password` (password empty when left out). */
	basic?: [string, string?];
	query?: Record<string, string | number>;
	/** fetch's redirect mode (default follow). */
	redirect?: 'follow' | 'manual' | 'error';
}

/** `method` `baseUrl + path` (`path` alone when baseUrl is ''). */
export async function callFake(baseUrl: string, method: string, path: string, options: CallOptions = {}): Promise<Answer> {
	const headers: Record<string, string> = { ...options.headers };
	let body: string | undefined = options.raw;
	if (options.body !== undefined) {
		body = JSON.stringify(options.body);
		headers['content-type'] ??= 'application/json';
	}
	if (options.form !== undefined) {
		body = new URLSearchParams(options.form).toString();
		headers['content-type'] ??= 'application/x-www-form-urlencoded';
	}
	if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
	if (options.basic) {
		const [user, password = ''] = options.basic;
		headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
	}
	const qs = options.query ? `?${new URLSearchParams(Object.entries(options.query).map(([k, v]): [string, string] => [k, String(v)]))}` : '';
	const res = await fetch(`${baseUrl}${path}${qs}`, { method, headers, body, redirect: options.redirect });
	const bytes = Buffer.from(await res.arrayBuffer());
	const text = bytes.toString('utf8');
	let parsed: unknown;
	try {
		parsed = JSON.parse(text);
	} catch {
		parsed = undefined;
	}
	return { status: res.status, headers: res.headers, body: parsed, text, bytes };
}
