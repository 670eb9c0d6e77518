"""The project's contract rules, as checks over a FileDescriptorSet.

Each check takes the descriptor set that `tools/gen.sh` writes (gen/descriptors/marketplace.binpb, built with
source info) and returns a list of problems, one readable line each; an empty list means the rule holds.
Keeping the checks as plain functions lets the tests run them on the real set and on deliberately broken
copies of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from buf.validate import validate_pb2
from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2

from marketplace.common.v1 import access_pb2

# Extension handles. The generated stubs type them as plain FieldDescriptors, which the protobuf stubs do not
# accept as extension keys.
ACCESS_RULE: Any = access_pb2.rule
HTTP_RULE: Any = annotations_pb2.http
FIELD_RULES: Any = validate_pb2.field
MESSAGE_RULES: Any = validate_pb2.message
ONEOF_RULES: Any = validate_pb2.oneof

DESCRIPTOR_SET_PATH = Path(__file__).resolve().parents[2] / "gen" / "descriptors" / "marketplace.binpb"

# A service package: marketplace.<name>.v1.
SERVICE_PACKAGE = re.compile(r"^marketplace\.[a-z_]+\.v1$")
# The kit's test-only probe service: never served in production and never routed by Envoy, so the REST
# rules (2 and 5) do not apply to it. Every other rule does.
TEST_ONLY_PACKAGES = frozenset({"marketplace.testing.v1"})

# Request fields that may stay without validation rules (rule 3):
# - paging and update masks, where every value is meaningful or checked by the handler;
OPEN_FIELD_NAMES = frozenset({"page_size", "page_token", "update_mask"})
# - booleans, where every value is valid.
# Fields whose message type carries rules of its own (e.g. Money) need no rule on the field either.

# Source-info path numbers (descriptor.proto field numbers).
FILE_MESSAGE_TYPE, FILE_ENUM_TYPE, FILE_SERVICE = 4, 5, 6
MESSAGE_FIELD, MESSAGE_NESTED_TYPE, MESSAGE_ENUM_TYPE = 2, 3, 4
ENUM_VALUE = 2
SERVICE_METHOD = 2


def load_descriptor_set(path: Path = DESCRIPTOR_SET_PATH) -> descriptor_pb2.FileDescriptorSet:
    descriptor_set = descriptor_pb2.FileDescriptorSet()
    descriptor_set.ParseFromString(path.read_bytes())
    return descriptor_set


@dataclass(frozen=True)
class Method:
    full_name: str  # marketplace.buddy.v1.BuddyService.Ask
    package: str
    proto: descriptor_pb2.MethodDescriptorProto

    @property
    def access(self) -> int | None:
        if not self.proto.options.HasExtension(ACCESS_RULE):
            return None
        return int(self.proto.options.Extensions[ACCESS_RULE].access)

    @property
    def internal(self) -> bool:
        """Not routed by the edge: ACCESS_INTERNAL, or `internal_only` (called by services without a token yet,
        such as auth's IssueServiceToken)."""
        if not self.proto.options.HasExtension(ACCESS_RULE):
            return False
        rule = self.proto.options.Extensions[ACCESS_RULE]
        return bool(rule.access == access_pb2.ACCESS_INTERNAL or rule.internal_only)

    @property
    def http(self) -> http_pb2.HttpRule | None:
        if not self.proto.options.HasExtension(HTTP_RULE):
            return None
        return self.proto.options.Extensions[HTTP_RULE]


def marketplace_files(
    descriptor_set: descriptor_pb2.FileDescriptorSet,
) -> Iterator[descriptor_pb2.FileDescriptorProto]:
    for file in descriptor_set.file:
        if file.name.startswith("marketplace/"):
            yield file


def methods(descriptor_set: descriptor_pb2.FileDescriptorSet, *, served_only: bool = False) -> Iterator[Method]:
    """Every RPC of every marketplace.<name>.v1 service (without the test-only ones when served_only)."""
    for file in marketplace_files(descriptor_set):
        if not SERVICE_PACKAGE.match(file.package):
            continue
        if served_only and file.package in TEST_ONLY_PACKAGES:
            continue
        for service in file.service:
            for method in service.method:
                yield Method(f"{file.package}.{service.name}.{method.name}", file.package, method)


def messages_by_name(
    descriptor_set: descriptor_pb2.FileDescriptorSet,
) -> dict[str, tuple[str, descriptor_pb2.DescriptorProto]]:
    """Every message of the set, nested ones included, by full name: (package, message)."""
    found: dict[str, tuple[str, descriptor_pb2.DescriptorProto]] = {}

    def add(prefix: str, package: str, message: descriptor_pb2.DescriptorProto) -> None:
        name = f"{prefix}.{message.name}"
        found[name] = (package, message)
        for nested in message.nested_type:
            add(name, package, nested)

    for file in descriptor_set.file:
        for message in file.message_type:
            add(file.package, file.package, message)
    return found


def http_paths(rule: http_pb2.HttpRule) -> Iterator[str]:
    pattern = rule.WhichOneof("pattern")
    if pattern == "custom":
        yield rule.custom.path
    elif pattern is not None:
        yield str(getattr(rule, pattern))
    for binding in rule.additional_bindings:
        yield from http_paths(binding)


# Rule 1 ---------------------------------------------------------------------------------------------------


def missing_access_rules(descriptor_set: descriptor_pb2.FileDescriptorSet) -> list[str]:
    return [
        f"{method.full_name}: no (marketplace.common.v1.rule) option"
        for method in methods(descriptor_set)
        if method.access is None
    ]


# Rule 2 ---------------------------------------------------------------------------------------------------


def http_rule_problems(descriptor_set: descriptor_pb2.FileDescriptorSet) -> list[str]:
    problems = []
    for method in methods(descriptor_set, served_only=True):
        if method.internal and method.http is not None:
            problems.append(f"{method.full_name}: internal RPC with a google.api.http rule")
        elif not method.internal and method.http is None and not method.proto.client_streaming:
            problems.append(f"{method.full_name}: public RPC without a google.api.http rule")
    return problems


# Rule 3 ---------------------------------------------------------------------------------------------------


def _has_field_rules(field: descriptor_pb2.FieldDescriptorProto) -> bool:
    return field.options.HasExtension(FIELD_RULES)


def _carries_rules(message: descriptor_pb2.DescriptorProto) -> bool:
    """A message validates itself: a message rule, a oneof rule or a rule on one of its fields."""
    return (
        message.options.HasExtension(MESSAGE_RULES)
        or any(oneof.options.HasExtension(ONEOF_RULES) for oneof in message.oneof_decl)
        or any(_has_field_rules(field) for field in message.field)
    )


def _message_fields(message: descriptor_pb2.DescriptorProto) -> Iterator[str]:
    for field in message.field:
        if field.type == descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE:
            yield field.type_name.lstrip(".")


def _reachable(messages: dict[str, tuple[str, descriptor_pb2.DescriptorProto]], roots: set[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen or name not in messages:
            continue
        seen.add(name)
        todo.extend(_message_fields(messages[name][1]))
    return seen


def unvalidated_request_fields(descriptor_set: descriptor_pb2.FileDescriptorSet) -> list[str]:
    """Request fields without a buf.validate rule.

    Checked: the input type of every RPC, and recursively the message types of its fields that live
    in the same package and are request-only (never part of a response). Exempt: OPEN_FIELD_NAMES, bool
    fields, and fields whose message type carries rules itself.
    """
    messages = messages_by_name(descriptor_set)
    rpcs = list(methods(descriptor_set))
    in_responses = _reachable(messages, {method.proto.output_type.lstrip(".") for method in rpcs})
    problems: list[str] = []
    checked: set[str] = set()

    def check(name: str, package: str) -> None:
        if name in checked or name not in messages:
            return
        checked.add(name)
        message_package, message = messages[name]
        if message_package != package or message.options.map_entry:
            return
        for field in message.field:
            nested = field.type_name.lstrip(".")
            is_message = field.type == descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE
            if is_message and nested in messages and not messages[nested][1].options.map_entry:
                if nested not in in_responses:
                    check(nested, package)
                if _carries_rules(messages[nested][1]):
                    continue
            if (
                _has_field_rules(field)
                or field.name in OPEN_FIELD_NAMES
                or field.type == descriptor_pb2.FieldDescriptorProto.TYPE_BOOL
            ):
                continue
            problems.append(f"{name}.{field.name}: request field without a buf.validate rule")

    for method in rpcs:
        check(method.proto.input_type.lstrip("."), method.package)
    return problems


# Rule 4 ---------------------------------------------------------------------------------------------------


def missing_comments(descriptor_set: descriptor_pb2.FileDescriptorSet) -> list[str]:
    """Services, RPCs, messages, fields, enums and enum values of marketplace/* files without a leading comment."""
    problems: list[str] = []
    for file in marketplace_files(descriptor_set):
        problems.extend(f"{file.name}: {what} has no leading comment" for what in _uncommented(file))
    return problems


def _uncommented(file: descriptor_pb2.FileDescriptorProto) -> Iterator[str]:
    comments = {tuple(location.path): location.leading_comments.strip() for location in file.source_code_info.location}

    def enum(path: tuple[int, ...], prefix: str, proto: descriptor_pb2.EnumDescriptorProto) -> Iterator[str]:
        name = f"{prefix}.{proto.name}"
        if not comments.get(path):
            yield f"enum {name}"
        for index, value in enumerate(proto.value):
            if not comments.get((*path, ENUM_VALUE, index)):
                yield f"enum value {name}.{value.name}"

    def message(path: tuple[int, ...], prefix: str, proto: descriptor_pb2.DescriptorProto) -> Iterator[str]:
        if proto.options.map_entry:
            return  # generated by protoc for a map field; it has no source of its own
        name = f"{prefix}.{proto.name}"
        if not comments.get(path):
            yield f"message {name}"
        for index, field in enumerate(proto.field):
            if not comments.get((*path, MESSAGE_FIELD, index)):
                yield f"field {name}.{field.name}"
        for index, nested in enumerate(proto.nested_type):
            yield from message((*path, MESSAGE_NESTED_TYPE, index), name, nested)
        for index, nested_enum in enumerate(proto.enum_type):
            yield from enum((*path, MESSAGE_ENUM_TYPE, index), name, nested_enum)

    for index, service in enumerate(file.service):
        service_name = f"{file.package}.{service.name}"
        if not comments.get((FILE_SERVICE, index)):
            yield f"service {service_name}"
        for method_index, method in enumerate(service.method):
            if not comments.get((FILE_SERVICE, index, SERVICE_METHOD, method_index)):
                yield f"RPC {service_name}.{method.name}"
    for index, top in enumerate(file.message_type):
        yield from message((FILE_MESSAGE_TYPE, index), file.package, top)
    for index, top_enum in enumerate(file.enum_type):
        yield from enum((FILE_ENUM_TYPE, index), file.package, top_enum)


# Rule 5 ---------------------------------------------------------------------------------------------------

HTTP_PATH_PREFIXES = ("/v1/", "/.well-known/")


def bad_http_paths(descriptor_set: descriptor_pb2.FileDescriptorSet) -> list[str]:
    problems = []
    for method in methods(descriptor_set, served_only=True):
        if method.http is None:
            continue
        for path in http_paths(method.http):
            if not path.startswith(HTTP_PATH_PREFIXES):
                problems.append(f"{method.full_name}: http path {path!r} starts neither with /v1/ nor /.well-known/")
    return problems


# Rule 6 ---------------------------------------------------------------------------------------------------


def service_files(descriptor_set: descriptor_pb2.FileDescriptorSet) -> set[str]:
    return {file.name for file in marketplace_files(descriptor_set)}


def service_methods(descriptor_set: descriptor_pb2.FileDescriptorSet, service: str) -> dict[str, Method]:
    """The RPCs of every service in package marketplace.<service>.v1, by RPC name."""
    package = f"marketplace.{service}.v1"
    return {method.proto.name: method for method in methods(descriptor_set) if method.package == package}


# Rule 7 ---------------------------------------------------------------------------------------------------


def _rejects_unknown_numbers(field: descriptor_pb2.FieldDescriptorProto) -> bool:
    """`enum.defined_only`, or an `enum.in` list (which admits only the numbers it names)."""
    if not _has_field_rules(field):
        return False
    field_rules = field.options.Extensions[FIELD_RULES]
    if field_rules.HasField("enum"):
        return bool(field_rules.enum.defined_only or getattr(field_rules.enum, "in"))
    if field_rules.HasField("repeated") and field_rules.repeated.items.HasField("enum"):
        items = field_rules.repeated.items.enum
        return bool(items.defined_only or getattr(items, "in"))
    if field_rules.HasField("map") and field_rules.map.values.HasField("enum"):
        values = field_rules.map.values.enum
        return bool(values.defined_only or getattr(values, "in"))
    return False


def enum_fields_accepting_unknown_numbers(descriptor_set: descriptor_pb2.FileDescriptorSet) -> list[str]:
    """Enum fields of request messages (and of every marketplace message a request contains, at any depth)
    that would take a number the enum does not define: proto3 enums are open, so without `defined_only` an
    unknown number reaches the handler."""
    messages = messages_by_name(descriptor_set)
    requests = _reachable(messages, {method.proto.input_type.lstrip(".") for method in methods(descriptor_set)})
    problems = []
    for name in sorted(requests):
        package, message = messages[name]
        if not package.startswith("marketplace.") or message.options.map_entry:
            continue
        for field in message.field:
            entry = messages.get(field.type_name.lstrip("."))
            is_map = entry is not None and entry[1].options.map_entry
            value = next((item for item in entry[1].field if item.name == "value"), None) if is_map and entry else None
            is_enum = field.type == descriptor_pb2.FieldDescriptorProto.TYPE_ENUM or (
                value is not None and value.type == descriptor_pb2.FieldDescriptorProto.TYPE_ENUM
            )
            if is_enum and not _rejects_unknown_numbers(field):
                problems.append(f"{name}.{field.name}: enum request field without enum.defined_only")
    return problems


# Rule 8 ---------------------------------------------------------------------------------------------------

FIELD_MASK_TYPE = ".google.protobuf.FieldMask"


# The rule every update mask carries so that an empty mask is refused (`size(this.paths) > 0`).
MASK_NOT_EMPTY = "update_mask.not_empty"


def unbounded_update_masks(descriptor_set: descriptor_pb2.FileDescriptorSet) -> list[str]:
    """Update masks of requests that do not list the paths a caller may name (`field_mask.in`): the contract,
    not each servicer, says which fields an Update method changes. Each mask is also required and not empty
    (`required` and the `update_mask.not_empty` rule): Envoy's JSON transcoder drops body fields the message
    does not have, so a REST body of the wrong shape arrives with no mask at all, and a mask that may be empty
    would let it through as a change of every field."""
    messages = messages_by_name(descriptor_set)
    problems = []
    for method in methods(descriptor_set):
        name = method.proto.input_type.lstrip(".")
        for field in messages[name][1].field if name in messages else ():
            if field.type_name != FIELD_MASK_TYPE:
                continue
            field_rules = field.options.Extensions[FIELD_RULES] if _has_field_rules(field) else None
            if field_rules is None or not getattr(field_rules.field_mask, "in"):
                problems.append(f"{name}.{field.name}: update mask without field_mask.in")
            if field_rules is None or not field_rules.required:
                problems.append(f"{name}.{field.name}: update mask not required")
            if field_rules is None or all(rule.id != MASK_NOT_EMPTY for rule in field_rules.cel):
                problems.append(f"{name}.{field.name}: update mask without the {MASK_NOT_EMPTY} rule")
    return problems
