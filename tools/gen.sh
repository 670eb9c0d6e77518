#!/usr/bin/env bash
# Regenerates gen/ from proto/: Python modules, type stubs, gRPC stubs and the descriptor set Envoy loads.
# Everything comes from installed wheels; nothing is fetched.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
SITE=$($PY -c 'import google.api, pathlib; print(pathlib.Path(google.api.__path__[0]).parent.parent)')
VALIDATE=third_party/validate.binpb
$PY tools/extract_validate.py "$VALIDATE"

rm -rf gen/python gen/descriptors
mkdir -p gen/python gen/descriptors
mapfile -t PROTOS < <(cd proto && find marketplace -name '*.proto' | LC_ALL=C sort)

$PY -m grpc_tools.protoc -Iproto -I"$SITE" --descriptor_set_in="$VALIDATE" \
  --python_out=gen/python --pyi_out=gen/python --grpc_python_out=gen/python "${PROTOS[@]}"
$PY -m grpc_tools.protoc -I"$SITE" --descriptor_set_in="$VALIDATE" \
  --python_out=gen/python --pyi_out=gen/python buf/validate/validate.proto
$PY -m grpc_tools.protoc -Iproto -I"$SITE" --descriptor_set_in="$VALIDATE" \
  --include_imports --include_source_info -o gen/descriptors/marketplace.binpb "${PROTOS[@]}"

# Generated packages are plain namespace-free packages so mypy and importers resolve them.
find gen/python -mindepth 1 -type d -exec touch {}/__init__.py \;
