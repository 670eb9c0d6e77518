"""Small conversions between protobuf well-known types and Python values, used by every servicer."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp


def timestamp(moment: datetime) -> Timestamp:
    """A `google.protobuf.Timestamp` for an aware datetime."""
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp
