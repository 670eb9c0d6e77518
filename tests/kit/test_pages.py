"""Page tokens: one format for every list; a token only ever continues the list and request that made it."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from services.kit.errors import InvalidArgument
from services.kit.pages import decode_page_token, encode_page_token, list_fingerprint


def _refused(token: str, fingerprint: str, *types: type) -> None:
    with pytest.raises(InvalidArgument) as refused:
        decode_page_token(token, fingerprint, *types)
    assert [violation.field for violation in refused.value.violations] == ["page_token"]


def test_a_token_round_trips_its_position() -> None:
    fingerprint = list_fingerprint("shop.ListThings", "red", 10)
    moment = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)
    token = encode_page_token(fingerprint, moment, 42, "id-7")
    assert decode_page_token(token, fingerprint, datetime, int, str) == (moment, 42, "id-7")
    assert decode_page_token("", fingerprint, int) is None


def test_a_token_of_another_list_or_request_is_refused() -> None:
    token = encode_page_token(list_fingerprint("shop.ListThings", "red"), 5)
    _refused(token, list_fingerprint("shop.ListThings", "blue"), int)
    _refused(token, list_fingerprint("shop.SearchThings", "red"), int)


@pytest.mark.parametrize(
    "position",
    [["x"], [True], [5, 6], [], ["2026-05-01T12:30:00"], [None]],
    ids=["wrong type", "bool", "too long", "too short", "naive time", "null"],
)
def test_a_token_not_made_here_is_refused(position: list[object]) -> None:
    fingerprint = list_fingerprint("shop.ListThings")
    forged = base64.urlsafe_b64encode(json.dumps([fingerprint, *position]).encode()).decode()
    kind = datetime if position and isinstance(position[0], str) and position[0].startswith("2026") else int
    _refused(forged, fingerprint, kind)


@pytest.mark.parametrize("token", ["%%%", "bm90IGpzb24", base64.urlsafe_b64encode(b'{"a": 1}').decode(), "\u00e9"])
def test_garbage_is_refused(token: str) -> None:
    _refused(token, list_fingerprint("shop.ListThings"), int)
