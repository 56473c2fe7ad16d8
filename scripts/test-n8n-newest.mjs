#!/usr/bin/env node
// `npm run test:n8n:newest`: the real-n8n tests listed in test/n8n/newest-selection.json (the
// credential Tests, one operation per vendor, the call sync through the editor path) on the newest
// n8n the npm registry serves, next to the 2.41.1 the whole suite runs on.
//
//   node scripts/test-n8n-newest.mjs [--json FILE] [vitest args...]
//       resolves the version (`npm view n8n version`; offline: FALLBACK_VERSION, said so), installs
//       it once into the cache (scripts/ensure-n8n.sh, N8N_VERSION=<it>), runs the selection with
//       vitest.n8n-newest.config.mts, results JSON to FILE (default .tmp/n8n-newest.json), then
//       checks that every selector selected a test that ran.
//   node scripts/test-n8n-newest.mjs --check FILE
//       only the check, on a results JSON written before (scripts/test-all.sh records it as a step).
//   N8N_VERSION=x.y.z   use that version instead of asking the registry.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The newest n8n on the registry when this was written (2026-09-26); used when it cannot be asked. */
const FALLBACK_VERSION = '2.41.3';
/** The n8n the whole real-n8n suite runs on (scripts/ensure-n8n.sh's default). */
const SUITE_VERSION = '2.41.1';
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const selection = JSON.parse(fs.readFileSync(path.join(repo, 'test', 'n8n', 'newest-selection.json'), 'utf8'));
const say = (msg) => process.stderr.write(`[n8n-newest ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const EXACT = /^\d+\.\d+\.\d+$/;

function newestVersion() {
	if (process.env.N8N_VERSION) {
		if (!EXACT.test(process.env.N8N_VERSION)) throw new Error(`N8N_VERSION must be an exact version like 2.41.3 (is "${process.env.N8N_VERSION}")`);
		say(`n8n ${process.env.N8N_VERSION} (from N8N_VERSION; the registry was not asked)`);
		return process.env.N8N_VERSION;
	}
	const r = spawnSync('npm', ['view', 'n8n', 'version'], { encoding: 'utf8', timeout: 60_000 });
	const answer = (r.stdout ?? '').trim();
	if (r.status === 0 && EXACT.test(answer)) {
		say(`newest n8n on the registry: ${answer} (the full suite runs on 2.41.1)`);
		return installable(answer);
	}
	const why = r.error ? r.error.message : `exit ${r.status}: ${(r.stderr ?? '').trim().split('\n').pop() || answer || 'no answer'}`;
	say(`the npm registry did not say which n8n is newest (${why}); OFFLINE FALLBACK: n8n ${FALLBACK_VERSION}, the newest known when this script was written`);
	return FALLBACK_VERSION;
}

const view = (spec, field) => {
	const r = spawnSync('npm', ['view', spec, field, '--json'], { encoding: 'utf8', timeout: 60_000 });
	return r.status === 0 && r.stdout.trim() !== '' ? JSON.parse(r.stdout) : undefined;
};

/**
 * The newest release not newer than `newest` whose own n8n packages (the exactly pinned `@n8n/*`
 * and `n8n-*` dependencies) the registry serves: a release can be published before its
 * dependencies reach a registry mirror, and then cannot be installed at all. Says which releases
 * were passed over and why; `newest` itself when the registry cannot be asked.
 */
function installable(newest) {
	const all = view('n8n', 'versions');
	if (!Array.isArray(all)) return newest;
	const [major, minor] = newest.split('.').map(Number);
	const candidates = all
		.filter((v) => EXACT.test(v) && v.split('.').slice(0, 2).map(Number).join('.') === `${major}.${minor}`)
		.sort((a, b) => Number(b.split('.')[2]) - Number(a.split('.')[2]))
		.filter((v) => Number(v.split('.')[2]) <= Number(newest.split('.')[2]));
	for (const version of candidates) {
		const deps = view(`n8n@${version}`, 'dependencies') ?? {};
		const own = Object.entries(deps).filter(([name, range]) => (name.startsWith('@n8n/') || name.startsWith('n8n-')) && EXACT.test(String(range)));
		say(`n8n ${version}: checking that the registry serves its ${own.length} n8n packages`);
		const missing = own.filter(([name, range]) => view(`${name}@${range}`, 'version') === undefined).map(([name, range]) => `${name}@${range}`);
		if (missing.length === 0) return version;
		say(`n8n ${version} CANNOT BE INSTALLED from this registry: ${missing.length} of its ${own.length} n8n packages are missing (${missing.slice(0, 4).join(', ')}${missing.length > 4 ? ', …' : ''}); trying the release before it`);
	}
	return newest;
}

/** Every selector of every file selected at least one test that ran (passed or failed). */
function check(jsonFile) {
	if (!fs.existsSync(jsonFile)) {
		console.log(`[n8n-newest] no results in ${jsonFile}`);
		return false;
	}
	const results = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
	if (results.blocked) {
		console.log(`[n8n-newest] BLOCKED, not run: ${results.blocked}`);
		return true;
	}
	const problems = [];
	let ran = 0;
	for (const [file, selectors] of Object.entries(selection.files)) {
		const fileResult = results.testResults.find((t) => path.relative(repo, t.name) === file);
		if (!fileResult) {
			problems.push(`${file}: not run`);
			continue;
		}
		const tests = fileResult.assertionResults.filter((a) => a.status === 'passed' || a.status === 'failed');
		ran += tests.length;
		if (!tests.length && fileResult.status === 'failed') {
			problems.push(`${file}: failed before any test ran: ${String(fileResult.message).split('\n')[0]}`);
			continue;
		}
		for (const s of selectors) {
			if (!tests.some((a) => a.fullName.includes(s))) problems.push(`${file}: "${s}" selected no test that ran (renamed or removed? update test/n8n/newest-selection.json)`);
		}
	}
	const version = results.n8nVersion ?? 'unknown';
	if (problems.length) {
		console.log(`[n8n-newest] n8n ${version}: the selection is incomplete:\n  ${problems.join('\n  ')}`);
		return false;
	}
	console.log(`[n8n-newest] n8n ${version}: every selector ran (${ran} tests: ${results.numPassedTests} passed, ${results.numFailedTests} failed)`);
	return true;
}

const args = process.argv.slice(2);
if (args[0] === '--check') {
	process.exitCode = check(path.resolve(args[1] ?? path.join(repo, '.tmp', 'n8n-newest.json'))) ? 0 : 1;
} else {
	let jsonFile = path.join(repo, '.tmp', 'n8n-newest.json');
	const jsonAt = args.indexOf('--json');
	if (jsonAt >= 0) jsonFile = path.resolve(args.splice(jsonAt, 2)[1]);
	fs.mkdirSync(path.dirname(jsonFile), { recursive: true });
	fs.rmSync(jsonFile, { force: true });
	const version = newestVersion();
	if (version === SUITE_VERSION && !process.env.N8N_VERSION) {
		// The newest release cannot be installed from this registry and the one before it is the
		// release the whole real-n8n suite runs on: running the selection again proves nothing.
		say(`BLOCKED: no n8n newer than ${SUITE_VERSION} can be installed from this registry (see above); the selection was not run again on ${SUITE_VERSION}, which the full real-n8n suite covers`);
		fs.writeFileSync(jsonFile, JSON.stringify({ blocked: `no n8n newer than ${SUITE_VERSION} installable from this registry`, n8nVersion: SUITE_VERSION, numPassedTests: 0, numFailedTests: 0, numPendingTests: 0, numTodoTests: 0, numFailedTestSuites: 0, testResults: [] }));
		process.exit(0);
	}
	const started = Date.now();
	// Install first (once, cached): when this n8n cannot be installed, say so instead of letting
	// every test file try again.
	const install = spawnSync('bash', [path.join(repo, 'scripts', 'ensure-n8n.sh')], {
		cwd: repo,
		stdio: ['ignore', 'ignore', 'inherit'],
		env: { ...process.env, N8N_VERSION: version },
	});
	if (install.status !== 0) {
		say(`n8n ${version} could not be installed (scripts/ensure-n8n.sh exit ${install.status}); no test ran`);
		process.exit(1);
	}
	const r = spawnSync(
		'npx',
		['vitest', 'run', '-c', 'vitest.n8n-newest.config.mts', '--reporter=default', '--reporter=json', `--outputFile=${jsonFile}`, ...args],
		{ cwd: repo, stdio: 'inherit', env: { ...process.env, N8N_VERSION: version } },
	);
	if (fs.existsSync(jsonFile)) {
		const results = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
		fs.writeFileSync(jsonFile, JSON.stringify({ ...results, n8nVersion: version }));
	}
	say(`vitest finished in ${Math.round((Date.now() - started) / 1000)} s (exit ${r.status})`);
	const complete = check(jsonFile);
	process.exitCode = r.status === 0 && complete ? 0 : 1;
}
