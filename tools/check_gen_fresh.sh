#!/usr/bin/env bash
# Fails when gen/, envoy/ or edge/web/dist/ differs from what `make gen` produces from proto/ and edge/web/
# (gen/ts/ and edge/web/dist/ only where Node is installed: without it they are left as checked in, with a
# message saying so).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/gen.sh
PATHS=(gen envoy edge/web/dist)
if ! git diff --quiet --exit-code -- "${PATHS[@]}" || [ -n "$(git status --porcelain --untracked-files=all -- "${PATHS[@]}")" ]; then
  echo "gen/, envoy/ or edge/web/dist/ is stale: run 'make gen' and commit the result" >&2
  git status --short -- "${PATHS[@]}" >&2
  exit 1
fi
