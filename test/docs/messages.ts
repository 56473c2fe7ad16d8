/**
 * Every error message the package can raise, read from the source: the first argument of
 * `new NodeOperationError(node, …)` and `new TokenError(…)`, the `message` given to
 * `new NodeApiError(…)` and the `message = …` sentences built before it. Template parts
 * (`${…}`) become wildcards.
 */
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

function sourceFiles(dir: string): string[] {
	return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
		const full = path.join(dir, entry.name);
		if (entry.isDirectory()) return sourceFiles(full);
		return entry.name.endsWith('.ts') ? [full] : [];
	});
}

/** A string or template literal starting at `start` (a quote or backtick): its raw text. */
function literalAt(text: string, start: number): string | undefined {
	const quote = text[start];
	if (quote !== "'" && quote !== '"' && quote !== '`') return undefined;
	let depth = 0;
	for (let i = start + 1; i < text.length; i++) {
		const c = text[i];
		if (c === '\\') {
			i++;
			continue;
		}
		if (quote === '`' && c === '$' && text[i + 1] === '{') {
			depth++;
			i++;
			continue;
		}
		if (quote === '`' && depth > 0) {
			if (c === '{') depth++;
			if (c === '}') depth--;
			continue;
		}
		if (c === quote) return text.slice(start + 1, i);
	}
	return undefined;
}

/** The static pieces of a literal (template parts removed). */
export function staticParts(literal: string): string[] {
	const parts: string[] = [];
	let current = '';
	let depth = 0;
	for (let i = 0; i < literal.length; i++) {
		if (depth === 0 && literal[i] === '$' && literal[i + 1] === '{') {
			parts.push(current);
			current = '';
			depth = 1;
			i++;
			continue;
		}
		if (depth > 0) {
			if (literal[i] === '{') depth++;
			if (literal[i] === '}') depth--;
			continue;
		}
		current += literal[i];
	}
	parts.push(current);
	return parts.map((p) => p.replace(/\\(["'`])/g, '$1').trim()).filter((p) => p.length > 0);
}

export interface SourceMessage {
	file: string;
	line: number;
	literal: string;
}

const STARTS: RegExp[] = [
	/new NodeOperationError\(\s*[^,]+,\s*/g,
	/new TokenError\(\s*/g,
	/(?:const |let )?message\s*=\s*(?:refused\s*\?\s*)?/g,
	/\?\s*(?=`)/g,
	/:\s*(?=`[^`]*refused)/g,
	/redact\(\s*/g,
];

export function sourceMessages(): SourceMessage[] {
	const found = new Map<string, SourceMessage>();
	const files = [...sourceFiles(path.join(ROOT, 'nodes')), ...sourceFiles(path.join(ROOT, 'credentials'))];
	for (const file of files) {
		const text = fs.readFileSync(file, 'utf8');
		for (const pattern of STARTS) {
			pattern.lastIndex = 0;
			for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
				const start = m.index + m[0].length;
				const literal = literalAt(text, start);
				if (!literal || staticParts(literal).join('').length < 12) continue;
				if (!/[a-z]/.test(literal) || /^[a-z_]+$/.test(literal)) continue;
				const key = literal;
				if (!found.has(key)) {
					found.set(key, { file: path.relative(ROOT, file), line: text.slice(0, start).split('\n').length, literal });
				}
			}
		}
	}
	return [...found.values()];
}

if (require.main === module) {
	for (const m of sourceMessages()) process.stdout.write(`${m.file}:${m.line}\t${m.literal}\n`);
}
