#!/usr/bin/env bash
# Regenerates gen/ts/ (TypeScript messages and service descriptors, protoc-gen-es) from the descriptor set in
# gen/descriptors/. Needs Node and edge/web's npm packages; without `node` it says so and leaves gen/ts/ as it
# is (checked in), so a machine without Node still builds, runs and tests everything else.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
WEB=edge/web
if ! command -v node >/dev/null; then
  echo "gen/ts: skipped, node is not installed (the checked-in gen/ts/ is used as it is)" >&2
  exit 0
fi
if [ ! -x "$WEB/node_modules/.bin/protoc-gen-es" ]; then
  (cd "$WEB" && npm ci --no-audit --no-fund --loglevel=error)
fi
SET=gen/descriptors/marketplace.binpb
# Every file of the set but the well-known types (@bufbuild/protobuf ships those).
mapfile -t FILES < <($PY - "$SET" <<'PY'
import sys

from google.protobuf import descriptor_pb2

files = descriptor_pb2.FileDescriptorSet.FromString(open(sys.argv[1], "rb").read()).file
for name in sorted(f.name for f in files if not f.name.startswith("google/protobuf/")):
    print(name)
PY
)
OUT=$(mktemp -d gen.tmp.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
$PY -m grpc_tools.protoc --descriptor_set_in="$SET" \
  --plugin=protoc-gen-es="$WEB/node_modules/.bin/protoc-gen-es" \
  --es_out="$OUT" --es_opt=target=ts,import_extension=js "${FILES[@]}"
rm -rf gen/ts
mv "$OUT" gen/ts
