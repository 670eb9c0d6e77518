#!/usr/bin/env bash
# Regenerates gen/ from proto/: Python modules, type stubs, gRPC stubs and the descriptor set Envoy loads;
# the storefront's TypeScript and build (where Node is installed); then envoy/.
# Everything comes from installed wheels; nothing is fetched.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
SITE=$($PY -c 'import google.api, pathlib; print(pathlib.Path(google.api.__path__[0]).parent.parent)')
VALIDATE=third_party/validate.binpb
$PY tools/extract_validate.py "$VALIDATE"

# Generate into a scratch folder and swap it in, so a failed run leaves gen/ as it was.
OUT=$(mktemp -d gen.tmp.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
mkdir -p "$OUT/python" "$OUT/descriptors"
mapfile -t PROTOS < <(cd proto && find marketplace -name '*.proto' | LC_ALL=C sort)

$PY -m grpc_tools.protoc -Iproto -I"$SITE" --descriptor_set_in="$VALIDATE" \
  --python_out="$OUT/python" --pyi_out="$OUT/python" --grpc_python_out="$OUT/python" "${PROTOS[@]}"
$PY -m grpc_tools.protoc -I"$SITE" --descriptor_set_in="$VALIDATE" \
  --python_out="$OUT/python" --pyi_out="$OUT/python" buf/validate/validate.proto
$PY -m grpc_tools.protoc -Iproto -I"$SITE" --descriptor_set_in="$VALIDATE" \
  --include_imports --include_source_info -o "$OUT/descriptors/marketplace.binpb" "${PROTOS[@]}"

# Generated packages are plain namespace-free packages so mypy and importers resolve them.
find "$OUT/python" -mindepth 1 -type d -exec touch {}/__init__.py \;
mkdir -p gen
rm -rf gen/python gen/descriptors
mv "$OUT/python" "$OUT/descriptors" gen/

# The storefront: TypeScript from the fresh set (gen/ts/, protoc-gen-es), then its build (edge/web/dist/, whose
# files the edge routes). Both are skipped with a message where Node is not installed.
tools/gen_ts.sh
tools/build_web.sh

# The edge (envoy/): Envoy configs, the transcoder's descriptor set and the OpenAPI document, from the fresh set.
$PY tools/gen_edge.py
