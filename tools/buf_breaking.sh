#!/usr/bin/env bash
# buf breaking against the previous commit of main: its protos are built into an image the same way.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${1:-HEAD~1}
if ! git rev-parse --verify -q "$BASE^{commit}" >/dev/null || [ -z "$(git ls-tree -r --name-only "$BASE" -- proto)" ]; then
  echo "buf breaking: no protos at $BASE, nothing to compare"; exit 0
fi
PY=${PYTHON:-.venv/bin/python}
SITE=$($PY -c 'import google.api, pathlib; print(pathlib.Path(google.api.__path__[0]).parent.parent)')
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
git archive "$BASE" proto | tar -x -C "$WORK"
mapfile -t PROTOS < <(cd "$WORK/proto" && find marketplace -name '*.proto' | LC_ALL=C sort)
$PY -m grpc_tools.protoc -I"$WORK/proto" -I"$SITE" --descriptor_set_in=third_party/validate.binpb \
  --include_imports --include_source_info -o "$WORK/base.binpb" "${PROTOS[@]}"
.venv/bin/buf breaking gen/descriptors/marketplace.binpb --against "$WORK/base.binpb"
echo "buf breaking: no breaking change against $BASE"
