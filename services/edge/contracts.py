"""What the edge learns from the contracts: every RPC of the served services, its access rule and its HTTP rules.

Read from the descriptor set `tools/gen.sh` writes, so the Envoy config and the OpenAPI document follow the
contracts and nothing about a service is written twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2
from google.rpc import error_details_pb2, status_pb2

from marketplace.common.v1 import access_pb2

REPO_ROOT = Path(__file__).resolve().parents[2]
DESCRIPTOR_SET_PATH = REPO_ROOT / "gen" / "descriptors" / "marketplace.binpb"

# Extension handles; the stubs type them as plain FieldDescriptors, which Extensions[] does not accept.
ACCESS_RULE: Any = access_pb2.rule
HTTP_RULE: Any = annotations_pb2.http

SERVICE_PACKAGE = re.compile(r"^marketplace\.([a-z_]+)\.v1$")


@dataclass(frozen=True)
class Binding:
    """One HTTP binding of an RPC: `GET /v1/products/{id}`."""

    verb: str  # GET, POST, PATCH, PUT, DELETE
    path: str  # the template as written in the contract
    body: str  # "", "*" or a field name
    response_body: str


@dataclass(frozen=True)
class Rpc:
    service: str  # the mesh's name for the service: "catalog"
    package: str  # marketplace.catalog.v1
    service_name: str  # CatalogService
    name: str  # GetProduct
    input_type: str  # full message name, without the leading dot
    output_type: str
    access: int  # access_pb2.Access value; UNSPECIFIED counts as AUTHENTICATED
    internal: bool  # ACCESS_INTERNAL or internal_only: never routed from outside
    client_streaming: bool
    server_streaming: bool
    bindings: tuple[Binding, ...]
    comment: str

    @property
    def grpc_path(self) -> str:
        return f"/{self.package}.{self.service_name}/{self.name}"

    @property
    def public(self) -> bool:
        return self.access == access_pb2.ACCESS_PUBLIC and not self.internal

    @property
    def streaming(self) -> bool:
        return self.client_streaming or self.server_streaming


def load_descriptor_set(path: Path = DESCRIPTOR_SET_PATH) -> descriptor_pb2.FileDescriptorSet:
    descriptor_set = descriptor_pb2.FileDescriptorSet()
    descriptor_set.ParseFromString(path.read_bytes())
    return descriptor_set


def edge_descriptor_set(raw: bytes) -> bytes:
    """The set the transcoder loads: the contracts' set (`raw`, as written) plus google.rpc's status and error
    details, which `convert_grpc_status` needs to render the services' rich errors (BadRequest, ErrorInfo).

    Appended as bytes rather than parsed and re-serialized: how a parsed set serializes depends on which
    extensions the process happens to have imported, and the output must not."""
    present = {file.name for file in descriptor_pb2.FileDescriptorSet.FromString(raw).file}
    extra = descriptor_pb2.FileDescriptorSet()
    for module in (status_pb2, error_details_pb2):
        if module.DESCRIPTOR.name not in present:
            module.DESCRIPTOR.CopyToProto(extra.file.add())
    # Repeated fields concatenate: the result is one FileDescriptorSet.
    return raw + extra.SerializeToString(deterministic=True)


def _bindings(rule: http_pb2.HttpRule) -> Iterator[Binding]:
    pattern = rule.WhichOneof("pattern")
    if pattern == "custom":
        yield Binding(rule.custom.kind.upper(), rule.custom.path, rule.body, rule.response_body)
    elif pattern is not None:
        yield Binding(pattern.upper(), str(getattr(rule, pattern)), rule.body, rule.response_body)
    for extra in rule.additional_bindings:
        yield from _bindings(extra)


def _comments(file: descriptor_pb2.FileDescriptorProto) -> dict[tuple[int, ...], str]:
    return {
        tuple(location.path): location.leading_comments.strip()
        for location in file.source_code_info.location
        if location.leading_comments
    }


FILE_SERVICE, SERVICE_METHOD = 6, 2


def rpcs(descriptor_set: descriptor_pb2.FileDescriptorSet, services: Iterable[str]) -> list[Rpc]:
    """Every RPC of the named services (the mesh's names: "auth", "catalog"…), in contract order."""
    wanted = set(services)
    found: list[Rpc] = []
    for file in descriptor_set.file:
        match = SERVICE_PACKAGE.match(file.package)
        if match is None or match.group(1) not in wanted:
            continue
        comments = _comments(file)
        for service_index, service in enumerate(file.service):
            for method_index, method in enumerate(service.method):
                rule = method.options.Extensions[ACCESS_RULE] if method.options.HasExtension(ACCESS_RULE) else None
                access = int(rule.access) if rule is not None else access_pb2.ACCESS_UNSPECIFIED
                internal = rule is not None and (rule.access == access_pb2.ACCESS_INTERNAL or rule.internal_only)
                http = method.options.Extensions[HTTP_RULE] if method.options.HasExtension(HTTP_RULE) else None
                found.append(
                    Rpc(
                        service=match.group(1),
                        package=file.package,
                        service_name=service.name,
                        name=method.name,
                        input_type=method.input_type.lstrip("."),
                        output_type=method.output_type.lstrip("."),
                        access=access or access_pb2.ACCESS_AUTHENTICATED,
                        internal=internal,
                        client_streaming=method.client_streaming,
                        server_streaming=method.server_streaming,
                        # An internal RPC is never bound to HTTP, even if a contract forgot to leave the rule out.
                        bindings=() if internal or http is None else tuple(_bindings(http)),
                        comment=comments.get((FILE_SERVICE, service_index, SERVICE_METHOD, method_index), ""),
                    )
                )
    return found


def service_names(found: Iterable[Rpc]) -> list[str]:
    """The full gRPC names of the services the RPCs belong to, in order: marketplace.auth.v1.AuthService."""
    names: dict[str, None] = {}
    for rpc in found:
        names[f"{rpc.package}.{rpc.service_name}"] = None
    return list(names)


# A path template variable: {name} or {name=pattern}.
_VARIABLE = re.compile(r"\{([^}=]+)(?:=([^}]*))?\}")


def path_regex(template: str) -> str:
    """The RE2 regex (full match) for a path template. A single-segment variable stops at `/` and at `:`,
    so `/v1/products/{id}` never also matches `/v1/products/{id}:watch`."""
    out: list[str] = []
    position = 0
    for match in _VARIABLE.finditer(template):
        out.append(re.escape(template[position : match.start()]))
        pattern = match.group(2) or "*"
        parts = []
        for segment in pattern.split("/"):
            if segment == "**":
                parts.append(r"[^:]*")
            elif segment == "*":
                parts.append(r"[^/:]+")
            else:
                parts.append(re.escape(segment))
        out.append("/".join(parts))
        position = match.end()
    out.append(re.escape(template[position:]))
    # re.escape escapes "/" and ":" needlessly for RE2 but harmlessly; keep the output readable.
    return "".join(out).replace("\\/", "/").replace("\\:", ":").replace("\\-", "-")


def path_variables(template: str) -> list[str]:
    return [match.group(1) for match in _VARIABLE.finditer(template)]
