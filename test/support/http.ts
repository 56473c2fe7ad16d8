/**
 * A small stand-in for n8n's `helpers.httpRequest` for unit and integration tests, over real
 * sockets (node:http), with the semantics our code relies on: `url`/`baseURL`, `qs`, JSON
 * bodies, `returnFullResponse`, `ignoreHttpStatusErrors`, `timeout`, `encoding: 'arraybuffer'`,
 * errors carrying `code` (ECONNREFUSED, ECONNRESET, ETIMEDOUT) or an axios-like `response`.
 * The real thing is exercised by the real-n8n suite.
 */
import http from 'node:http';
import https from 'node:https';

import type { IDataObject, IHttpRequestOptions } from 'n8n-workflow';

export interface SentRequest {
	method: string;
	url: string;
	headers: Record<string, string>;
	body?: string;
}

export class HttpStatusError extends Error {
	response: { status: number; headers: Record<string, unknown>; data: unknown };
	constructor(status: number, headers: Record<string, unknown>, data: unknown) {
		super(`Request failed with status code ${status}`);
		this.response = { status, headers, data };
	}
}

function buildUrl(options: IHttpRequestOptions): URL {
	const url = new URL(options.baseURL ? `${options.baseURL.replace(/\/$/, '')}${options.url}` : options.url);
	for (const [key, value] of Object.entries(options.qs ?? {})) {
		if (value === undefined || value === null) continue;
		if (Array.isArray(value)) for (const v of value) url.searchParams.append(key, String(v));
		else url.searchParams.append(key, typeof value === 'object' ? JSON.stringify(value) : String(value));
	}
	return url;
}

export async function testHttpRequest(options: IHttpRequestOptions, hops = 0): Promise<unknown> {
	const url = buildUrl(options);
	const method = (options.method ?? 'GET').toUpperCase();
	const headers: Record<string, string> = {};
	for (const [k, v] of Object.entries(options.headers ?? {})) headers[k] = String(v);
	let payload: string | Buffer | undefined;
	const body = options.body as unknown;
	if (body !== undefined && body !== null && method !== 'GET' && method !== 'HEAD') {
		if (body instanceof URLSearchParams) {
			payload = body.toString();
			headers['content-type'] ??= 'application/x-www-form-urlencoded';
		} else if (Buffer.isBuffer(body) || typeof body === 'string') {
			payload = body;
		} else if (typeof body === 'object' && Object.keys(body as IDataObject).length > 0) {
			const type = Object.entries(headers).find(([k]) => k.toLowerCase() === 'content-type')?.[1];
			if (type && type.includes('x-www-form-urlencoded')) {
				payload = new URLSearchParams(body as Record<string, string>).toString();
			} else {
				payload = JSON.stringify(body);
				if (!type) headers['content-type'] = 'application/json';
			}
		}
	}
	if (options.auth) {
		headers.authorization = `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}`;
	}
	if (options.json && !Object.keys(headers).some((k) => k.toLowerCase() === 'accept')) headers.accept = 'application/json';
	const transport = url.protocol === 'https:' ? https : http;
	const { status, responseHeaders, raw } = await new Promise<{
		status: number;
		responseHeaders: Record<string, unknown>;
		raw: Buffer;
	}>((resolve, reject) => {
		const req = transport.request(url, { method, headers, agent: false }, (res) => {
			const chunks: Buffer[] = [];
			res.on('data', (c: Buffer) => chunks.push(c));
			res.on('end', () => resolve({ status: res.statusCode ?? 0, responseHeaders: res.headers, raw: Buffer.concat(chunks) }));
			res.on('error', reject);
		});
		req.on('error', reject);
		if (options.timeout) {
			req.setTimeout(options.timeout, () => {
				const error = Object.assign(new Error(`timeout of ${options.timeout}ms exceeded`), { code: 'ECONNABORTED' });
				req.destroy(error);
			});
		}
		if (payload !== undefined) req.write(payload);
		req.end();
	});
	let data: unknown;
	if (options.encoding === 'arraybuffer') {
		data = raw;
	} else {
		const text = raw.toString('utf8');
		try {
			data = text === '' ? '' : JSON.parse(text);
		} catch {
			data = text;
		}
	}
	// Like n8n 2.41 (follow-redirects + its beforeRedirect): follow unless told not to, re-send
	// Authorization and Basic auth to any origin unless sendCredentialsOnCrossOriginRedirect is
	// false, keep the body on 307/308, turn a POST into a GET on 301/302/303.
	const location = responseHeaders.location;
	const follows = options.disableFollowRedirect !== true && options.maxRedirects !== 0;
	if (follows && status >= 300 && status < 400 && typeof location === 'string' && hops < 20) {
		const next = new URL(location, url);
		const crossOrigin = next.origin !== url.origin;
		const strip = crossOrigin && options.sendCredentialsOnCrossOriginRedirect === false;
		const keepBody = status === 307 || status === 308;
		const nextHeaders: Record<string, unknown> = { ...(options.headers ?? {}) };
		if (strip) for (const key of Object.keys(nextHeaders)) if (key.toLowerCase() === 'authorization') delete nextHeaders[key];
		const followed: IHttpRequestOptions = {
			...options,
			url: next.href,
			baseURL: undefined,
			qs: undefined,
			headers: nextHeaders as IHttpRequestOptions['headers'],
			method: keepBody ? options.method : method === 'HEAD' ? 'HEAD' : 'GET',
			body: keepBody ? options.body : undefined,
			auth: strip ? undefined : options.auth,
		};
		return await testHttpRequest(followed, hops + 1);
	}
	const ok = status >= 200 && status < 300;
	if (!ok && !options.ignoreHttpStatusErrors) throw new HttpStatusError(status, responseHeaders, data);
	if (options.returnFullResponse) {
		return { body: data, headers: responseHeaders, statusCode: status, statusMessage: http.STATUS_CODES[status] };
	}
	return data;
}
