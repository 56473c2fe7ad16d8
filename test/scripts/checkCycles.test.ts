/**
 * scripts/check-cycles.mjs, the CI check for import cycles in nodes/ and credentials/: it fails on
 * a temporary tree with a cycle (printing the cycle), passes on one without, and passes on this
 * repository. Also the layering rule it makes checkable: the call sync (nodes/VirtualPbx/sync/)
 * never reaches an operation (nodes/VirtualPbx/actions/), not even through other modules.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { afterEach, describe, expect, it } from 'vitest';

const repo = path.resolve(__dirname, '..', '..');
const script = path.join(repo, 'scripts', 'check-cycles.mjs');
const temporary: string[] = [];

function tree(files: Record<string, string>): string {
	const root = fs.mkdtempSync(path.join(os.tmpdir(), 'check-cycles-'));
	temporary.push(root);
	for (const [name, text] of Object.entries(files)) {
		fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
		fs.writeFileSync(path.join(root, name), text);
	}
	return root;
}

function check(root: string): { status: number | null; stdout: string; stderr: string } {
	const r = spawnSync(process.execPath, [script, root], { encoding: 'utf8' });
	return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

afterEach(() => {
	for (const root of temporary.splice(0)) fs.rmSync(root, { recursive: true, force: true });
});

describe('scripts/check-cycles.mjs', () => {
	it('fails on a cycle of type-only imports between two modules and prints it', () => {
		const root = tree({
			'nodes/shared/client.ts': "import { decide } from './redirect';\nexport interface Answer { status: number }\nexport const x = decide;\n",
			'nodes/shared/redirect.ts': "import type { Answer } from './client';\nexport function decide(a: Answer): number { return a.status; }\n",
		});
		const r = check(root);
		expect(r.status).toBe(1);
		expect(r.stderr).toContain('1 import cycle in');
		expect(r.stderr).toContain('nodes/shared/client.ts → nodes/shared/redirect.ts → nodes/shared/client.ts');
	});

	it('fails on a longer cycle across nodes/ and credentials/ through re-exports, multi-line imports, index files and .js specifiers', () => {
		const root = tree({
			'credentials/Api.credentials.ts': "import {\n\ttoken,\n} from '../nodes/Vendor/auth.js';\nexport const t = token;\n",
			'nodes/Vendor/auth.ts': "export * from './helpers';\nexport const token = 1;\n",
			'nodes/Vendor/helpers/index.ts': "export { t } from '../../../credentials/Api.credentials';\n",
		});
		const r = check(root);
		expect(r.status).toBe(1);
		expect(r.stderr).toContain(
			'credentials/Api.credentials.ts → nodes/Vendor/auth.ts → nodes/Vendor/helpers/index.ts → credentials/Api.credentials.ts',
		);
	});

	it('finds a cycle made by a dynamic import', () => {
		const root = tree({
			'nodes/a.ts': "import { b } from './b';\nexport const a = b;\n",
			'nodes/b.ts': "export const b = 1;\nexport async function later() { return (await import('./a')).a; }\n",
		});
		expect(check(root).status).toBe(1);
	});

	it('passes on a tree without a cycle, ignoring imports in comments, packages and files outside nodes/ and credentials/', () => {
		const root = tree({
			'nodes/a.ts': "import { NodeApiError } from 'n8n-workflow';\nimport { b } from './b';\nexport const a = [b, NodeApiError];\n",
			'nodes/b.ts':
				"/**\n * Example:\n * import { a } from './a';\n */\n// const a = require('./a');\nexport const b = 'https://example.com/import(\\'./a\\')';\n",
			'test/a.test.ts': "import { a } from '../nodes/a';\nimport './a.test';\nexport { a };\n",
		});
		const r = check(root);
		expect(r.stderr).toBe('');
		expect(r.status).toBe(0);
		expect(r.stdout).toContain('No import cycles among 2 files');
	});

	it('passes on this repository', () => {
		const r = check(repo);
		expect(r.stderr).toBe('');
		expect(r.status).toBe(0);
		expect(r.stdout).toMatch(/No import cycles among \d+ files in nodes\/ and credentials\//);
	});
});

describe('layering', () => {
	it('nothing under nodes/VirtualPbx/sync/ reaches nodes/VirtualPbx/actions/, directly or through other modules', async () => {
		const { importGraph } = (await import(pathToFileURL(script).href)) as {
			importGraph(root: string): Map<string, string[]>;
		};
		const graph = importGraph(repo);
		const rel = (file: string) => path.relative(repo, file).split(path.sep).join('/');
		const sync = [...graph.keys()].filter((file) => rel(file).startsWith('nodes/VirtualPbx/sync/'));
		expect(sync.length).toBeGreaterThan(3);
		// Actions do use the sync: the graph is read correctly if that edge is seen.
		const actionsToSync = [...graph.entries()].some(
			([file, targets]) => rel(file).startsWith('nodes/VirtualPbx/actions/') && targets.some((t) => rel(t).startsWith('nodes/VirtualPbx/sync/')),
		);
		expect(actionsToSync).toBe(true);
		const reached = new Map<string, string>();
		const stack = sync.map((file) => [file, rel(file)] as const);
		while (stack.length > 0) {
			const [file, via] = stack.pop()!;
			if (reached.has(file)) continue;
			reached.set(file, via);
			for (const target of graph.get(file) ?? []) stack.push([target, `${via} → ${rel(target)}`]);
		}
		const intoActions = [...reached.entries()].filter(([file]) => rel(file).startsWith('nodes/VirtualPbx/actions/')).map(([, via]) => via);
		expect(intoActions).toEqual([]);
	});
});
