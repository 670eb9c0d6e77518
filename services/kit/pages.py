"""Page tokens for List and Search methods (AIP-158), one format for every service.

A token is opaque to callers: base64url of a small JSON array holding a fingerprint of the list it belongs to
(the list's name and every filter and order of the request that made it) and the position where the next page
starts (the last row's sort key and id for keyset pages, an offset for ranked results). A token from another
list, another filter, another order, or one that was altered, is refused with INVALID_ARGUMENT naming
`page_token`, never guessed at. Tokens are not signed: a caller who forges one only moves within the same list,
whose filters and ownership checks apply to every page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import datetime
from typing import Any

from services.kit.errors import FieldViolation, InvalidArgument

Position = str | int | datetime


def list_fingerprint(name: str, *request: object) -> str:
    """What a token belongs to: the list's `name` (e.g. "catalog.ListProducts") and the request's filters and order
    (values with a stable `repr`: strings, numbers, tuples, frozen dataclasses)."""
    return hashlib.sha256(repr((name, *request)).encode()).hexdigest()[:16]


def invalid_page_token() -> InvalidArgument:
    return InvalidArgument(
        "page_token is not valid for this request",
        violations=[FieldViolation("page_token", "not a token of this list with these filters and order")],
    )


def encode_page_token(fingerprint: str, *position: Position) -> str:
    """The token of the page that starts after `position` (datetimes travel as ISO 8601)."""
    values = [value.isoformat() if isinstance(value, datetime) else value for value in position]
    raw = json.dumps([fingerprint, *values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_page_token(token: str, fingerprint: str, *types: type[Position]) -> tuple[Any, ...] | None:
    """The position a token of this list holds, one value of each of `types`; None for the first page (no token).

    Raises InvalidArgument (field `page_token`) for a token of another list or request, or one not made here."""
    if not token:
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError) as error:
        raise invalid_page_token() from error
    if not isinstance(raw, list) or len(raw) != len(types) + 1 or raw[0] != fingerprint:
        raise invalid_page_token()
    return tuple(_position(value, kind) for value, kind in zip(raw[1:], types, strict=True))


def _position(value: Any, kind: type[Position]) -> Any:
    if kind is datetime and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise invalid_page_token() from None
        if moment.tzinfo is None:  # every stored time is aware; a naive one was not made here
            raise invalid_page_token()
        return moment
    # bool is an int to Python, never to a token.
    if kind is not datetime and isinstance(value, kind) and not isinstance(value, bool):
        return value
    raise invalid_page_token()
