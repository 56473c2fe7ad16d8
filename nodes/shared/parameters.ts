/**
 * Parameter reads once per run where n8n would give every item the same answer.
 *
 * n8n resolves `getNodeParameter(name, itemIndex)` anew for every item: node-type look-up,
 * parameter walk, expression resolution, clean-up, schema validation. For a parameter without
 * any expression in it (a fixed "Identify By", an Options collection) the answer cannot differ
 * between items, so it is resolved once per run and each later item gets its own copy of it.
 * Parameters holding an expression anywhere (`={{ … }}`) are still resolved for every item,
 * exactly as before; so are calls with options (raw expressions, extraction).
 */
import type { IExecuteFunctions } from 'n8n-workflow';
import { deepCopy } from 'n8n-workflow';

function hasExpression(value: unknown): boolean {
	if (typeof value === 'string') return value.startsWith('=');
	if (Array.isArray(value)) return value.some(hasExpression);
	if (typeof value === 'object' && value !== null) return Object.values(value).some(hasExpression);
	return false;
}

type Read = (name: string, itemIndex: number, fallback?: unknown, options?: object) => unknown;

/** `ctx` with a getNodeParameter that resolves expression-free parameters once per run. */
export function withRunParameters(ctx: IExecuteFunctions): IExecuteFunctions {
	const read = ctx.getNodeParameter.bind(ctx) as Read;
	/** name + fallback → the resolved value (fixed) or `expression` (resolved per item). */
	const known = new Map<string, { value: unknown } | 'expression'>();
	const fast = Object.create(ctx) as IExecuteFunctions;
	const getNodeParameter: Read = (name, itemIndex, fallback, options) => {
		if (options !== undefined || typeof name !== 'string') return read(name, itemIndex, fallback, options);
		const key = `${name}\u0000${fallback === undefined ? '' : JSON.stringify(fallback)}`;
		const entry = known.get(key);
		if (entry === 'expression') return read(name, itemIndex, fallback);
		if (entry) return typeof entry.value === 'object' && entry.value !== null ? deepCopy(entry.value) : entry.value;
		const value = read(name, itemIndex, fallback);
		const raw = read(name, itemIndex, fallback, { rawExpressions: true });
		if (hasExpression(raw)) {
			known.set(key, 'expression');
			return value;
		}
		known.set(key, { value: typeof value === 'object' && value !== null ? deepCopy(value) : value });
		return value;
	};
	fast.getNodeParameter = getNodeParameter as IExecuteFunctions['getNodeParameter'];
	return fast;
}
