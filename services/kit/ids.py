"""Identifiers: UUIDv7 strings (time-ordered, so indexes stay compact and ids sort by creation)."""

from __future__ import annotations

import uuid

from uuid6 import uuid7


def new_id() -> str:
    """A new UUIDv7 as a lower-case string."""
    return str(uuid7())


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
