/**
 * scripts/split-packages.mjs (npm run release:split-dry-run): one package per vendor, built from
 * this repository. Runs the script's build and write steps (no pack, no scanner: the dry run does
 * those) into .tmp/ and checks the folders it wrote against what this file expects of them.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = path.resolve(__dirname, '..', '..');
const out = path.join(repo, '.tmp', `split-test-${process.pid}`);
const rootPkg = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8'));

/** What each package must declare, and the marks of each vendor's own files. */
const EXPECTED = {
	'n8n-nodes-b2copy': {
		nodes: ['dist/nodes/B2Copy/B2Copy.node.js'],
		credentials: ['dist/credentials/B2CopyExternalCrmApi.credentials.js'],
		mark: /(^|\/)(B2Copy|b2copy)/,
	},
	'n8n-nodes-crm-com': {
		nodes: ['dist/nodes/CrmCom/CrmCom.node.js'],
		credentials: ['dist/credentials/CrmComApi.credentials.js'],
		mark: /(^|\/)(CrmCom|crmcom)/,
	},
	'n8n-nodes-virtual-pbx': {
		nodes: ['dist/nodes/VirtualPbx/VirtualPbx.node.js', 'dist/nodes/VirtualPbx/VirtualPbxCallTrigger.node.js', 'dist/nodes/VirtualPbx/VirtualPbxTrigger.node.js'],
		credentials: ['dist/credentials/VirtualPbxOAuth2Api.credentials.js', 'dist/credentials/VirtualPbxTrustedAppApi.credentials.js'],
		mark: /(^|\/)(VirtualPbx|pbx)/,
	},
} as const;
type Name = keyof typeof EXPECTED;
type PlanSplit = (rootPkg: unknown, distDir: string) => Array<{ files: string[] }>;
let planSplit: PlanSplit;
const NAMES = Object.keys(EXPECTED) as Name[];

function listFiles(dir: string, prefix = ''): string[] {
	return fs
		.readdirSync(dir, { withFileTypes: true })
		.flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
}
const pkgOf = (name: Name) => JSON.parse(fs.readFileSync(path.join(out, name, 'package.json'), 'utf8'));
const filesOf = (name: Name) => listFiles(path.join(out, name)).sort();

/** The class a compiled node or credential file exports under its file's name, instantiated. */
function instance(file: string): Record<string, any> {
	const exported = createRequire(file)(file) as Record<string, new () => Record<string, any>>;
	const Class = exported[path.basename(file).split('.')[0]!];
	expect(typeof Class, file).toBe('function');
	return new Class!();
}

beforeAll(async () => {
	({ planSplit } = (await import(pathToFileURL(path.join(repo, 'scripts', 'split-packages.mjs')).href)) as { planSplit: PlanSplit });
	execFileSync('node', [path.join(repo, 'scripts', 'split-packages.mjs'), '--out', out, '--no-pack', '--no-scan'], { cwd: repo, stdio: 'pipe' });
}, 300_000);

afterAll(() => {
	fs.rmSync(out, { recursive: true, force: true });
});

describe('the split packages', () => {
	it('are one folder per vendor, each listing exactly its own nodes and credentials; together all of package.json\'s', () => {
		expect(fs.readdirSync(out).sort()).toEqual([...NAMES].sort());
		for (const name of NAMES) {
			const pkg = pkgOf(name);
			expect(pkg.name).toBe(name);
			expect(pkg.n8n.nodes).toEqual(EXPECTED[name].nodes);
			expect(pkg.n8n.credentials).toEqual(EXPECTED[name].credentials);
		}
		expect(NAMES.flatMap((n) => pkgOf(n).n8n.nodes).sort()).toEqual([...rootPkg.n8n.nodes].sort());
		expect(NAMES.flatMap((n) => pkgOf(n).n8n.credentials).sort()).toEqual([...rootPkg.n8n.credentials].sort());
	});

	it('no file of one vendor is in another vendor\'s package; a vendor file is in one package only', () => {
		const seen = new Map<string, Name>();
		for (const name of NAMES) {
			const files = filesOf(name);
			expect(files.filter((f) => !f.startsWith('dist/')).sort()).toEqual(['LICENSE', 'README.md', 'package.json']);
			for (const f of files.filter((f) => f.startsWith('dist/'))) {
				const inner = f.slice('dist/'.length);
				if (inner.startsWith('nodes/shared/')) continue;
				const owners = NAMES.filter((n) => EXPECTED[n].mark.test(inner));
				expect(owners, `${name} ships ${f}`).toEqual([name]);
				expect(seen.get(f), `${f} is in ${seen.get(f)} and ${name}`).toBeUndefined();
				seen.set(f, name);
				// The very file the build made, not something else under its name.
				expect(fs.readFileSync(path.join(out, name, f)).equals(fs.readFileSync(path.join(repo, f))), f).toBe(true);
			}
		}
	});

	it('each is self-contained: relative requires resolve inside it; nothing but n8n-workflow and node:crypto from outside; no dependencies', () => {
		for (const name of NAMES) {
			const root = path.join(out, name);
			const bare = new Set<string>();
			for (const f of filesOf(name).filter((f) => f.endsWith('.js'))) {
				const text = fs.readFileSync(path.join(root, f), 'utf8');
				for (const [, spec] of text.matchAll(/\brequire\("([^"]+)"\)/g)) {
					if (!spec!.startsWith('.')) {
						bare.add(spec!);
						continue;
					}
					const base = path.join(root, path.dirname(f), spec!);
					expect([`${base}.js`, base, path.join(base, 'index.js')].some((c) => fs.existsSync(c) && fs.statSync(c).isFile()), `${name}/${f}: require("${spec}")`).toBe(true);
				}
			}
			expect([...bare].sort(), name).toEqual(['n8n-workflow', 'node:crypto'].filter((m) => bare.has(m)));
			expect(bare.has('n8n-workflow'), name).toBe(true);
			const pkg = pkgOf(name);
			expect(pkg.dependencies, name).toBeUndefined();
			expect(pkg.peerDependencies).toEqual({ 'n8n-workflow': '*' });
			expect(pkg.keywords).toContain('n8n-community-node-package');
			expect(pkg.repository.url).toBe(rootPkg.repository.url);
			expect(pkg.license).toBe('MIT');
		}
	});

	it('each node finds its credentials and icons in its own package; credential types are not shared between packages', () => {
		const credentialTypes = new Map<string, Name>();
		for (const name of NAMES) {
			const root = path.join(out, name);
			const own = new Set<string>();
			for (const c of EXPECTED[name].credentials) {
				const cred = instance(path.join(root, c));
				expect(credentialTypes.get(cred.name), cred.name).toBeUndefined();
				credentialTypes.set(cred.name, name);
				own.add(cred.name);
				for (const icon of Object.values(cred.icon as Record<string, string>)) {
					expect(fs.existsSync(path.join(root, path.dirname(c), icon.replace(/^file:/, ''))), `${name}: ${icon}`).toBe(true);
				}
			}
			for (const n of EXPECTED[name].nodes) {
				const { description } = instance(path.join(root, n));
				const used = (description.credentials ?? []).map((c: { name: string }) => c.name);
				expect(used.length, n).toBeGreaterThan(0);
				for (const c of used) expect(own.has(c), `${n} uses ${c}`).toBe(true);
				for (const icon of Object.values(description.icon as Record<string, string>)) {
					expect(fs.existsSync(path.join(root, path.dirname(n), icon.replace(/^file:/, ''))), `${name}: ${icon}`).toBe(true);
				}
				expect(fs.existsSync(path.join(root, n.replace(/\.js$/, '.json'))), `${n}: codex`).toBe(true);
			}
		}
	});
});

describe('planSplit refuses', () => {
	let dist: string;
	const write = (rel: string, text: string) => {
		fs.mkdirSync(path.dirname(path.join(dist, rel)), { recursive: true });
		fs.writeFileSync(path.join(dist, rel), text);
	};
	const pkg = (nodes: string[]) => ({ ...rootPkg, n8n: { ...rootPkg.n8n, nodes, credentials: [] } });
	beforeAll(() => {
		dist = fs.mkdtempSync(path.join(os.tmpdir(), 'split-refuses-'));
		write('nodes/shared/client.js', 'exports.x = 1;\n');
		write('nodes/CrmCom/transport.js', 'require("../shared/client");\n');
		write('nodes/CrmCom/CrmCom.node.js', 'require("./transport");\n');
		write('nodes/VirtualPbx/VirtualPbx.node.js', 'require("n8n-workflow");\n');
	});
	afterAll(() => fs.rmSync(dist, { recursive: true, force: true }));

	it('a vendor whose code reaches another vendor\'s file, naming the file and who needs it', () => {
		write('nodes/B2Copy/B2Copy.node.js', 'require("../shared/client"); require("../CrmCom/transport");\n');
		const nodes = ['dist/nodes/B2Copy/B2Copy.node.js', 'dist/nodes/CrmCom/CrmCom.node.js', 'dist/nodes/VirtualPbx/VirtualPbx.node.js'];
		expect(() => planSplit(pkg(nodes), dist)).toThrow(/n8n-nodes-b2copy would ship files that are not its own:\n {2}dist\/nodes\/CrmCom\/transport\.js \(n8n-nodes-crm-com\), needed by nodes\/B2Copy\/B2Copy\.node\.js/);
	});

	it('a runtime dependency, a computed require, a node of no vendor', () => {
		write('nodes/B2Copy/B2Copy.node.js', 'require("axios");\n');
		expect(() => planSplit(pkg(['dist/nodes/B2Copy/B2Copy.node.js']), dist)).toThrow(/n8n-nodes-b2copy requires axios/);
		write('nodes/B2Copy/B2Copy.node.js', 'const m = "../CrmCom/transport"; require(m);\n');
		expect(() => planSplit(pkg(['dist/nodes/B2Copy/B2Copy.node.js']), dist)).toThrow(/not a string literal/);
		write('nodes/Other/Other.node.js', '\n');
		expect(() => planSplit(pkg(['dist/nodes/Other/Other.node.js']), dist)).toThrow(/belongs to no vendor/);
	});

	it('and accepts the same tree without the leak', () => {
		write('nodes/B2Copy/B2Copy.node.js', 'require("../shared/client"); require("n8n-workflow");\n');
		const plans = planSplit(pkg(['dist/nodes/B2Copy/B2Copy.node.js', 'dist/nodes/CrmCom/CrmCom.node.js']), dist);
		expect(plans.map((p) => p.files)).toEqual([
			['nodes/B2Copy/B2Copy.node.js', 'nodes/shared/client.js'],
			['nodes/CrmCom/CrmCom.node.js', 'nodes/CrmCom/transport.js', 'nodes/shared/client.js'],
			[],
		]);
	});
});
