"""Domain rules without I/O: refresh verdicts, throttling, address defaults, scope grants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.auth import domain
from services.auth.domain import Address, AddressBook, LoginThrottle, RefreshTokenRecord, RefreshVerdict
from services.kit.credentials import client_secret_matches, service_client_secret
from services.kit.errors import FailedPrecondition, PermissionDenied

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _record(**changes: object) -> RefreshTokenRecord:
    values: dict[str, object] = {
        "token_hash": "h",
        "family_id": "f",
        "user_id": "u",
        "issued_at": NOW,
        "expires_at": NOW + timedelta(days=1),
    }
    values.update(changes)
    return RefreshTokenRecord(**values)  # type: ignore[arg-type]


def test_refresh_verdicts() -> None:
    assert domain.judge_refresh(_record(), family_revoked=False, now=NOW) is RefreshVerdict.ROTATE
    assert domain.judge_refresh(_record(rotated_at=NOW), family_revoked=False, now=NOW) is RefreshVerdict.REUSED
    assert domain.judge_refresh(_record(), family_revoked=True, now=NOW) is RefreshVerdict.REFUSED
    assert domain.judge_refresh(_record(expires_at=NOW), family_revoked=False, now=NOW) is RefreshVerdict.REFUSED
    assert domain.judge_refresh(None, family_revoked=False, now=NOW) is RefreshVerdict.REFUSED


def test_throttle_delay_grows_and_is_capped() -> None:
    throttle = LoginThrottle(max_failures=3, lockout_seconds=60, base_delay_seconds=0.1, max_delay_seconds=0.3)
    assert [throttle.delay_after(n) for n in range(4)] == [0.0, 0.1, 0.2, 0.3]
    assert not throttle.is_locked(2) and throttle.is_locked(3)


def _address(address_id: str, minutes: int, is_default: bool = False) -> Address:
    return Address(
        id=address_id,
        user_id="u",
        recipient_name="R",
        line1="L",
        city="C",
        postal_code="P",
        country_code="US",
        created_at=NOW + timedelta(minutes=minutes),
        is_default=is_default,
    )


def test_address_book_keeps_one_default() -> None:
    book = AddressBook("u", [])
    assert book.add(_address("a", 0)).is_default
    book.add(_address("b", 1))
    book.add(_address("c", 2, is_default=True))
    assert [a.id for a in book.addresses if a.is_default] == ["c"]
    with pytest.raises(FailedPrecondition):
        book.update("c", {"is_default": False})
    book.remove("c")
    assert [a.id for a in book.addresses if a.is_default] == ["b"]
    assert book.removed == ["c"]


def test_scope_grants_and_client_secrets() -> None:
    assert domain.grant_scopes(["cart:write"], ["catalog:read", "cart:write"]) == ["cart:write"]
    with pytest.raises(PermissionDenied):
        domain.grant_scopes(["order:write"], ["cart:write"])
    # HMAC-SHA256("k", "cart"), computed independently: the derivation every deployment relies on.
    secret = service_client_secret("k", "cart")
    assert secret == "b55a85c74a439765676155a2324f361fc16441af82572793d0710bbfcc24a3c1"
    assert client_secret_matches("k", "cart", secret)
    assert not client_secret_matches("k", "order", secret)
    assert not client_secret_matches("", "cart", service_client_secret("", "cart"))
