/**
 * Vendor-neutral infrastructure for the fake vendor servers used by unit, integration and
 * real-n8n tests: a strict HTTP server on 127.0.0.1 with a request log, an injectable global
 * latency and scripted faults (status codes, garbage JSON, HTML error pages, slow answers,
 * dropped connections).
 *
 * Paths under `/__fake/` are the test control plane: they bypass the request log, the latency
 * and the faults, so a benchmark or demo can drive a fake without disturbing what it measures.
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** The only interface a fake may listen on. */
export const FAKE_HOST = '127.0.0.1';
/** Paths under this prefix are the control plane (no log, no latency, no faults). */
export const CONTROL_PREFIX = '/__fake/';
/** Oldest entries are dropped beyond this many logged requests. */
export const REQUEST_LOG_CAP = 20_000;
/** Larger request bodies are refused with 413. */
export const MAX_BODY_BYTES = 1024 * 1024;

export type Query = Record<string, string | string[]>;

export interface LoggedRequest {
	method: string;
	path: string;
	query: Query;
	headers: IncomingHttpHeaders;
	rawBody: string;
	/** `Date.now()` when the request was fully received. */
	at: number;
	/** Set when a scripted fault answered instead of the vendor logic. */
	fault?: Fault['kind'] | 'status';
}

export type Fault =
	| { kind?: undefined; status: number; body?: unknown; headers?: Record<string, string> }
	/** 200, `content-type: application/json`, a truncated JSON body. */
	| { kind: 'garbage' }
	/** An HTML error page as a reverse proxy would send it (default status 502). */
	| { kind: 'html'; status?: number }
	/** Wait `ms`, then let the vendor logic answer normally. */
	| { kind: 'slow'; ms: number }
	/** Destroy the socket without answering. */
	| { kind: 'drop' }
	/**
	 * Answer with a redirect (default 302) to `to`: an origin (`http://127.0.0.1:PORT`) gets
	 * the request's own path and query appended; a URL with a path is used as it is.
	 */
	| { kind: 'redirect'; to: string; status?: number };

export interface FaultMatch {
	/** Case-insensitive; any method when omitted. */
	method?: string;
	/** Exact pathname (no query) or a RegExp tested against it; any path when omitted. */
	path?: string | RegExp;
	/**
	 * How many times the fault fires before the rule is discarded. Default 1, or unlimited
	 * when `every` is set.
	 */
	times?: number;
	/** Let this many matching requests through before the rule starts counting. */
	skip?: number;
	/** Fire on every Nth matching request (after `skip`): 3 → the 3rd, 6th, 9th... */
	every?: number;
}

/** A rule that fires on matching requests, as `FaultMatch` says (times, skip, every). */
export interface MatchRule {
	match: FaultMatch;
	/** Matching requests counted so far. */
	seen: number;
	fired: number;
	/** How many times it fires before it is discarded. */
	limit: number;
}

/**
 * A new rule for `match` (default once; with `every`, unlimited). Throws, naming `what`, when
 * times, skip or every is not an integer (skip >= 0, the others >= 1).
 */
export function matchRule(match: FaultMatch, what: string): MatchRule {
	for (const key of ['times', 'skip', 'every'] as const) {
		const value = match[key];
		if (value !== undefined && (!Number.isInteger(value) || value < (key === 'skip' ? 0 : 1))) {
			throw new Error(`${what}: ${key} must be an integer >= ${key === 'skip' ? 0 : 1}`);
		}
	}
	const limit = match.times ?? (match.every !== undefined ? Number.POSITIVE_INFINITY : 1);
	return { match, seen: 0, fired: 0, limit };
}

/**
 * One request against the rules, in order: every rule that matches counts it; the first that is
 * due fires (only one fires). Returns that rule and the rules that can still fire.
 */
export function fireFirst<R extends MatchRule>(rules: R[], method: string, path: string): { fired: R | undefined; left: R[] } {
	let fired: R | undefined;
	for (const rule of rules) {
		const { match } = rule;
		if (match.method !== undefined && match.method.toUpperCase() !== method) continue;
		if (typeof match.path === 'string' && match.path !== path) continue;
		if (match.path instanceof RegExp) {
			match.path.lastIndex = 0;
			if (!match.path.test(path)) continue;
		}
		rule.seen++;
		if (fired) continue;
		const n = rule.seen - (match.skip ?? 0);
		if (n < 1) continue;
		if (match.every !== undefined && n % match.every !== 0) continue;
		rule.fired++;
		fired = rule;
	}
	return { fired, left: rules.filter((rule) => rule.fired < rule.limit) };
}

/**
 * "After `n` more accepted requests, every token issued so far expires": the countdown a vendor
 * fake keeps for its `expire…After(n)`. `expireNow` expires the tokens (and should `cancel()`).
 */
export class ExpiryCountdown {
	private left: number | undefined;

	constructor(
		private readonly what: string,
		private readonly expireNow: () => void,
	) {}

	/** n = 0: now. */
	start(n: number): void {
		if (!Number.isInteger(n) || n < 0) throw new Error(`${this.what}: n must be an integer >= 0`);
		if (n === 0) this.expireNow();
		else this.left = n;
	}

	cancel(): void {
		this.left = undefined;
	}

	/** One more accepted request. */
	count(): void {
		if (this.left === undefined) return;
		this.left--;
		if (this.left <= 0) this.expireNow();
	}
}

interface FaultRule extends MatchRule {
	fault: Fault;
}

/** What a vendor's control route does with an action: true done, false unknown, a string why it is malformed. */
export type ControlOutcome = true | false | string;

/** What a vendor handler receives: the request, fully read, plus parsed pieces. */
export interface FakeRequest {
	req: IncomingMessage;
	res: ServerResponse;
	method: string;
	path: string;
	query: Query;
	headers: IncomingHttpHeaders;
	rawBody: string;
}

export type FakeHandler = (request: FakeRequest) => void | Promise<void>;

export interface FakeServerOptions {
	/** 0 (default) picks a free port. */
	port?: number;
	/** Used in messages only. */
	name?: string;
}

export function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Send a JSON answer (no-op if the response was already sent or the socket is gone). */
export function json(
	res: ServerResponse,
	status: number,
	body: unknown,
	headers: Record<string, string> = {},
): void {
	send(res, status, JSON.stringify(body), {
		'content-type': 'application/json; charset=utf-8',
		...headers,
	});
}

/** Send a raw answer; header names are matched case-insensitively against the defaults. */
export function send(
	res: ServerResponse,
	status: number,
	body: string,
	headers: Record<string, string> = {},
): void {
	if (res.headersSent || res.writableEnded || res.destroyed) return;
	const lower: Record<string, string> = {};
	for (const [name, value] of Object.entries(headers)) lower[name.toLowerCase()] = value;
	lower['content-length'] = String(Buffer.byteLength(body));
	res.writeHead(status, lower);
	res.end(body);
}

/** True for `application/json`, with or without parameters such as `charset`. */
export function isJsonContentType(headers: IncomingHttpHeaders): boolean {
	const value = headers['content-type'];
	if (typeof value !== 'string') return false;
	return value.split(';')[0].trim().toLowerCase() === 'application/json';
}

export type JsonBodyResult =
	| { ok: true; value: unknown }
	| { ok: false; reason: 'content-type' | 'empty' | 'invalid' };

/** Parse a request body as JSON, refusing other content types. */
export function readJsonBody(request: Pick<FakeRequest, 'headers' | 'rawBody'>): JsonBodyResult {
	if (!isJsonContentType(request.headers)) return { ok: false, reason: 'content-type' };
	if (request.rawBody.trim() === '') return { ok: false, reason: 'empty' };
	try {
		return { ok: true, value: JSON.parse(request.rawBody) as unknown };
	} catch {
		return { ok: false, reason: 'invalid' };
	}
}

/** Like `readJsonBody`, but only a JSON object (not an array or a scalar) is accepted. */
export function readJsonObject(
	request: Pick<FakeRequest, 'headers' | 'rawBody'>,
):
	| { ok: true; value: Record<string, unknown> }
	| { ok: false; reason: 'content-type' | 'empty' | 'invalid' | 'not-object' } {
	const result = readJsonBody(request);
	if (!result.ok) return result;
	if (!isPlainObject(result.value)) return { ok: false, reason: 'not-object' };
	return { ok: true, value: result.value };
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The token of an `Authorization: Bearer <token>` header. `undefined` when the header is
 * missing, uses another scheme or carries an empty token. The scheme is case-insensitive.
 */
export function parseBearer(headers: IncomingHttpHeaders): string | undefined {
	const value = headers.authorization;
	if (typeof value !== 'string') return undefined;
	const match = /^Bearer[ ]+(\S+)\s*$/i.exec(value);
	return match ? match[1] : undefined;
}

/** `user:password` of an `Authorization: Basic ...` header, or undefined. */
export function parseBasic(
	headers: IncomingHttpHeaders,
): { user: string; password: string } | undefined {
	const value = headers.authorization;
	if (typeof value !== 'string') return undefined;
	const match = /^Basic[ ]+([A-Za-z0-9+/=]+)\s*$/i.exec(value);
	if (!match) return undefined;
	const decoded = Buffer.from(match[1], 'base64').toString('utf8');
	const colon = decoded.indexOf(':');
	if (colon < 0) return undefined;
	return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export function parseQuery(params: URLSearchParams): Query {
	const query: Query = {};
	for (const [key, value] of params) {
		const existing = query[key];
		if (existing === undefined) query[key] = value;
		else if (Array.isArray(existing)) existing.push(value);
		else query[key] = [existing, value];
	}
	return query;
}

const HTML_PAGE = (status: number): string =>
	`<html>\r\n<head><title>${status} Bad Gateway</title></head>\r\n<body>\r\n<center><h1>${status} Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;

/**
 * An HTTP server on 127.0.0.1. Use `startFakeServer(handler)` for a one-off fake, or extend
 * the class and override `handle` for a vendor.
 */
export class FakeServer {
	/** Every request outside `/__fake/`, oldest first, capped at `REQUEST_LOG_CAP`. */
	readonly requests: LoggedRequest[] = [];
	/** Delay before every answer (outside `/__fake/`), in milliseconds. */
	latencyMs = 0;
	/**
	 * A vendor that limits concurrency: when this many requests are already being answered, a
	 * further one is refused at once with 429 (no Retry-After) instead. 0 = no limit.
	 */
	maxInFlight = 0;
	/** Requests being answered right now, the most seen at once, and those refused for the limit. */
	readonly inFlight = { now: 0, peak: 0, refused: 0 };

	private server: Server | undefined;
	private readonly sockets = new Set<Socket>();
	private faults: FaultRule[] = [];
	private readonly name: string;
	private readonly handler: FakeHandler | undefined;
	private boundPort = 0;

	constructor(handler?: FakeHandler, options: Pick<FakeServerOptions, 'name'> = {}) {
		this.handler = handler;
		this.name = options.name ?? 'fake';
	}

	/** The bound port (still readable after `close()`, e.g. for connection-refused tests). */
	get port(): number {
		if (this.boundPort === 0) throw new Error(`${this.name} server has not been started`);
		return this.boundPort;
	}

	/** `http://127.0.0.1:PORT`, no trailing slash. */
	get url(): string {
		return `http://${FAKE_HOST}:${this.port}`;
	}

	async listen(port = 0): Promise<this> {
		if (this.server) throw new Error(`${this.name} server is already listening`);
		const server = createServer((req, res) => {
			void this.dispatch(req, res);
		});
		server.keepAliveTimeout = 5_000;
		server.on('connection', (socket) => {
			this.sockets.add(socket);
			socket.on('close', () => this.sockets.delete(socket));
		});
		await new Promise<void>((resolve, reject) => {
			server.once('error', reject);
			server.listen({ host: FAKE_HOST, port }, () => {
				server.off('error', reject);
				resolve();
			});
		});
		this.server = server;
		this.boundPort = (server.address() as AddressInfo).port;
		return this;
	}

	/** Stop listening and destroy open sockets (never hangs on keep-alive connections). */
	async close(): Promise<void> {
		const server = this.server;
		if (!server) return;
		this.server = undefined;
		const closed = new Promise<void>((resolve) => server.close(() => resolve()));
		for (const socket of this.sockets) socket.destroy();
		this.sockets.clear();
		server.closeAllConnections();
		await closed;
	}

	/** Script a fault for matching requests; rules are checked in the order they were added. */
	fail(match: FaultMatch, fault: Fault): void {
		this.faults.push({ ...matchRule(match, 'fail()'), fault });
	}

	clearFaults(): void {
		this.faults = [];
	}

	/** Number of scripted fault rules that can still fire. */
	get pendingFaults(): number {
		return this.faults.length;
	}

	/**
	 * The control actions every fake understands (`latency {ms}`, `maxInFlight {max}`, `clearFaults`, `clearLog`,
	 * `fail {match, fault}`): applied here, so each vendor's control route handles only its own.
	 * Returns an error message for a malformed action, `true` when handled, `false` when unknown.
	 */
	protected commonControl(body: Record<string, unknown>): ControlOutcome {
		switch (body.action) {
			case 'latency':
				if (typeof body.ms !== 'number' || body.ms < 0) return 'ms must be a number >= 0';
				this.latencyMs = body.ms;
				return true;
			case 'maxInFlight':
				if (typeof body.max !== 'number' || !Number.isInteger(body.max) || body.max < 0) return 'max must be an integer >= 0';
				this.maxInFlight = body.max;
				return true;
			case 'clearFaults':
				this.clearFaults();
				return true;
			case 'clearLog':
				this.clearLog();
				return true;
			case 'fail': {
				const parsed = faultFromJson(body);
				if ('error' in parsed) return parsed.error;
				this.fail(parsed.match, parsed.fault);
				return true;
			}
			default:
				return false;
		}
	}

	clearLog(): void {
		this.requests.length = 0;
	}

	/** Logged requests for one path (and optionally one method). */
	requestsTo(path: string, method?: string): LoggedRequest[] {
		return this.requests.filter(
			(r) => r.path === path && (method === undefined || r.method === method.toUpperCase()),
		);
	}

	/** Vendor logic. The default answers 404; subclasses override it. */
	protected async handle(request: FakeRequest): Promise<void> {
		if (this.handler) {
			await this.handler(request);
			return;
		}
		json(request.res, 404, { message: 'Not found' });
	}

	/**
	 * A vendor's control routes: `GET paths.state` answers `state()`; `POST paths.control` takes a
	 * JSON object `{action, …}`, tries the vendor's own actions (`act`), then the common ones, and
	 * answers `{ok: true, …state()}`, or 400 saying what is wrong; any other path 404.
	 */
	protected handleControlRoutes(
		request: FakeRequest,
		paths: { state: string; control: string },
		state: () => Record<string, unknown>,
		act: (body: Record<string, unknown>) => ControlOutcome,
	): void {
		const { res, method, path } = request;
		if (path === paths.state && method === 'GET') {
			json(res, 200, state());
			return;
		}
		if (path !== paths.control || method !== 'POST') {
			json(res, 404, { message: 'Unknown control route' });
			return;
		}
		const body = readJsonObject(request);
		if (!body.ok) {
			json(res, 400, { message: 'Control body must be a JSON object' });
			return;
		}
		let outcome = act(body.value);
		if (outcome === false) outcome = this.commonControl(body.value);
		if (outcome !== true) {
			json(res, 400, { message: outcome === false ? 'Unknown action' : outcome });
			return;
		}
		json(res, 200, { ok: true, ...state() });
	}

	private pickFault(method: string, path: string): Fault | undefined {
		const { fired, left } = fireFirst(this.faults, method, path);
		this.faults = left;
		return fired?.fault;
	}

	private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
		try {
			const chunks: Buffer[] = [];
			let size = 0;
			for await (const chunk of req) {
				const buffer = chunk as Buffer;
				size += buffer.length;
				if (size > MAX_BODY_BYTES) {
					json(res, 413, { message: 'Request body too large' }, { connection: 'close' });
					req.socket.destroy();
					return;
				}
				chunks.push(buffer);
			}
			const rawBody = Buffer.concat(chunks).toString('utf8');
			const parsed = new URL(req.url ?? '/', `http://${FAKE_HOST}`);
			const method = (req.method ?? 'GET').toUpperCase();
			// Keep the path exactly as sent: `//api/x` must not match `/api/x`.
			const rawPath = (req.url ?? '/').split('?')[0];
			const request: FakeRequest = {
				req,
				res,
				method,
				path: rawPath,
				query: parseQuery(parsed.searchParams),
				headers: req.headers,
				rawBody,
			};
			if (rawPath.startsWith(CONTROL_PREFIX)) {
				await this.handle(request);
				return;
			}
			const entry: LoggedRequest = {
				method,
				path: rawPath,
				query: request.query,
				headers: req.headers,
				rawBody,
				at: Date.now(),
			};
			this.requests.push(entry);
			if (this.requests.length > REQUEST_LOG_CAP) {
				this.requests.splice(0, this.requests.length - REQUEST_LOG_CAP);
			}
			if (this.maxInFlight > 0 && this.inFlight.now >= this.maxInFlight) {
				this.inFlight.refused++;
				entry.fault = 'status';
				json(res, 429, { message: `Too many requests in flight (at most ${this.maxInFlight})` });
				return;
			}
			this.inFlight.now++;
			this.inFlight.peak = Math.max(this.inFlight.peak, this.inFlight.now);
			res.once('close', () => this.inFlight.now--);
			if (this.latencyMs > 0) await sleep(this.latencyMs);
			const fault = this.pickFault(method, rawPath);
			if (fault) {
				entry.fault = fault.kind ?? 'status';
				const answered = await this.applyFault(fault, res, req.url ?? '/');
				if (answered) return;
			}
			await this.handle(request);
		} catch (error) {
			const message = error instanceof Error ? error.message : String(error);
			json(res, 500, { message: `Fake ${this.name} internal error: ${message}` });
		}
	}

	/** Returns true when the fault answered (or dropped) the request. */
	private async applyFault(fault: Fault, res: ServerResponse, requestTarget: string): Promise<boolean> {
		switch (fault.kind) {
			case 'redirect': {
				const location = /^https?:\/\/[^/]+\/?$/i.test(fault.to)
					? `${fault.to.replace(/\/$/, '')}${requestTarget}`
					: fault.to;
				send(res, fault.status ?? 302, '', { location });
				return true;
			}
			case 'garbage':
				send(res, 200, '{"access_tok', { 'content-type': 'application/json' });
				return true;
			case 'html': {
				const status = fault.status ?? 502;
				send(res, status, HTML_PAGE(status), { 'content-type': 'text/html' });
				return true;
			}
			case 'slow':
				await sleep(fault.ms);
				return false;
			case 'drop':
				res.socket?.destroy();
				return true;
			default: {
				const headers = fault.headers ?? {};
				if (typeof fault.body === 'string') {
					send(res, fault.status, fault.body, {
						'content-type': 'text/plain; charset=utf-8',
						...headers,
					});
				} else {
					json(
						res,
						fault.status,
						fault.body ?? { message: `Injected fault ${fault.status}` },
						headers,
					);
				}
				return true;
			}
		}
	}
}

/** Start a one-off fake with a handler (`FakeServer` + `listen`). */
export async function startFakeServer(
	handler: FakeHandler,
	options: FakeServerOptions = {},
): Promise<FakeServer> {
	return new FakeServer(handler, { name: options.name }).listen(options.port ?? 0);
}

/**
 * Parse a fault rule sent over HTTP (`POST /__fake/control` `{action: 'fail', match, fault}`).
 * `match.path` is an exact path; `match.pathRegex` a RegExp source.
 */
export function faultFromJson(
	body: Record<string, unknown>,
): { match: FaultMatch; fault: Fault } | { error: string } {
	const rawMatch = isPlainObject(body.match) ? body.match : {};
	const rawFault = body.fault;
	if (!isPlainObject(rawFault)) return { error: 'fault must be an object' };
	const match: FaultMatch = {};
	if (typeof rawMatch.method === 'string') match.method = rawMatch.method;
	if (typeof rawMatch.path === 'string') match.path = rawMatch.path;
	if (typeof rawMatch.pathRegex === 'string') match.path = new RegExp(rawMatch.pathRegex);
	for (const key of ['times', 'skip', 'every'] as const) {
		if (typeof rawMatch[key] === 'number') match[key] = rawMatch[key] as number;
	}
	switch (rawFault.kind) {
		case 'garbage':
		case 'drop':
			return { match, fault: { kind: rawFault.kind } };
		case 'html':
			return {
				match,
				fault: {
					kind: 'html',
					status: typeof rawFault.status === 'number' ? rawFault.status : undefined,
				},
			};
		case 'redirect':
			if (typeof rawFault.to !== 'string') return { error: 'redirect fault needs to' };
			return {
				match,
				fault: {
					kind: 'redirect',
					to: rawFault.to,
					status: typeof rawFault.status === 'number' ? rawFault.status : undefined,
				},
			};
		case 'slow':
			if (typeof rawFault.ms !== 'number') return { error: 'slow fault needs ms' };
			return { match, fault: { kind: 'slow', ms: rawFault.ms } };
		case undefined:
			if (typeof rawFault.status !== 'number') return { error: 'status fault needs status' };
			return {
				match,
				fault: {
					status: rawFault.status,
					body: rawFault.body,
					headers: isPlainObject(rawFault.headers)
						? (rawFault.headers as Record<string, string>)
						: undefined,
				},
			};
		default:
			return { error: 'unknown fault kind' };
	}
}
