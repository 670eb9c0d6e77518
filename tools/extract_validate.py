"""Extract protovalidate's `buf/validate/validate.proto` descriptor from the installed wheel.

The protovalidate wheel ships the descriptor serialized inside a generated module but not the
`.proto` source. protoc reads it through `--descriptor_set_in`; nothing is fetched from the network.
"""

from __future__ import annotations

import ast
import sys
from importlib.util import find_spec
from pathlib import Path

from google.protobuf import descriptor_pb2, duration_pb2, field_mask_pb2, timestamp_pb2


def serialized_validate_descriptor() -> bytes:
    spec = find_spec("protovalidate")
    if spec is None or spec.origin is None:
        raise SystemExit("protovalidate is not installed")
    source = Path(spec.origin).parent / "_gen" / "buf" / "validate" / "validate_pb.py"
    tree = ast.parse(source.read_text())
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "file_desc"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, bytes)
        ):
            return node.args[0].value
    raise SystemExit(f"no serialized descriptor found in {source}")


def main(out: Path) -> None:
    descriptor_set = descriptor_pb2.FileDescriptorSet()
    for module in (descriptor_pb2, duration_pb2, field_mask_pb2, timestamp_pb2):
        file_proto = descriptor_set.file.add()
        module.DESCRIPTOR.CopyToProto(file_proto)
    validate = descriptor_set.file.add()
    validate.ParseFromString(serialized_validate_descriptor())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(descriptor_set.SerializeToString())


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "third_party/validate.binpb"))
