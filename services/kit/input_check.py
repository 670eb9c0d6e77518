"""Input that no contract rule forbids but no service can take, refused once in the kit for every request.

- A string holding NUL (U+0000) is valid UTF-8 and valid protobuf, but PostgreSQL's text type refuses it, so
  a handler that stores or queries it would fail. `nul_violations` names every such field, with the paths
  protovalidate uses (`items[2].title`, `attributes["color"]`).
- Bytes that are not the request message (a corrupt wire format, a string field that is not UTF-8) make the
  generated deserializer raise before any handler code runs, which grpc.aio answers UNKNOWN with the parser's
  own message. `tolerant_deserializer` returns an `Undecodable` placeholder instead, which the kit's request
  check refuses as INVALID_ARGUMENT.

Which fields can hold a string (directly, in a sub-message, a repeated field or a map) is worked out once per
message type, so a message with no string anywhere costs one dictionary lookup, and one without NUL a single
pass over its string fields; field paths are built only for a message that holds a NUL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError

from services.kit.errors import FieldViolation

NUL = "\x00"
NUL_DESCRIPTION = "must not contain the NUL character (U+0000)"
NUL_KEY_DESCRIPTION = "map key must not contain the NUL character (U+0000)"
NUL_RULE = "string.no_nul"

# Kinds of plan entries.
_STRING = 0  # a singular string field
_STRINGS = 1  # a repeated string field
_MESSAGE = 2  # a singular message field whose type holds strings
_MESSAGES = 3  # a repeated message field whose type holds strings
_MAP = 4  # a map with string keys or values, or message values holding strings


@dataclass(eq=False, slots=True)
class _Plan:
    """The fields of one message type that may hold a string: (kind, field name, value plan, string keys,
    string values). The value plan is the sub-message's (or map value's) own plan, or None."""

    entries: list[tuple[int, str, _Plan | None, bool, bool]] = field(default_factory=list)


_plans: dict[str, _Plan | None] = {}  # by message full name, while building
_plans_by_type: dict[type, _Plan | None] = {}  # by message class: the per-call lookup


def _message_type(item: FieldDescriptor) -> Descriptor | None:
    """The message type of a message field (a map's entry type for a map), None for any other field."""
    return item.message_type if item.type == FieldDescriptor.TYPE_MESSAGE else None


def _reaches_string(descriptor: Descriptor, seen: set[str]) -> bool:
    if descriptor.full_name in seen:
        return False
    seen.add(descriptor.full_name)
    for item in descriptor.fields:
        if item.type == FieldDescriptor.TYPE_STRING:
            return True
        sub_type = _message_type(item)
        if sub_type is not None and _reaches_string(sub_type, seen):
            return True
    return False


def _plan(descriptor: Descriptor) -> _Plan | None:
    """The plan of `descriptor`, None when no string is reachable from it. Recursive types share one plan."""
    name = descriptor.full_name
    if name in _plans:
        return _plans[name]
    if not _reaches_string(descriptor, set()):
        _plans[name] = None
        return None
    plan = _Plan()
    _plans[name] = plan  # before the fields: a type that contains itself refers to this same plan
    for item in descriptor.fields:
        sub_type = _message_type(item)
        if item.type == FieldDescriptor.TYPE_STRING:
            plan.entries.append((_STRINGS if item.is_repeated else _STRING, item.name, None, False, False))
        elif sub_type is not None:
            if sub_type.GetOptions().map_entry:
                key = sub_type.fields_by_name["key"]
                value = sub_type.fields_by_name["value"]
                value_type = _message_type(value)
                value_plan = _plan(value_type) if value_type is not None else None
                string_keys = key.type == FieldDescriptor.TYPE_STRING
                string_values = value.type == FieldDescriptor.TYPE_STRING
                if string_keys or string_values or value_plan is not None:
                    plan.entries.append((_MAP, item.name, value_plan, string_keys, string_values))
            else:
                sub_plan = _plan(sub_type)
                if sub_plan is not None:
                    plan.entries.append(
                        (_MESSAGES if item.is_repeated else _MESSAGE, item.name, sub_plan, False, False)
                    )
    return plan


def _holds_nul(message: Any, plan: _Plan) -> bool:
    """The fast pass: whether any string of `message` holds a NUL, building no paths."""
    for kind, name, sub_plan, string_keys, string_values in plan.entries:
        if kind == _STRING:
            if NUL in getattr(message, name):
                return True
        elif kind == _MESSAGE:
            if message.HasField(name) and _holds_nul(getattr(message, name), sub_plan):  # type: ignore[arg-type]
                return True
        elif kind == _STRINGS:
            if any(NUL in value for value in getattr(message, name)):
                return True
        elif kind == _MESSAGES:
            if any(_holds_nul(item, sub_plan) for item in getattr(message, name)):  # type: ignore[arg-type]
                return True
        else:
            for key, value in getattr(message, name).items():
                if string_keys and NUL in key:
                    return True
                if string_values:
                    if NUL in value:
                        return True
                elif sub_plan is not None and _holds_nul(value, sub_plan):
                    return True
    return False


def _map_key(key: Any) -> str:
    """A map key as protovalidate writes it in a path; a NUL in it is shown escaped."""
    if isinstance(key, str):
        return '"' + key.replace(NUL, "\\u0000") + '"'
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


def _collect(message: Any, plan: _Plan, prefix: str, found: list[FieldViolation]) -> None:
    """The slow pass, once a NUL is known to be there: every offending field with its path."""
    for kind, name, sub_plan, string_keys, string_values in plan.entries:
        path = prefix + name
        if kind == _STRING:
            if NUL in getattr(message, name):
                found.append(FieldViolation(path, NUL_DESCRIPTION, NUL_RULE))
        elif kind == _MESSAGE:
            if message.HasField(name):
                _collect(getattr(message, name), sub_plan, path + ".", found)  # type: ignore[arg-type]
        elif kind == _STRINGS:
            for index, value in enumerate(getattr(message, name)):
                if NUL in value:
                    found.append(FieldViolation(f"{path}[{index}]", NUL_DESCRIPTION, NUL_RULE))
        elif kind == _MESSAGES:
            for index, item in enumerate(getattr(message, name)):
                _collect(item, sub_plan, f"{path}[{index}].", found)  # type: ignore[arg-type]
        else:
            for key, value in getattr(message, name).items():
                entry_path = f"{path}[{_map_key(key)}]"
                if string_keys and NUL in key:
                    found.append(FieldViolation(entry_path, NUL_KEY_DESCRIPTION, NUL_RULE))
                if string_values:
                    if NUL in value:
                        found.append(FieldViolation(entry_path, NUL_DESCRIPTION, NUL_RULE))
                elif sub_plan is not None:
                    _collect(value, sub_plan, entry_path + ".", found)


def nul_violations(message: Any) -> list[FieldViolation]:
    """Every string field of `message` (at any depth) that holds a NUL character; empty for most messages."""
    message_type = type(message)
    if message_type in _plans_by_type:
        plan = _plans_by_type[message_type]
    else:
        plan = _plans_by_type[message_type] = _plan(message.DESCRIPTOR)
    if plan is None or not _holds_nul(message, plan):
        return []
    found: list[FieldViolation] = []
    _collect(message, plan, "", found)
    return found


# --- requests that are not the message they claim to be ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Undecodable:
    """Stands for a request whose bytes did not parse as `message_name`: refused by the request check."""

    message_name: str


def tolerant_deserializer(deserializer: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    """`deserializer` (a generated message's FromString), returning `Undecodable` instead of raising."""
    message_type = getattr(deserializer, "__self__", None)
    descriptor = getattr(message_type, "DESCRIPTOR", None)
    message_name = descriptor.full_name if descriptor is not None else "request message"

    def deserialize(data: bytes) -> Any:
        try:
            return deserializer(data)
        except DecodeError:
            return Undecodable(message_name)

    return deserialize
