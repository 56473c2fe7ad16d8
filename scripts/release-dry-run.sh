#!/usr/bin/env bash
# The release workflow's steps without publishing (.github/workflows/release.yml), for CI:
#   1. the workflow publishes with provenance and has the permissions it needs, no token in the repo;
#   2. package.json's repository / homepage / bugs and every documentation link name the same
#      GitHub repository (npm refuses a provenance statement whose repository.url differs from the
#      repository the workflow runs in);
#   3. build, then `npm publish --dry-run --provenance --access public`: what would be published is
#      the built nodes and credentials listed in package.json, and nothing else (no tests, no sources).
# Provenance itself needs GitHub's OIDC token, which exists only inside the Actions run.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "[release-dry-run] $*"; }

say "1/3 release workflow and package metadata"
node - <<'JS'
const fs = require('fs');
const fail = (m) => { console.error(`[release-dry-run] FAILED: ${m}`); process.exit(1); };
const wf = fs.readFileSync('.github/workflows/release.yml', 'utf8');
if (!/^\s*id-token:\s*write\s*$/m.test(wf)) fail('release.yml lacks "permissions: id-token: write" (provenance)');
if (!/^\s*contents:\s*read\s*$/m.test(wf)) fail('release.yml lacks "permissions: contents: read"');
if (!/npm publish --provenance --access public/.test(wf)) fail('release.yml does not run "npm publish --provenance --access public"');
if (!/tags:\s*\n\s*-\s*'v\*'/.test(wf)) fail('release.yml is not started by v* tags');
if (/npm_[A-Za-z0-9]{20,}/.test(wf)) fail('release.yml contains what looks like an npm token');
const ci = fs.readFileSync('.github/workflows/ci.yml', 'utf8');
if (!/^\s*push:/m.test(ci) || !/^\s*pull_request:/m.test(ci) || !/bash \.ci\/run/.test(ci)) fail('ci.yml must run "bash .ci/run" on push and pull_request');

const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));
const m = /^git\+https:\/\/github\.com\/([\w.-]+)\/([\w.-]+?)\.git$/.exec(pkg.repository?.url ?? '');
if (!m || pkg.repository.type !== 'git') fail(`repository.url must be git+https://github.com/<owner>/<repo>.git (is ${pkg.repository?.url})`);
const base = `https://github.com/${m[1]}/${m[2]}`;
if (pkg.homepage !== `${base}#readme`) fail(`homepage must be ${base}#readme`);
if (pkg.bugs?.url !== `${base}/issues`) fail(`bugs.url must be ${base}/issues`);
if (!pkg.author?.name) fail('author.name is missing');
if (!/^\d+\.\d+\.\d+(-[\w.]+)?$/.test(pkg.version)) fail(`version ${pkg.version} is not semver`);
const files = require('child_process').execFileSync('git', ['ls-files', 'nodes', 'credentials'], { encoding: 'utf8' }).split('\n').filter((f) => /\.(ts|json)$/.test(f));
for (const f of files) {
  for (const url of fs.readFileSync(f, 'utf8').match(/https:\/\/github\.com\/[^\s'"#)]+/g) ?? []) {
    if (url !== base) fail(`${f} links to ${url}, not ${base}`);
  }
}
console.log(`[release-dry-run] tag v${pkg.version} would publish ${pkg.name}@${pkg.version} from ${base}`);
JS

say "2/3 build"
npm run --silent build

say "3/3 npm publish --dry-run --provenance --access public"
npm publish --dry-run --provenance --access public --json 2>/dev/null > .tmp/publish-dry-run.json
node - <<'JS'
const fs = require('fs');
const fail = (m) => { console.error(`[release-dry-run] FAILED: ${m}`); process.exit(1); };
const raw = fs.readFileSync('.tmp/publish-dry-run.json', 'utf8');
const out = JSON.parse(raw.slice(raw.indexOf('{')));
const info = out[Object.keys(out).find((k) => out[k]?.files)] ?? out;
const paths = info.files.map((f) => f.path);
const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));
for (const f of [...pkg.n8n.nodes, ...pkg.n8n.credentials, 'package.json']) if (!paths.includes(f)) fail(`${f} would not be published`);
const stray = paths.filter((p) => !(p.startsWith('dist/') || ['package.json', 'README.md', 'LICENSE', 'index.js'].includes(p)) || /(^|\/)test\/|\.test\.|\.tsbuildinfo$/.test(p));
if (stray.length) fail(`would publish files that do not belong: ${stray.join(', ')}`);
const ts = paths.filter((p) => p.endsWith('.ts') && !p.endsWith('.d.ts'));
if (ts.length) fail(`would publish TypeScript sources: ${ts.join(', ')}`);
console.log(`[release-dry-run] OK: ${info.name}@${info.version}, ${paths.length} files, ${info.size} bytes packed`);
JS
