/** Expression-free parameters resolved once per run (nodes/shared/parameters.ts). */
import type { IExecuteFunctions } from 'n8n-workflow';
import { describe, expect, it } from 'vitest';

import { mappingPath, withRunParameters } from '../../../nodes/shared/parameters';

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

	it('plain field mappings are read from the item; n8n resolves the first one too and every other expression', () => {
		const inputs = [
			{ json: { caller: { number: '+100' }, 'field name': 7, list: ['a', 'b'] } },
			{ json: { caller: { number: '+101' }, 'field name': 8, list: ['c', 'd'] } },
			{ json: { caller: { number: '+102' }, 'field name': 9, list: ['e', 'f'] } },
			{ json: { caller: {}, 'field name': null, list: [] } },
		];
		const evaluations: string[] = [];
		const raw: Record<string, unknown> = {
			number: '={{ $json.caller.number }}',
			spaced: '={{$json["field name"]}}',
			first: "={{ $json.list[0] }}",
			query: { parameter: [{ name: 'n', value: '={{ $json.caller.number }}' }, { name: 'fixed', value: 'x' }] },
			other: "={{ 'CI' + $json.caller.number }}",
		};
		const ctx = {
			getInputData: () => inputs,
			getNodeParameter: (name: string, itemIndex: number, fallback?: unknown, options?: { rawExpressions?: boolean }) => {
				const value = raw[name] ?? fallback;
				if (options?.rawExpressions) return value;
				const resolve = (v: unknown): unknown => {
					if (typeof v === 'string' && v.startsWith('=')) {
						evaluations.push(`${name}@${itemIndex}`);
						// eslint-disable-next-line @typescript-eslint/no-implied-eval
						return new Function('$json', `return ${v.slice(3, -2)}`)(inputs[itemIndex].json);
					}
					if (Array.isArray(v)) return v.map(resolve);
					if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x)]));
					return v;
				};
				return resolve(value);
			},
		} as unknown as IExecuteFunctions;
		const fast = withRunParameters(ctx);
		for (let i = 0; i < 3; i++) {
			expect(fast.getNodeParameter('number', i)).toBe(`+10${i}`);
			expect(fast.getNodeParameter('spaced', i)).toBe(7 + i);
			expect(fast.getNodeParameter('first', i)).toBe(inputs[i].json.list[0]);
			expect(fast.getNodeParameter('query', i)).toEqual({ parameter: [{ name: 'n', value: `+10${i}` }, { name: 'fixed', value: 'x' }] });
			expect(fast.getNodeParameter('other', i)).toBe(`CI+10${i}`);
		}
		// Only the first item of each mapping went to n8n; the other expression went every time.
		expect(evaluations.filter((e) => e.startsWith('number'))).toEqual(['number@0']);
		expect(evaluations.filter((e) => e.startsWith('spaced'))).toEqual(['spaced@0']);
		expect(evaluations.filter((e) => e.startsWith('query'))).toEqual(['query@0']);
		expect(evaluations.filter((e) => e.startsWith('other'))).toHaveLength(3);
		// Missing, null and empty values are n8n's to answer, as are its errors.
		expect(fast.getNodeParameter('number', 3)).toBeUndefined();
		expect(fast.getNodeParameter('spaced', 3)).toBeNull();
		expect(evaluations).toContain('number@3');
		expect(evaluations).toContain('spaced@3');
	});

	it('a mapping whose direct answer differs from n8n\'s goes back to n8n for the whole run', () => {
		const inputs = [{ json: { n: 'a' } }, { json: { n: 'b' } }, { json: { n: 'c' } }];
		let calls = 0;
		const ctx = {
			getInputData: () => inputs,
			getNodeParameter: (_name: string, itemIndex: number, _fallback?: unknown, options?: { rawExpressions?: boolean }) => {
				if (options?.rawExpressions) return '={{ $json.n }}';
				calls++;
				return `n8n:${inputs[itemIndex].json.n}`; // n8n answers something else (a schema coercion, say)
			},
		} as unknown as IExecuteFunctions;
		const fast = withRunParameters(ctx);
		expect([0, 1, 2].map((i) => fast.getNodeParameter('value', i))).toEqual(['n8n:a', 'n8n:b', 'n8n:c']);
		expect(calls).toBe(3);
	});

	it('recognises exactly the mappings the editor writes', () => {
		expect(mappingPath('={{ $json.a }}')).toEqual(['a']);
		expect(mappingPath('={{$json.a.b_c}}')).toEqual(['a', 'b_c']);
		expect(mappingPath('={{ $json["a b"] }}')).toEqual(['a b']);
		expect(mappingPath("={{ $json['a b'][2] }}")).toEqual(['a b', 2]);
		for (const other of ['={{ $json }}', '={{ $json.a }} ', '={{ $json.a + 1 }}', '={{ $json.a() }}', '=x{{ $json.a }}', '={{ $json.a }}{{ $json.b }}', '={{ $("Node").item.json.a }}', '={{ $json["a\\"b"] }}', '={{ $json[a] }}'])
			expect(mappingPath(other)).toBeUndefined();
	});
});
