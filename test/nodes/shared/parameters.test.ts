/** Expression-free parameters resolved once per run (nodes/shared/parameters.ts). */
import type { IExecuteFunctions } from 'n8n-workflow';
import { describe, expect, it } from 'vitest';

import { withRunParameters } from '../../../nodes/shared/parameters';

/** A context whose parameters are raw n8n values; "resolving" an expression reads the item. */
function context(raw: Record<string, unknown>) {
	const reads: string[] = [];
	const resolve = (value: unknown, itemIndex: number): unknown => {
		if (typeof value === 'string' && value.startsWith('=')) return `${value.slice(1)}#${itemIndex}`;
		if (Array.isArray(value)) return value.map((v) => resolve(v, itemIndex));
		if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, itemIndex)]));
		return value;
	};
	const ctx = {
		marker: 'original',
		getNodeParameter: (name: string, itemIndex: number, fallback?: unknown, options?: { rawExpressions?: boolean }) => {
			reads.push(`${name}@${itemIndex}${options?.rawExpressions ? ' raw' : ''}`);
			const value = name in raw ? raw[name] : fallback;
			if (value === undefined) throw new Error(`Could not get parameter "${name}"`);
			return options?.rawExpressions ? value : resolve(value, itemIndex);
		},
	};
	return { ctx: ctx as unknown as IExecuteFunctions & { marker: string }, reads };
}

describe('withRunParameters', () => {
	it('a fixed parameter is resolved once; an expression for every item', () => {
		const { ctx, reads } = context({ identifyBy: 'number', identifierValue: '=caller' });
		const fast = withRunParameters(ctx);
		for (let i = 0; i < 5; i++) {
			expect(fast.getNodeParameter('identifyBy', i)).toBe('number');
			expect(fast.getNodeParameter('identifierValue', i)).toBe(`caller#${i}`);
		}
		expect(reads.filter((r) => r.startsWith('identifyBy'))).toEqual(['identifyBy@0', 'identifyBy@0 raw']);
		expect(reads.filter((r) => r.startsWith('identifierValue') && !r.endsWith('raw'))).toHaveLength(5);
		expect(reads.filter((r) => r.startsWith('identifierValue') && r.endsWith('raw'))).toHaveLength(1);
	});

	it('a collection with an expression deep inside stays per item; a fixed one gives each item its own copy', () => {
		const { ctx } = context({ options: { concurrency: 10 }, query: { parameter: [{ name: 'i', value: '=i' }] } });
		const fast = withRunParameters(ctx);
		expect(fast.getNodeParameter('query', 3)).toEqual({ parameter: [{ name: 'i', value: 'i#3' }] });
		expect(fast.getNodeParameter('query', 4)).toEqual({ parameter: [{ name: 'i', value: 'i#4' }] });
		const first = fast.getNodeParameter('options', 0) as { concurrency: number };
		first.concurrency = 99;
		expect(fast.getNodeParameter('options', 1)).toEqual({ concurrency: 10 });
		expect(fast.getNodeParameter('options', 1)).not.toBe(fast.getNodeParameter('options', 2));
	});

	it('fallbacks are part of the key; a missing parameter still throws every time; the rest of the context is the same', () => {
		const { ctx } = context({});
		const fast = withRunParameters(ctx);
		expect(fast.getNodeParameter('limit', 0, 50)).toBe(50);
		expect(fast.getNodeParameter('limit', 1, 20)).toBe(20);
		expect(() => fast.getNodeParameter('nothing', 0)).toThrow(/nothing/);
		expect(() => fast.getNodeParameter('nothing', 1)).toThrow(/nothing/);
		expect((fast as unknown as { marker: string }).marker).toBe('original');
	});
});
