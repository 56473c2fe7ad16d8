#!/usr/bin/env node
// n8n's verification scanner (@n8n/scan-community-package), run offline on this repository and on
// the tarball `npm pack` makes — the two legs its analyzePackageByName runs after the provenance
// check: the source's package.json + {nodes,credentials}/** with the full rule set, and the
// tarball's compiled .js + package.json. Only the registry download and the provenance lookup are
// left out (they need a published version); the release workflow publishes with --provenance.
//
//   node scripts/scan-package.mjs [tarball.tgz]   (default: npm run build + npm pack into .tmp/scan)
//   SCANNER_CACHE_DIR   where the scanner is installed (default ~/.cache/n8n-nodes-crm-pbx/scanner)
//
// Installs the scanner once (about 30 s, progress on stderr), then reuses it. Exit code 0 when both
// legs report 0 errors; prints the scanner's own report otherwise.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SCANNER_VERSION = '0.32.0';
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cache = process.env.SCANNER_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'n8n-nodes-crm-pbx', 'scanner');
const say = (msg) => process.stderr.write(`[scan ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

function sh(cmd, args, opts = {}) {
	const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
	if (r.status !== 0) {
		throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}):\n${r.stdout ?? ''}\n${r.stderr ?? ''}`);
	}
	return r.stdout;
}

/** Installs the scanner into the cache once; returns the path of its scanner.mjs (also used by split-packages.mjs). */
export function ensureScanner() {
	const marker = path.join(cache, `.complete-${SCANNER_VERSION}`);
	const entry = path.join(cache, 'node_modules', '@n8n', 'scan-community-package', 'scanner', 'scanner.mjs');
	if (fs.existsSync(marker) && fs.existsSync(entry)) {
		say(`step 1/3: @n8n/scan-community-package@${SCANNER_VERSION} cached in ${cache}`);
		return entry;
	}
	say(`step 1/3: installing @n8n/scan-community-package@${SCANNER_VERSION} into ${cache} (~300 packages, about 30 s)`);
	fs.mkdirSync(cache, { recursive: true });
	fs.writeFileSync(path.join(cache, 'package.json'), '{"name":"n8n-scanner-cache","private":true}\n');
	sh('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error', `@n8n/scan-community-package@${SCANNER_VERSION}`], {
		cwd: cache,
		stdio: ['ignore', 'inherit', 'inherit'],
	});
	if (!fs.existsSync(entry)) throw new Error(`the scanner installed but ${entry} is missing`);
	fs.writeFileSync(marker, new Date().toISOString());
	return entry;
}

function packTarball() {
	const dest = path.join(repo, '.tmp', 'scan');
	fs.rmSync(dest, { recursive: true, force: true });
	fs.mkdirSync(dest, { recursive: true });
	say('step 2/3: npm run build + npm pack');
	sh('npm', ['run', '--silent', 'build'], { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] });
	const info = JSON.parse(sh('npm', ['pack', '--json', '--pack-destination', dest], { cwd: repo }));
	return path.join(dest, info[0].filename);
}

/** Prints "scanner <leg>: 0 errors" or the scanner's report per leg; returns how many failed. */
export function printLegs(legs, label = 'scanner') {
	let failed = 0;
	for (const [name, result] of legs) {
		if (result.passed && !result.message) {
			console.log(`${label} ${name}: 0 errors`);
		} else {
			failed++;
			console.log(`${label} ${name}: FAILED — ${result.message ?? 'no files analysed'}`);
			if (result.details) console.log(result.details);
		}
	}
	return failed;
}

async function main() {
	const entry = ensureScanner();
	const tarball = process.argv[2] ? path.resolve(process.argv[2]) : packTarball();
	const unpacked = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-pbx-scan-'));
	try {
		sh('tar', ['-xzf', tarball, '-C', unpacked, '--strip-components=1']);
		const scanner = await import(pathToFileURL(entry).href);
		say(`step 3/3: scanner rule set on the source (${scanner.SOURCE_FILE_PATTERNS.join(', ')}) and on ${path.basename(tarball)}`);
		const legs = [
			['source', await scanner.analyzePackage(repo, scanner.SOURCE_FILE_PATTERNS)],
			['tarball', await scanner.analyzePackage(unpacked, ['**/*.js', 'package.json'])],
		];
		process.exitCode = printLegs(legs) ? 1 : 0;
	} finally {
		fs.rmSync(unpacked, { recursive: true, force: true });
	}
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
