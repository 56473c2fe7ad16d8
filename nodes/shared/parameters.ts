/**
 * Parameter reads once per run where n8n would give every item the same answer, and a direct
 * read of the item for the field mappings n8n's editor writes.
 *
 * n8n resolves `getNodeParameter(name, itemIndex)` anew for every item: node-type look-up,
 * parameter walk, expression resolution in its sandbox, clean-up, schema validation. Two cases
 * are answered without that work:
 *
 * - A parameter without any expression in it (a fixed "Identify By", an Options collection)
 *   cannot differ between items: it is resolved once per run and each later item gets its own
 *   copy of it.
 * - A parameter whose every expression is a plain field mapping — exactly `{{ $json.field }}`,
 *   `{{ $json.a.b }}`, `{{ $json["field name"] }}` or `{{ $json.list[0] }}`, what dragging a field
 *   from the input panel writes — is the item's own value at that path. It is read from the input
 *   item directly when that value is a string, a finite number or a boolean; anything else
 *   (missing, null, an object) goes to n8n as before, so n8n's own answer and errors stand.
 *   The first item read this way is also resolved by n8n and both answers compared: if they
 *   differ the parameter goes back to n8n for the whole run.
 *
 * Everything else (any other expression, calls with options such as raw expressions or
 * extraction) is resolved by n8n for every item, exactly as before.
 */
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { deepCopy } from 'n8n-workflow';

function hasExpression(value: unknown): boolean {
	if (typeof value === 'string') return value.startsWith('=');
	if (Array.isArray(value)) return value.some(hasExpression);
	if (typeof value === 'object' && value !== null) return Object.values(value).some(hasExpression);
	return false;
}

type Path = Array<string | number>;

const MAPPING = /^=\{\{\s*\$json((?:\s*(?:\.[A-Za-z_$][\w$]*|\[\s*(?:\d+|'[^'\\]*'|"[^"\\]*")\s*\]))+)\s*\}\}$/;
const STEP = /\.([A-Za-z_$][\w$]*)|\[\s*(?:(\d+)|'([^'\\]*)'|"([^"\\]*)")\s*\]/g;

/** The path of a plain `{{ $json… }}` mapping, or undefined for any other expression. */
export function mappingPath(raw: string): Path | undefined {
	const match = MAPPING.exec(raw);
	if (!match) return undefined;
	const path: Path = [];
	for (const step of match[1].matchAll(STEP)) {
		if (step[1] !== undefined) path.push(step[1]);
		else if (step[2] !== undefined) path.push(Number(step[2]));
		else path.push(step[3] ?? step[4]);
	}
	return path;
}

const NOT_DIRECT = Symbol('not direct');

/** The item's own primitive value at `path`, or NOT_DIRECT when n8n must answer. */
function valueAt(json: unknown, path: Path): unknown {
	let here: unknown = json;
	for (const step of path) {
		if (typeof here !== 'object' || here === null) return NOT_DIRECT;
		if (!Object.prototype.hasOwnProperty.call(here, step)) return NOT_DIRECT;
		here = (here as Record<string | number, unknown>)[step];
	}
	if (typeof here === 'string' || typeof here === 'boolean') return here;
	if (typeof here === 'number' && Number.isFinite(here)) return here;
	return NOT_DIRECT;
}

/** The raw parameter with every mapping replaced by the item's value; NOT_DIRECT if any can't be. */
function fill(raw: unknown, paths: Map<string, Path>, json: unknown): unknown {
	if (typeof raw === 'string') {
		if (!raw.startsWith('=')) return raw;
		const path = paths.get(raw);
		return path ? valueAt(json, path) : NOT_DIRECT;
	}
	if (Array.isArray(raw)) {
		const out: unknown[] = [];
		for (const entry of raw) {
			const value = fill(entry, paths, json);
			if (value === NOT_DIRECT) return NOT_DIRECT;
			out.push(value);
		}
		return out;
	}
	if (typeof raw === 'object' && raw !== null) {
		const out: Record<string, unknown> = {};
		for (const [key, entry] of Object.entries(raw)) {
			const value = fill(entry, paths, json);
			if (value === NOT_DIRECT) return NOT_DIRECT;
			out[key] = value;
		}
		return out;
	}
	return raw;
}

/** Every expression in `raw` as a mapping path; undefined when one is anything else. */
function mappings(raw: unknown, into = new Map<string, Path>()): Map<string, Path> | undefined {
	if (typeof raw === 'string') {
		if (!raw.startsWith('=')) return into;
		const path = mappingPath(raw);
		if (!path) return undefined;
		into.set(raw, path);
		return into;
	}
	const entries = Array.isArray(raw) ? raw : typeof raw === 'object' && raw !== null ? Object.values(raw) : [];
	for (const entry of entries) if (!mappings(entry, into)) return undefined;
	return into;
}

function sameValue(a: unknown, b: unknown): boolean {
	if (a === b) return true;
	if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
	return JSON.stringify(a) === JSON.stringify(b);
}

type Read = (name: string, itemIndex: number, fallback?: unknown, options?: object) => unknown;
type Entry = { kind: 'fixed'; value: unknown } | { kind: 'expression' } | { kind: 'mapping'; raw: unknown; paths: Map<string, Path>; checked: boolean };

const copy = (value: unknown): unknown => (typeof value === 'object' && value !== null ? deepCopy(value as IDataObject) : value);

/** `ctx` with a getNodeParameter that answers fixed parameters and plain field mappings itself. */
export function withRunParameters(ctx: IExecuteFunctions): IExecuteFunctions {
	const read = ctx.getNodeParameter.bind(ctx) as Read;
	const known = new Map<string, Entry>();
	let inputs: Array<{ json?: unknown }> | undefined;
	const itemJson = (itemIndex: number): unknown => {
		if (!inputs) {
			try {
				inputs = ctx.getInputData() as Array<{ json?: unknown }>;
			} catch {
				inputs = [];
			}
		}
		return inputs[itemIndex]?.json;
	};
	const fast = Object.create(ctx) as IExecuteFunctions;
	const getNodeParameter: Read = (name, itemIndex, fallback, options) => {
		if (options !== undefined || typeof name !== 'string') return read(name, itemIndex, fallback, options);
		const key = `${name}\u0000${fallback === undefined ? '' : JSON.stringify(fallback)}`;
		let entry = known.get(key);
		if (!entry) {
			const value = read(name, itemIndex, fallback);
			const raw = read(name, itemIndex, fallback, { rawExpressions: true });
			if (!hasExpression(raw)) {
				known.set(key, { kind: 'fixed', value: copy(value) });
				return value;
			}
			const paths = mappings(raw);
			entry = paths ? { kind: 'mapping', raw, paths, checked: false } : { kind: 'expression' };
			known.set(key, entry);
			if (entry.kind === 'mapping') {
				const direct = fill(raw, paths!, itemJson(itemIndex));
				if (direct !== NOT_DIRECT) {
					if (sameValue(direct, value)) entry.checked = true;
					else known.set(key, { kind: 'expression' });
				}
			}
			return value;
		}
		if (entry.kind === 'fixed') return copy(entry.value);
		if (entry.kind === 'expression') return read(name, itemIndex, fallback);
		const direct = fill(entry.raw, entry.paths, itemJson(itemIndex));
		if (direct === NOT_DIRECT) return read(name, itemIndex, fallback);
		if (!entry.checked) {
			// The first item answered directly is also answered by n8n: they must agree.
			const value = read(name, itemIndex, fallback);
			if (sameValue(direct, value)) entry.checked = true;
			else known.set(key, { kind: 'expression' });
			return value;
		}
		return direct;
	};
	fast.getNodeParameter = getNodeParameter as IExecuteFunctions['getNodeParameter'];
	return fast;
}
