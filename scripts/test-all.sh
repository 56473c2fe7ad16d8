#!/usr/bin/env bash
# Every check CI runs, in order: lint, import cycles, type check, the scanner, the release dry
# run, the per-vendor split dry run, the fast suite, the real-n8n suite, its selection on the
# newest n8n, the queue-mode suite. Ends with one summary line "N passed, N failed" (each test of
# the suites, plus each non-vitest step recorded in .tmp/steps.txt).
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .tmp
: > .tmp/steps.txt
status=0
step() { echo; echo "==== $1"; }
# record NAME CMD...: runs a step that is not a vitest suite and counts it in the summary.
record() { local name=$1; shift; if "$@"; then echo "passed $name" >> .tmp/steps.txt; else echo "failed $name" >> .tmp/steps.txt; status=1; fi; }

step "lint: n8n-node lint (n8n community rules, Cloud rules included)"
record "n8n-node lint" npm run --silent lint
step "import cycles in nodes/ and credentials/ (scripts/check-cycles.mjs)"
record "import cycles" npm run --silent check:cycles
step "type check"
npm run --silent typecheck || status=1
step "n8n's verification scanner rule set on the source and the packed tarball (offline)"
record "scanner" node scripts/scan-package.mjs

step "release dry run: workflow, metadata, npm publish --dry-run --provenance"
record "release dry run" bash scripts/release-dry-run.sh
step "split dry run: one package per vendor (.tmp/split/), npm pack --dry-run and the scanner on each"
record "split dry run" node scripts/split-packages.mjs

step "fast suite: npm test"
npx vitest run --reporter=default --reporter=json --outputFile=.tmp/unit.json || status=1
step "real-n8n suite: npm run test:n8n (packs the package, installs it into n8n 2.41.1)"
npx vitest run -c vitest.n8n.config.mts --reporter=default --reporter=json --outputFile=.tmp/n8n.json || status=1
step "real-n8n on the newest n8n: npm run test:n8n:newest (a selection of the real-n8n suite on the registry's newest n8n)"
node scripts/test-n8n-newest.mjs --json .tmp/n8n-newest.json || status=1
record "n8n newest: every selected test ran" node scripts/test-n8n-newest.mjs --check .tmp/n8n-newest.json
step "queue-mode suite: npm run test:queue (Redis + PostgreSQL + n8n main + 2 workers; installs redis-server/postgresql when missing)"
npx vitest run -c vitest.queue.config.mts --reporter=default --reporter=json --outputFile=.tmp/queue.json || status=1

node -e '
const fs = require("fs"); let passed = 0, failed = 0, skipped = 0;
for (const f of [".tmp/unit.json", ".tmp/n8n.json", ".tmp/n8n-newest.json", ".tmp/queue.json"]) {
  if (!fs.existsSync(f)) { failed++; console.log("missing results: " + f); continue; }
  const r = JSON.parse(fs.readFileSync(f, "utf8"));
  passed += r.numPassedTests; failed += r.numFailedTests + (r.numFailedTestSuites || 0);
  // The newest-n8n run selects some tests by name: the others are not selected, not skipped.
  if (f.endsWith("n8n-newest.json")) console.log(r.blocked ? `newest n8n: BLOCKED (${r.blocked})` : `n8n ${r.n8nVersion}: ${r.numPassedTests} passed, ${r.numFailedTests} failed (${r.numPendingTests} tests of those files not selected)`);
  else skipped += r.numPendingTests + r.numTodoTests;
}
for (const line of fs.readFileSync(".tmp/steps.txt", "utf8").split("\n").filter(Boolean)) {
  if (line.startsWith("passed ")) passed++; else { failed++; console.log("step " + line); }
}
console.log(""); console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
if (failed) process.exitCode = 1;
' || status=1
exit $status
