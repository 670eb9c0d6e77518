#!/usr/bin/env bash
# Builds the storefront (edge/web/ → edge/web/dist/: type check in strict mode, then Vite). Needs Node and the
# npm packages pinned by edge/web/package-lock.json; without `node` it says so and leaves the checked-in
# dist/ as it is, which the edge serves either way.
set -euo pipefail
cd "$(dirname "$0")/.."
WEB=edge/web
if ! command -v node >/dev/null; then
  echo "edge/web/dist: not rebuilt, node is not installed (the checked-in build is served as it is)" >&2
  exit 0
fi
if [ ! -x "$WEB/node_modules/.bin/vite" ]; then
  (cd "$WEB" && npm ci --no-audit --no-fund --loglevel=error)
fi
cd "$WEB"
node_modules/.bin/tsc --noEmit -p .
node_modules/.bin/vite build --logLevel warn
