#!/usr/bin/env bash
# Fails when gen/ or envoy/ differs from what `make gen` produces from proto/ (gen/ts/ only where Node is
# installed: without it tools/gen_ts.sh says it skipped and leaves the checked-in files).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/gen.sh
if ! git diff --quiet --exit-code -- gen envoy || [ -n "$(git status --porcelain --untracked-files=all -- gen envoy)" ]; then
  echo "gen/ or envoy/ is stale: run 'make gen' and commit the result" >&2
  git status --short -- gen envoy >&2
  exit 1
fi
