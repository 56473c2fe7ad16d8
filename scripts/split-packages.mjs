#!/usr/bin/env node
// `npm run release:split-dry-run`: one npm package per vendor from this repository, without
// publishing (docs/verification.md, "One package per vendor"). Builds dist/ once, then for each
// vendor writes <out>/<name>/ with a package.json whose "n8n" section lists only that vendor's
// nodes and credentials, the dist files those need (followed through require() and the icons'
// "file:" paths; nodes/shared goes into each), README.md and LICENSE. Then, per package:
//   - `npm pack --dry-run`: what would be published is exactly what was written;
//   - n8n's scanner rule set on both legs its verification runs: the package as packed (compiled
//     .js + package.json) and the TypeScript source the package is built from — a view
//     <out>-source/<name>/ laid out like the committed packages/<name>/ of the plan: package.json
//     plus relative symlinks to nodes/<Vendor>, nodes/shared, the credentials and the icons.
// Fails when a vendor's files reach another vendor's, when a node or credential of package.json
// has no vendor, or when compiled code requires anything but n8n-workflow and node: built-ins.
//
//   node scripts/split-packages.mjs [--out DIR] [--no-build] [--no-pack] [--no-scan]
//       --out       where the package folders go (default .tmp/split)
//       --no-build  use the dist/ there is; --no-pack / --no-scan skip those steps
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const say = (msg) => process.stderr.write(`[split ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

/** Which files (paths inside dist/, by prefix) are whose. */
export const VENDORS = [
	{
		name: 'n8n-nodes-b2copy',
		service: 'B2COPY',
		description: 'n8n node for the B2COPY copy-trading admin API, with a credential that signs in and renews tokens by itself',
		keywords: ['b2copy'],
		owns: ['nodes/B2Copy/', 'credentials/B2Copy', 'icons/b2copy'],
	},
	{
		name: 'n8n-nodes-crm-com',
		service: 'CRM.COM',
		description: 'n8n node for CRM.COM, with a credential that signs in and renews the session by itself',
		keywords: ['crm.com'],
		owns: ['nodes/CrmCom/', 'credentials/CrmCom', 'icons/crmcom'],
	},
	{
		name: 'n8n-nodes-virtual-pbx',
		service: 'Virtual PBX (Telphin/Ringme)',
		description: 'n8n nodes for a Telphin/Ringme virtual PBX: actions, a call-event trigger and a new-call trigger, with OAuth2 and trusted-application credentials',
		keywords: ['pbx', 'telphin', 'ringme'],
		owns: ['nodes/VirtualPbx/', 'credentials/VirtualPbx', 'icons/pbx'],
	},
];
/** Used by every vendor, shipped in each package. */
export const SHARED = ['nodes/shared/'];
const ALLOWED_BARE = (spec) => spec === 'n8n-workflow' || spec.startsWith('node:');

/** The vendor name owning a path inside dist/, 'shared', or undefined. */
export function ownerOf(distPath) {
	if (SHARED.some((p) => distPath.startsWith(p))) return 'shared';
	return VENDORS.find((v) => v.owns.some((p) => distPath.startsWith(p)))?.name;
}

function resolveRequire(distDir, fromDir, spec) {
	const base = path.posix.normalize(path.posix.join(fromDir, spec));
	for (const candidate of [`${base}.js`, base, `${base}/index.js`]) {
		const abs = path.join(distDir, candidate);
		if (fs.existsSync(abs) && fs.statSync(abs).isFile()) return candidate;
	}
	throw new Error(`require("${spec}") in dist/${fromDir}/ does not resolve to a file`);
}

/**
 * Every dist file the entries need: relative require()s, "file:" icon paths, each node's codex
 * (X.node.json). Returns the files (paths inside dist/, with the file that first needed each)
 * and the bare module names required.
 */
export function closure(distDir, entries) {
	const neededBy = new Map();
	const bare = new Set();
	const queue = entries.map((e) => [e, 'package.json']);
	while (queue.length) {
		const [rel, parent] = queue.shift();
		if (neededBy.has(rel)) continue;
		if (!fs.existsSync(path.join(distDir, rel))) throw new Error(`dist/${rel} (needed by ${parent}) does not exist`);
		neededBy.set(rel, parent);
		if (!rel.endsWith('.js')) continue;
		const text = fs.readFileSync(path.join(distDir, rel), 'utf8');
		const dir = path.posix.dirname(rel);
		if (/\brequire\((?!"[^"]+"\))/.test(text)) throw new Error(`dist/${rel} has a require() whose argument is not a string literal`);
		for (const [, spec] of text.matchAll(/\brequire\("([^"]+)"\)/g)) {
			if (spec.startsWith('.')) queue.push([resolveRequire(distDir, dir, spec), rel]);
			else bare.add(spec);
		}
		for (const [, file] of text.matchAll(/["'`]file:([^"'`]+)["'`]/g)) queue.push([path.posix.normalize(path.posix.join(dir, file)), rel]);
		const codex = rel.replace(/\.node\.js$/, '.node.json');
		if (codex !== rel && fs.existsSync(path.join(distDir, codex))) queue.push([codex, rel]);
	}
	return { neededBy, bare };
}

/** What each vendor package holds; throws on a leak, an unowned entry or a runtime dependency. */
export function planSplit(rootPkg, distDir) {
	const strip = (p) => p.replace(/^dist\//, '');
	for (const entry of [...rootPkg.n8n.nodes, ...rootPkg.n8n.credentials]) {
		const owner = ownerOf(strip(entry));
		if (!owner || owner === 'shared') throw new Error(`${entry} of package.json belongs to no vendor (update VENDORS in scripts/split-packages.mjs)`);
	}
	return VENDORS.map((vendor) => {
		const mine = (list) => list.filter((p) => ownerOf(strip(p)) === vendor.name);
		const nodes = mine(rootPkg.n8n.nodes);
		const credentials = mine(rootPkg.n8n.credentials);
		const { neededBy, bare } = closure(distDir, [...nodes, ...credentials].map(strip));
		const foreign = [...neededBy].filter(([f]) => ownerOf(f) !== vendor.name && ownerOf(f) !== 'shared');
		if (foreign.length) {
			throw new Error(`${vendor.name} would ship files that are not its own:\n${foreign.map(([f, by]) => `  dist/${f} (${ownerOf(f) ?? 'no vendor'}), needed by ${by}`).join('\n')}`);
		}
		const deps = [...bare].filter((s) => !ALLOWED_BARE(s));
		if (deps.length) throw new Error(`${vendor.name} requires ${deps.join(', ')}: only n8n-workflow and node: built-ins are allowed`);
		return { vendor, nodes, credentials, files: [...neededBy.keys()].sort() };
	});
}

function packageJson(rootPkg, plan) {
	const { vendor } = plan;
	return {
		name: vendor.name,
		version: rootPkg.version,
		description: vendor.description,
		license: rootPkg.license,
		homepage: rootPkg.homepage,
		bugs: rootPkg.bugs,
		keywords: ['n8n-community-node-package', 'n8n', ...vendor.keywords],
		author: rootPkg.author,
		repository: { ...rootPkg.repository, directory: `packages/${vendor.name}` },
		engines: rootPkg.engines,
		files: ['dist'],
		n8n: { n8nNodesApiVersion: rootPkg.n8n.n8nNodesApiVersion, strict: rootPkg.n8n.strict, credentials: plan.credentials, nodes: plan.nodes },
		peerDependencies: rootPkg.peerDependencies,
	};
}

function readme(rootPkg, plan) {
	const list = (paths) => paths.map((p) => `- \`${path.posix.basename(p).replace(/\.(node|credentials)\.js$/, '')}\``).join('\n');
	return `# ${plan.vendor.name}

An n8n community node package for ${plan.vendor.service}: ${plan.vendor.description.replace(/^n8n nodes? for /, '')}.
It is built from the same sources as [n8n-nodes-crm-pbx](${rootPkg.homepage}), whose README documents
every operation, the credentials, the error messages and the examples.

Nodes:

${list(plan.nodes)}

Credentials:

${list(plan.credentials)}

## Install

In n8n: **Settings → Community nodes → Install**, enter \`${plan.vendor.name}\`. Install either this
package (and the other per-vendor ones you need) or the all-in-one \`n8n-nodes-crm-pbx\`, not both:
they define the same credential types.

Compatibility: n8n 2.41.1 or later.

## License

[MIT](LICENSE)
`;
}

function sh(cmd, args, opts = {}) {
	const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
	if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}):\n${r.stdout ?? ''}\n${r.stderr ?? ''}`);
	return r.stdout;
}

function listFiles(dir, prefix = '') {
	return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
		e.isDirectory() ? listFiles(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
	);
}

/** Writes <out>/<name>/ for each plan; returns the folders. */
export function writePackages(rootPkg, plans, distDir, out) {
	fs.rmSync(out, { recursive: true, force: true });
	return plans.map((plan) => {
		const dir = path.join(out, plan.vendor.name);
		for (const f of plan.files) {
			fs.mkdirSync(path.dirname(path.join(dir, 'dist', f)), { recursive: true });
			fs.copyFileSync(path.join(distDir, f), path.join(dir, 'dist', f));
		}
		fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(packageJson(rootPkg, plan), null, 2)}\n`);
		fs.writeFileSync(path.join(dir, 'README.md'), readme(rootPkg, plan));
		fs.copyFileSync(path.join(repo, 'LICENSE'), path.join(dir, 'LICENSE'));
		return dir;
	});
}

/**
 * The source the scanner would lint for this package at the published commit: package.json and
 * relative symlinks to the sources its dist files come from (nodes/<dir>, credentials/<file>,
 * icons/<file>), as packages/<name>/ would hold them in the repository.
 */
function writeSourceView(plan, pkgDir, viewDir) {
	fs.rmSync(viewDir, { recursive: true, force: true });
	fs.mkdirSync(viewDir, { recursive: true });
	fs.copyFileSync(path.join(pkgDir, 'package.json'), path.join(viewDir, 'package.json'));
	const links = new Set();
	for (const f of plan.files) {
		const [top, second] = f.split('/');
		if (top === 'nodes') links.add(`nodes/${second}`);
		else if (top === 'credentials') links.add(f.replace(/\.js$/, '.ts'));
		else links.add(f);
	}
	for (const link of links) {
		const target = path.join(repo, link);
		if (!fs.existsSync(target)) throw new Error(`${link} (a source of ${plan.vendor.name}) does not exist in the repository`);
		const at = path.join(viewDir, link);
		fs.mkdirSync(path.dirname(at), { recursive: true });
		fs.symlinkSync(path.relative(path.dirname(at), target), at);
	}
	return [...links].sort();
}

async function main() {
	const args = process.argv.slice(2);
	const flag = (f) => args.includes(f);
	const outAt = args.indexOf('--out');
	const out = path.resolve(outAt >= 0 ? args[outAt + 1] : path.join(repo, '.tmp', 'split'));
	const rootPkg = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8'));
	const distDir = path.join(repo, 'dist');

	if (!flag('--no-build')) {
		say('step 1/4: npm run build (once for every package)');
		sh('npm', ['run', '--silent', 'build'], { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] });
	}
	say(`step 2/4: one folder per vendor in ${path.relative(repo, out)}/`);
	const plans = planSplit(rootPkg, distDir);
	const dirs = writePackages(rootPkg, plans, distDir, out);
	for (const plan of plans) {
		const shared = plan.files.filter((f) => ownerOf(f) === 'shared').length;
		console.log(`${plan.vendor.name}: ${plan.nodes.length} node(s), ${plan.credentials.length} credential(s), ${plan.files.length} dist files (${shared} of nodes/shared)`);
	}

	let failed = 0;
	if (!flag('--no-pack')) {
		say('step 3/4: npm pack --dry-run in each folder');
		for (const [i, dir] of dirs.entries()) {
			const [info] = JSON.parse(sh('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: dir }));
			const packed = info.files.map((f) => f.path).sort();
			const written = listFiles(dir).sort();
			const same = packed.length === written.length && packed.every((p, k) => p === written[k]);
			if (!same) failed++;
			console.log(
				`npm pack ${info.name}@${info.version}: ${packed.length} files, ${info.size} bytes packed, ${info.unpackedSize} unpacked` +
					(same ? '' : ` — DIFFERS from the folder: packed ${packed.filter((p) => !written.includes(p)).join(', ') || '-'}, left out ${written.filter((p) => !packed.includes(p)).join(', ') || '-'}`),
			);
			if (info.name !== plans[i].vendor.name) failed++;
		}
	}
	if (!flag('--no-scan')) {
		say("step 4/4: n8n's scanner rule set: each package as packed, and its source view");
		const { ensureScanner, printLegs } = await import(pathToFileURL(path.join(repo, 'scripts', 'scan-package.mjs')).href);
		const entry = ensureScanner();
		const scanner = await import(pathToFileURL(entry).href);
		const glob = createRequire(entry)('fast-glob');
		const sourceOut = `${out}-source`;
		for (const [i, dir] of dirs.entries()) {
			const plan = plans[i];
			const view = path.join(sourceOut, plan.vendor.name);
			const links = writeSourceView(plan, dir, view);
			const linted = glob.sync(scanner.SOURCE_FILE_PATTERNS, { cwd: view, ignore: ['node_modules/**'] });
			console.log(`${plan.vendor.name} source view: ${links.join(', ')} → ${linted.length} files the scanner lints`);
			failed += printLegs(
				[
					['tarball', await scanner.analyzePackage(dir, ['**/*.js', 'package.json'])],
					['source', await scanner.analyzePackage(view, scanner.SOURCE_FILE_PATTERNS)],
				],
				`scanner ${plan.vendor.name}`,
			);
		}
		// Control: the source leg lints through the symlinks (a symlinked file with setTimeout fails).
		const control = path.join(sourceOut, '.control');
		fs.mkdirSync(path.join(control, 'nodes'), { recursive: true });
		fs.writeFileSync(path.join(control, 'real.ts'), 'export const wait = () => setTimeout(() => undefined, 1);\n');
		fs.symlinkSync('../real.ts', path.join(control, 'nodes', 'Linked.ts'));
		fs.writeFileSync(path.join(control, 'package.json'), '{"name":"n8n-nodes-control","version":"0.0.0"}\n');
		const flagged = await scanner.analyzePackage(control, scanner.SOURCE_FILE_PATTERNS);
		const ok = !flagged.passed && /no-restricted-globals/.test(flagged.details ?? '');
		console.log(`control: a symlinked nodes/ file using setTimeout is ${ok ? 'flagged by no-restricted-globals' : 'NOT flagged — the source views prove nothing'}`);
		if (!ok) failed++;
		fs.rmSync(control, { recursive: true, force: true });
	}
	console.log(failed ? `split dry run: ${failed} problem(s)` : `split dry run: ${dirs.length} packages OK`);
	process.exitCode = failed ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
	try {
		await main();
	} catch (error) {
		console.error(`[split] FAILED: ${error.message}`);
		process.exitCode = 1;
	}
}
