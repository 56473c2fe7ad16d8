#!/usr/bin/env node
// Import cycles among the TypeScript files of nodes/ and credentials/ (type-only imports count
// too: a cycle of types is still a cycle of modules). No dependencies: relative imports are read
// with regular expressions, resolved to .ts files, and a depth-first search reports every cycle
// as a path ("a.ts → b.ts → a.ts"). Exit code 1 when there is one, 0 otherwise.
//
//   node scripts/check-cycles.mjs [root]   (default: this repository; scans <root>/nodes and
//                                           <root>/credentials)
//
// What counts as an import: `import … from '…'`, `import type … from '…'`, `export … from '…'`,
// `import '…'` (each at the start of a line, so a doc comment line "* import …" does not count),
// and `import('…')` / `require('…')` outside comments. Only specifiers starting with "." are
// followed; packages (n8n-workflow, node:crypto) are not part of any cycle.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const DIRECTORIES = ['nodes', 'credentials'];

const STATIC =
	/^[ \t]*(?:import|export)\s+(?:type\s+)?(?:[\w$]+\s*,\s*)?(?:\{[^}]*\}|\*\s*(?:as\s+[\w$]+)?|[\w$]+)\s*from\s*['"]([^'"]+)['"]/gm;
const BARE = /^[ \t]*import\s*['"]([^'"]+)['"]/gm;
const CALLED = /\b(?:import|require)\(\s*['"]([^'"]+)['"]\s*\)/g;

function withoutComments(text) {
	return text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(^|[ \t])\/\/.*$/gm, '$1');
}

export function specifiers(text) {
	const found = [];
	for (const pattern of [STATIC, BARE]) for (const m of text.matchAll(pattern)) found.push(m[1]);
	for (const m of withoutComments(text).matchAll(CALLED)) found.push(m[1]);
	return found;
}

function tsFiles(directory) {
	if (!fs.existsSync(directory)) return [];
	const files = [];
	for (const entry of fs.readdirSync(directory, { withFileTypes: true })) {
		const full = path.join(directory, entry.name);
		if (entry.isDirectory()) {
			if (entry.name !== 'node_modules' && entry.name !== 'dist') files.push(...tsFiles(full));
		} else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(full);
	}
	return files;
}

function resolve(from, specifier, known) {
	const base = path.resolve(path.dirname(from), specifier);
	const candidates = [base, `${base}.ts`, path.join(base, 'index.ts')];
	if (base.endsWith('.js')) candidates.unshift(`${base.slice(0, -3)}.ts`);
	return candidates.find((candidate) => known.has(candidate));
}

/** The import graph of the .ts files under root's nodes/ and credentials/. */
export function importGraph(root) {
	const files = DIRECTORIES.flatMap((directory) => tsFiles(path.join(root, directory)));
	const known = new Set(files);
	const graph = new Map();
	for (const file of files) {
		const targets = new Set();
		for (const specifier of specifiers(fs.readFileSync(file, 'utf8'))) {
			if (!specifier.startsWith('.')) continue;
			const target = resolve(file, specifier, known);
			if (target) targets.add(target);
		}
		graph.set(file, [...targets].sort());
	}
	return graph;
}

/** Every cycle met by a depth-first search, each as a list of files ending where it starts. */
export function findCycles(graph) {
	const state = new Map(); // undefined: not seen, 1: on the stack, 2: done
	const stack = [];
	const cycles = [];
	const seen = new Set();
	const visit = (file) => {
		state.set(file, 1);
		stack.push(file);
		for (const target of graph.get(file) ?? []) {
			if (state.get(target) === 1) {
				const cycle = stack.slice(stack.indexOf(target));
				// The same cycle reached from another file is reported once.
				const start = cycle.indexOf([...cycle].sort()[0]);
				const key = [...cycle.slice(start), ...cycle.slice(0, start)].join('\n');
				if (!seen.has(key)) {
					seen.add(key);
					cycles.push([...cycle, target]);
				}
			} else if (state.get(target) === undefined) visit(target);
		}
		stack.pop();
		state.set(file, 2);
	};
	for (const file of [...graph.keys()].sort()) if (state.get(file) === undefined) visit(file);
	return cycles;
}

function main() {
	const here = path.dirname(fileURLToPath(import.meta.url));
	const root = path.resolve(process.argv[2] ?? path.join(here, '..'));
	const graph = importGraph(root);
	const cycles = findCycles(graph);
	const name = (file) => path.relative(root, file).split(path.sep).join('/');
	if (cycles.length === 0) {
		console.log(`No import cycles among ${graph.size} files in ${DIRECTORIES.map((d) => `${d}/`).join(' and ')}.`);
		return;
	}
	console.error(`${cycles.length} import cycle${cycles.length === 1 ? '' : 's'} in ${DIRECTORIES.map((d) => `${d}/`).join(' and ')}:`);
	for (const cycle of cycles) console.error(`  ${cycle.map(name).join(' → ')}`);
	process.exitCode = 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
