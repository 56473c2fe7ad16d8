/** Which requests may be sent twice (nodes/shared/retry.ts). */
import { describe, expect, it } from 'vitest';

import { isIdempotent } from '../../../nodes/shared/retry';

describe('isIdempotent', () => {
	it('GET, HEAD, PUT, DELETE and OPTIONS by default (any case, GET when no method); POST and PATCH not', () => {
		const of = (method?: string) => isIdempotent({ url: '/x', method: method as never }, { itemIndex: 0 });
		expect([undefined, 'GET', 'get', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'].map(of)).toEqual(Array(7).fill(true));
		expect(['POST', 'PATCH', 'post'].map(of)).toEqual([false, false, false]);
	});

	it('the request says otherwise: a POST that may be resent, a GET that may not', () => {
		expect(isIdempotent({ url: '/x', method: 'POST' }, { itemIndex: 0, idempotent: true })).toBe(true);
		expect(isIdempotent({ url: '/x', method: 'GET' }, { itemIndex: 0, idempotent: false })).toBe(false);
	});
});
