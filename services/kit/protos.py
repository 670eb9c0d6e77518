"""Small conversions between protobuf well-known types and Python values, used by every servicer."""

from __future__ import annotations

from datetime import datetime

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
