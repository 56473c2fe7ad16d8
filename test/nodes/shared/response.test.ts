/** Reading an answer (nodes/shared/response.ts): headers in any case, the answer inside an error. */
import { describe, expect, it } from 'vitest';

import { header, isOk, responseOf } from '../../../nodes/shared/response';

describe('header', () => {
	it('finds a header whatever the case of its name, the first value when repeated', () => {
		const headers = { 'Retry-After': '3', 'set-cookie': ['a=1', 'b=2'] };
		expect(header(headers, 'retry-after')).toBe('3');
		expect(header(headers, 'RETRY-AFTER')).toBe('3');
		expect(header(headers, 'Set-Cookie')).toBe('a=1');
		expect(header(headers, 'location')).toBeUndefined();
		expect(header(undefined, 'location')).toBeUndefined();
	});
});

describe('isOk', () => {
	it('is true for 2xx only', () => {
		expect([199, 200, 204, 299, 300, 404].map((statusCode) => isOk({ statusCode, headers: {}, body: '' }))).toEqual([
			false,
			true,
			true,
			true,
			false,
			false,
		]);
	});
});

describe('responseOf', () => {
	it('finds the answer in an axios-like error, also under causes, with data or body', () => {
		const inner = { response: { status: 502, headers: { a: 'b' }, data: { message: 'down' } } };
		expect(responseOf(inner)).toEqual({ statusCode: 502, headers: { a: 'b' }, body: { message: 'down' } });
		const wrapped = new Error('wrapped', { cause: new Error('again', { cause: { response: { status: 401, body: 'no' } } }) });
		expect(responseOf(wrapped)).toEqual({ statusCode: 401, headers: {}, body: 'no' });
	});

	it('is undefined for an error without an HTTP answer', () => {
		expect(responseOf(new Error('ECONNRESET'))).toBeUndefined();
		expect(responseOf({ response: { status: 'x' } })).toBeUndefined();
		expect(responseOf(undefined)).toBeUndefined();
	});
});
