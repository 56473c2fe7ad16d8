#!/usr/bin/env bash
# Every check CI runs, in order: lint, type check, the fast suite, the real-n8n suite, the
# queue-mode suite.
# Ends with one summary line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .tmp
status=0
step() { echo; echo "==== $1"; }

step "lint (n8n community rules)"
npm run --silent lint || status=1
step "type check"
npm run --silent typecheck || status=1
step "fast suite: npm test"
npx vitest run --reporter=default --reporter=json --outputFile=.tmp/unit.json || status=1
step "real-n8n suite: npm run test:n8n (packs the package, installs it into n8n 2.41.1)"
npx vitest run -c vitest.n8n.config.mts --reporter=default --reporter=json --outputFile=.tmp/n8n.json || status=1
step "queue-mode suite: npm run test:queue (Redis + PostgreSQL + n8n main + 2 workers; installs redis-server/postgresql when missing)"
npx vitest run -c vitest.queue.config.mts --reporter=default --reporter=json --outputFile=.tmp/queue.json || status=1

node -e '
const fs = require("fs"); let passed = 0, failed = 0, skipped = 0;
for (const f of [".tmp/unit.json", ".tmp/n8n.json", ".tmp/queue.json"]) {
  if (!fs.existsSync(f)) { failed++; console.log("missing results: " + f); continue; }
  const r = JSON.parse(fs.readFileSync(f, "utf8"));
  passed += r.numPassedTests; failed += r.numFailedTests + (r.numFailedTestSuites || 0); skipped += r.numPendingTests + r.numTodoTests;
}
console.log(""); console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
if (failed) process.exitCode = 1;
' || status=1
exit $status
