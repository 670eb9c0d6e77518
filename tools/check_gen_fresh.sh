#!/usr/bin/env bash
# Fails when gen/ differs from what `make gen` produces from proto/.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/gen.sh
if ! git diff --quiet --exit-code -- gen || [ -n "$(git status --porcelain --untracked-files=all -- gen)" ]; then
  echo "gen/ is stale: run 'make gen' and commit the result" >&2
  git status --short -- gen >&2
  exit 1
fi
