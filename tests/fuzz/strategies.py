"""Hypothesis strategies for any request message, built from its descriptor alone.

Each field gets values of its type at and around its bounds, biased by the contract's own protovalidate rules
so that many requests get past validation and reach the handler: a `uuid` field draws from the ids of seeded
resources (`Pools.ids`, so ownership checks run on real rows) or random ones, a `pattern` field draws strings
matching it, a length-limited field draws strings at and just past its limits. On top of that every string may
carry a NUL character, enums take numbers they do not define, repeated fields and maps are sometimes huge,
and a oneof sets at most one member. Invalid UTF-8 cannot be built as a message (the client refuses it): see
`undecodable_bodies`, which writes it on the wire directly.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from buf.validate import validate_pb2
from google.protobuf import field_mask_pb2, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from hypothesis import strategies as st

FIELD_RULES: Any = validate_pb2.field
MAX_DEPTH = 4  # sub-messages nested deeper are left unset (recursive types such as Struct)
HUGE_SIZES = (101, 1_000)  # past every repeated/map limit of the contracts, and far past
LONG_TEXT = 6_000  # characters: far past every string limit of the contracts

INT_RANGES: dict[int, tuple[int, int]] = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}
# The start of common file formats, so that byte fields (image uploads) reach the decoders.
FILE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"GIF89a", b"%PDF-")


@dataclass
class Pools:
    """Values worth drawing besides random ones: ids of real rows, page tokens real lists handed out."""

    ids: list[str] = field(default_factory=list)
    page_tokens: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)  # search words that find seeded products


def _rules(item: FieldDescriptor) -> validate_pb2.FieldRules | None:
    options = item.GetOptions()
    return options.Extensions[FIELD_RULES] if options.HasExtension(FIELD_RULES) else None


def with_nul(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """`values`, or one of them with a NUL character at its start, middle or end."""

    def place(value: str, where: int) -> str:
        cut = (0, len(value) // 2, len(value))[where]
        return value[:cut] + "\x00" + value[cut:]

    return st.one_of(values, st.tuples(values, st.integers(0, 2)).map(lambda drawn: place(*drawn)))


def _strings(item: FieldDescriptor, rules: validate_pb2.FieldRules | None, pools: Pools) -> st.SearchStrategy[str]:
    likely: list[st.SearchStrategy[str]] = []
    edges: list[st.SearchStrategy[str]] = [
        st.just(""),
        st.text(max_size=20),
        st.text(alphabet=string.printable, max_size=40),
        st.just("é" * LONG_TEXT),
    ]
    string_rules = rules.string if rules is not None and rules.HasField("string") else None
    if string_rules is not None:
        if string_rules.uuid:
            likely.append(st.sampled_from(pools.ids) if pools.ids else st.uuids().map(str))
            likely.append(st.uuids().map(str))
        if string_rules.email:
            likely.append(st.emails())
        if string_rules.pattern:
            likely.append(st.from_regex(string_rules.pattern, fullmatch=True))
        if list(getattr(string_rules, "in")):
            likely.append(st.sampled_from(list(getattr(string_rules, "in"))))
        if string_rules.HasField("min_len"):
            edges.append(st.just("a" * string_rules.min_len))
            if string_rules.min_len > 0:
                edges.append(st.just("a" * (string_rules.min_len - 1)))
        if string_rules.HasField("max_len"):
            # At the limit and just past it, in characters that take several bytes (limits count characters).
            edges.append(st.sampled_from(["a", "ü", "字", "😀"]).map(lambda char: char * string_rules.max_len))
            edges.append(st.just("a" * (string_rules.max_len + 1)))
    if item.name.endswith("page_token"):
        likely.append(st.sampled_from(pools.page_tokens) if pools.page_tokens else st.just("CAE="))
        edges.append(st.binary(max_size=40).map(lambda raw: raw.hex()))
    if item.name in {"query", "text"} and pools.words:
        likely.append(st.sampled_from(pools.words))
    if not likely:
        likely.append(st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=20))
    return with_nul(st.one_of(*likely, *edges))


def _integers(item: FieldDescriptor, rules: validate_pb2.FieldRules | None) -> st.SearchStrategy[int]:
    low, high = INT_RANGES[item.type]
    edges = {low, high, 0, 1, -1}
    inside: tuple[int, int] = (low, high)
    kind = rules.WhichOneof("type") if rules is not None else None
    if rules is not None and kind is not None and kind.endswith(("int32", "int64", "fixed32", "fixed64")):
        numeric = getattr(rules, kind)
        bound_low, bound_high = low, high
        for name, offset in (("gte", 0), ("gt", 1)):
            if numeric.HasField(name):
                bound_low = getattr(numeric, name) + offset
        for name, offset in (("lte", 0), ("lt", -1)):
            if numeric.HasField(name):
                bound_high = getattr(numeric, name) + offset
        edges |= {bound_low, bound_high, bound_low - 1, bound_high + 1}
        if bound_low <= bound_high:
            inside = (bound_low, bound_high)
    in_range = sorted(value for value in edges if low <= value <= high)
    return st.one_of(st.sampled_from(in_range), st.integers(*inside), st.integers(low, high))


def _enums(item: FieldDescriptor) -> st.SearchStrategy[int]:
    assert item.enum_type is not None
    numbers = [value.number for value in item.enum_type.values]
    unknown = [max(numbers) + 1, 99, -1, 2**31 - 1, -(2**31)]
    return st.one_of(st.sampled_from(numbers), st.sampled_from(unknown))


def _bytes(rules: validate_pb2.FieldRules | None) -> st.SearchStrategy[bytes]:
    options = [
        st.binary(max_size=64),
        st.tuples(st.sampled_from(FILE_SIGNATURES), st.binary(max_size=64)).map(b"".join),
    ]
    if rules is not None and rules.HasField("bytes") and rules.bytes.HasField("max_len"):
        options.append(st.just(b"\x89PNG" + b"\x00" * (rules.bytes.max_len - 4)))
        options.append(st.just(b"\x00" * (rules.bytes.max_len + 1)))
    return st.one_of(*options)


def _field_mask_paths(parent: Descriptor) -> st.SearchStrategy[list[str]]:
    """Paths naming fields of the parent's sub-messages (an update_mask names the updated message's fields)."""
    names = sorted(
        {
            nested.name
            for sibling in parent.fields
            if sibling.message_type is not None and sibling.message_type.full_name != "google.protobuf.FieldMask"
            for nested in sibling.message_type.fields
        }
    )
    element = st.one_of(st.sampled_from(names), st.text(max_size=10)) if names else st.text(max_size=10)
    return st.lists(with_nul(element), max_size=4)


def _single(item: FieldDescriptor, parent: Descriptor, pools: Pools, depth: int) -> st.SearchStrategy[Any]:
    """Values of one element of `item` (the field itself when singular)."""
    rules = _rules(item)
    if item.type == FieldDescriptor.TYPE_STRING:
        return _strings(item, rules, pools)
    if item.type in INT_RANGES:
        return _integers(item, rules)
    if item.type == FieldDescriptor.TYPE_ENUM:
        return _enums(item)
    if item.type == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if item.type == FieldDescriptor.TYPE_BYTES:
        return _bytes(rules)
    if item.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.floats(width=64 if item.type == FieldDescriptor.TYPE_DOUBLE else 32)
    assert item.message_type is not None
    return messages(item.message_type, pools, depth + 1)


def _repeated(element: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    huge = st.tuples(element, st.sampled_from(HUGE_SIZES)).map(lambda drawn: [drawn[0]] * drawn[1])
    return st.one_of(st.lists(element, max_size=4), huge)


def _set(message: Any, item: FieldDescriptor, value: Any) -> None:
    target = getattr(message, item.name)
    if item.message_type is not None and item.message_type.GetOptions().map_entry:
        value_field = item.message_type.fields_by_name["value"]
        for key, entry in value.items():
            if value_field.message_type is not None:
                target[key].CopyFrom(entry)
            else:
                target[key] = entry
    elif item.is_repeated:
        target.extend(value)
    elif item.message_type is not None:
        target.CopyFrom(value)
    else:
        setattr(message, item.name, value)


def _field_values(item: FieldDescriptor, parent: Descriptor, pools: Pools, depth: int) -> st.SearchStrategy[Any]:
    if item.message_type is not None and item.message_type.full_name == "google.protobuf.FieldMask":
        return _field_mask_paths(parent).map(lambda paths: field_mask_pb2.FieldMask(paths=paths))
    if item.message_type is not None and item.message_type.GetOptions().map_entry:
        key = _single(item.message_type.fields_by_name["key"], item.message_type, pools, depth)
        value = _single(item.message_type.fields_by_name["value"], item.message_type, pools, depth)
        huge = st.sampled_from(HUGE_SIZES).map(lambda size: {f"k{index}": "v" for index in range(size)})
        key_type = item.message_type.fields_by_name["key"].type
        string_map = key_type == FieldDescriptor.TYPE_STRING and item.message_type.fields_by_name["value"].type == (
            FieldDescriptor.TYPE_STRING
        )
        return st.one_of(st.dictionaries(key, value, max_size=4), *([huge] if string_map else []))
    element = _single(item, parent, pools, depth)
    return _repeated(element) if item.is_repeated else element


def messages(descriptor: Descriptor, pools: Pools, depth: int = 0) -> st.SearchStrategy[Any]:
    """Messages of type `descriptor`: any subset of its fields set, at most one member of each oneof."""
    message_class = message_factory.GetMessageClass(descriptor)
    if depth > MAX_DEPTH:
        return st.just(message_class())
    plain = [item for item in descriptor.fields if item.containing_oneof is None or _synthetic(item)]
    oneofs = [oneof for oneof in descriptor.oneofs if not _synthetic_oneof(oneof)]

    @st.composite
    def build(draw: st.DrawFn) -> Any:
        message = message_class()
        for item in plain:
            if draw(st.booleans()):
                _set(message, item, draw(_field_values(item, descriptor, pools, depth)))
        for oneof in oneofs:
            chosen = draw(st.sampled_from([None, *oneof.fields]))
            if chosen is not None:
                _set(message, chosen, draw(_field_values(chosen, descriptor, pools, depth)))
        return message

    return st.one_of(st.just(message_class()), build()) if depth == 0 else build()


def _synthetic_oneof(oneof: Any) -> bool:
    """The hidden oneof of a proto3 `optional` field."""
    return len(oneof.fields) == 1 and oneof.name == "_" + oneof.fields[0].name


def _synthetic(item: FieldDescriptor) -> bool:
    return item.containing_oneof is not None and _synthetic_oneof(item.containing_oneof)


# --- bytes on the wire ---------------------------------------------------------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _length_delimited(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def string_field_paths(descriptor: Descriptor, depth: int = 0) -> list[list[int]]:
    """Field-number paths to string fields: top-level ones, and ones inside singular sub-messages."""
    found: list[list[int]] = []
    for item in descriptor.fields:
        if item.type == FieldDescriptor.TYPE_STRING:
            found.append([item.number])
        elif item.message_type is not None and not item.message_type.GetOptions().map_entry and depth < 2:
            found.extend([item.number, *path] for path in string_field_paths(item.message_type, depth + 1))
    return found


def not_utf8_at(path: Sequence[int], payload: bytes) -> bytes:
    """A message holding `payload` (not UTF-8) in the string field at `path`."""
    body = _length_delimited(path[-1], payload)
    for number in reversed(path[:-1]):
        body = _length_delimited(number, body)
    return body


NOT_UTF8 = (b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"abc\xf0\x28\x8c\x28", b"\xe2\x82")


def undecodable_bodies(descriptor: Descriptor) -> st.SearchStrategy[bytes]:
    """Request bodies that are not a valid `descriptor` message: random bytes, truncated fields, and invalid
    UTF-8 in string fields (at the top level and inside sub-messages)."""
    options: list[st.SearchStrategy[bytes]] = [
        st.binary(min_size=1, max_size=64),
        st.just(b"\x0a\x05ab"),  # a length past the end
        st.just(b"\xff" * 11),  # a varint longer than ten bytes
    ]
    paths = string_field_paths(descriptor)
    if paths:
        options.append(
            st.builds(not_utf8_at, st.sampled_from(paths), st.sampled_from(NOT_UTF8)),
        )
    return st.one_of(*options)
