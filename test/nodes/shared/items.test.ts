import { describe, expect, it } from 'vitest';

import { parseRetryAfter } from '../../../nodes/shared/client';
import { toOutputItems } from '../../../nodes/shared/items';

describe('output items', () => {
	it('pairs every item with its input and keeps objects as json', () => {
		expect(toOutputItems([{ a: 1 }, { a: 2 }], 3)).toEqual([
			{ json: { a: 1 }, pairedItem: { item: 3 } },
			{ json: { a: 2 }, pairedItem: { item: 3 } },
		]);
		expect(toOutputItems(undefined, 0)).toEqual([]);
	});

	it('never emits a string or number as json', () => {
		expect(toOutputItems(['x', 5] as never, 1)).toEqual([
			{ json: { value: 'x' }, pairedItem: { item: 1 } },
			{ json: { value: 5 }, pairedItem: { item: 1 } },
		]);
	});

	it('keeps binary data of full items', () => {
		const item = { json: { a: 1 }, binary: { data: { data: 'AA==', mimeType: 'audio/mpeg' } } };
		expect(toOutputItems([item], 0)[0]).toEqual({ ...item, pairedItem: { item: 0 } });
	});
});

describe('Retry-After', () => {
	it('reads seconds and HTTP dates', () => {
		expect(parseRetryAfter('3')).toBe(3000);
		expect(parseRetryAfter('0.5')).toBe(500);
		expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:05 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(5000);
		expect(parseRetryAfter('soon')).toBeUndefined();
		expect(parseRetryAfter(undefined)).toBeUndefined();
	});
});
