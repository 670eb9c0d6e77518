"""Small conversions between protobuf well-known types and Python values, used by every servicer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp


def timestamp(moment: datetime) -> Timestamp:
    """A `google.protobuf.Timestamp` for an aware datetime."""
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def mask_paths(mask: FieldMask) -> list[str]:
    """The paths an update mask names, each once, in the caller's order. Which paths a request may name is the
    contract's rule (`(buf.validate.field).field_mask.in`), checked before the handler runs."""
    return list(dict.fromkeys(mask.paths))


class Serialized:
    """A response message already serialized (e.g. a cached answer): the kit's server sends its bytes as they
    are instead of serializing a message again on every call (for a large message, most of a cached call's
    cost). A wrapper, not a bytes subclass: grpc's core takes exactly `bytes`."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


def passing_serialized(serializer: Callable[[Any], bytes] | None) -> Callable[[Any], bytes] | None:
    """`serializer` for messages; a `Serialized` response's bytes pass through unchanged."""
    if serializer is None:
        return None

    def serialize(response: Any) -> bytes:
        return response.data if type(response) is Serialized else serializer(response)

    return serialize
