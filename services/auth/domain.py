"""The auth domain: users, refresh token families, password resets, addresses and the rules around them.

Standard library only. Use cases in handlers/ load and store these objects; nothing here does I/O.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from services.kit.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)

BUYER = "buyer"
SELLER = "seller"
ADMIN = "admin"
ROLES = (BUYER, SELLER, ADMIN)
SELF_SERVICE_ROLES = (BUYER, SELLER)
SERVICE_ROLE = "service"


# --- events -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserRegistered:
    user_id: str
    email: str
    username: str
    display_name: str
    role: str


@dataclass(frozen=True)
class UserProfileChanged:
    """The profile after a change the user made."""

    user_id: str
    username: str
    display_name: str
    store_name: str


@dataclass(frozen=True)
class PasswordResetRequested:
    user_id: str
    email: str
    reset_token: str
    expires_at: datetime


# --- users --------------------------------------------------------------------------------------------------


def normalize_email(email: str) -> str:
    return email.strip().lower()


def normalize_login(login: str) -> str:
    return login.strip().lower()


def is_email(login: str) -> bool:
    return "@" in login


def _invalid(field_name: str, description: str) -> InvalidArgument:
    return InvalidArgument(description, violations=[FieldViolation(field_name, description)])


PROFILE_FIELDS = ("display_name", "username", "store_name")


@dataclass
class User:
    id: str
    email: str
    username: str
    password_hash: str
    role: str
    display_name: str
    store_name: str
    created_at: datetime
    events: list[object] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def register(
        cls,
        *,
        id: str,
        email: str,
        username: str,
        password_hash: str,
        role: str,
        display_name: str,
        store_name: str,
        now: datetime,
    ) -> User:
        """A new buyer or seller account. Admins are never self-registered."""
        if role not in SELF_SERVICE_ROLES:
            raise PermissionDenied("only buyer and seller accounts can be registered", reason="ROLE_NOT_ALLOWED")
        store_name = store_name.strip()
        if role == SELLER and not store_name:
            raise _invalid("store_name", "a seller account needs a store name")
        if role != SELLER and store_name:
            raise _invalid("store_name", "only sellers have a store name")
        user = cls(
            id=id,
            email=normalize_email(email),
            username=username,
            password_hash=password_hash,
            role=role,
            display_name=display_name.strip() or username,
            store_name=store_name,
            created_at=now,
        )
        user.events.append(
            UserRegistered(
                user_id=user.id,
                email=user.email,
                username=user.username,
                display_name=user.display_name,
                role=user.role,
            )
        )
        return user

    @property
    def roles(self) -> list[str]:
        return [self.role]

    def update_profile(self, changes: Mapping[str, str]) -> None:
        """Applies the named profile fields (an update mask's paths mapped to new values); records
        UserProfileChanged when one of them changed."""
        before = (self.username, self.display_name, self.store_name)
        for name in changes:
            if name not in PROFILE_FIELDS:
                raise _invalid("update_mask", f"{name!r} cannot be changed here")
        if "store_name" in changes:
            store_name = changes["store_name"].strip()
            if self.role != SELLER:
                raise _invalid("user.store_name", "only sellers have a store name")
            if not store_name:
                raise _invalid("user.store_name", "a seller account needs a store name")
            self.store_name = store_name
        if "username" in changes:
            if not changes["username"]:
                raise _invalid("user.username", "the username cannot be empty")
            self.username = changes["username"]
        if "display_name" in changes:
            self.display_name = changes["display_name"].strip() or self.username
        if (self.username, self.display_name, self.store_name) != before:
            self.events.append(UserProfileChanged(self.id, self.username, self.display_name, self.store_name))

    def change_role(self, role: str) -> None:
        if role not in ROLES:
            raise _invalid("role", "unknown role")
        self.role = role

    def set_password_hash(self, password_hash: str) -> None:
        self.password_hash = password_hash

    def request_password_reset(self, reset_token: str, expires_at: datetime) -> None:
        self.events.append(
            PasswordResetRequested(user_id=self.id, email=self.email, reset_token=reset_token, expires_at=expires_at)
        )


# --- opaque secrets (refresh and reset tokens) --------------------------------------------------------------


def new_opaque_token() -> str:
    """A random token handed to the client once; only its hash is stored."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """SHA-256 hex of an opaque token: a leaked table does not give working tokens."""
    return hashlib.sha256(token.encode()).hexdigest()


# --- refresh token families ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefreshTokenRecord:
    """One issued refresh token of a family (a sign-in session)."""

    token_hash: str
    family_id: str
    user_id: str
    issued_at: datetime
    expires_at: datetime
    rotated_at: datetime | None = None


class RefreshVerdict(Enum):
    ROTATE = "rotate"  # valid: issue the next token of the family
    REUSED = "reused"  # an already rotated token came back: the family is compromised, revoke it
    REFUSED = "refused"  # unknown, expired or revoked


def judge_refresh(record: RefreshTokenRecord | None, *, family_revoked: bool, now: datetime) -> RefreshVerdict:
    if record is None or family_revoked:
        return RefreshVerdict.REFUSED
    if record.rotated_at is not None:
        return RefreshVerdict.REUSED
    if record.expires_at <= now:
        return RefreshVerdict.REFUSED
    return RefreshVerdict.ROTATE


# --- revocations --------------------------------------------------------------------------------------------

SESSION_REVOCATION = "session"  # every access token of a sign-in session (its `sid`)
TOKEN_REVOCATION = "token"  # one access token (its `jti`)


@dataclass(frozen=True)
class Revocation:
    """A revoked session or access token, kept in auth's database next to what caused it, so that Redis can be
    given it again after losing it. It matters until `expires_at`: by then every access token it refuses has
    expired anyway (a session's: the access token lifetime after the revocation, plus the verifiers' leeway)."""

    kind: str  # SESSION_REVOCATION | TOKEN_REVOCATION
    id: str  # the session id or the token id
    expires_at: datetime


def revocations_for(
    session_ids: Iterable[str], now: datetime, session_seconds: int, *, token_id: str = "", token_expires_at: int = 0
) -> list[Revocation]:
    """What ending these sessions (and revoking the token `token_id`, valid until `token_expires_at`, epoch
    seconds) records; empty ids are skipped (a token without a session or an id)."""
    until = now + timedelta(seconds=session_seconds)
    revoked = [Revocation(SESSION_REVOCATION, sid, until) for sid in dict.fromkeys(session_ids) if sid]
    expires_at = datetime.fromtimestamp(token_expires_at, tz=now.tzinfo)
    if token_id and expires_at > now:
        revoked.append(Revocation(TOKEN_REVOCATION, token_id, expires_at))
    return revoked


# --- password resets ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PasswordResetRecord:
    token_hash: str
    user_id: str
    expires_at: datetime
    used_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return self.used_at is None and self.expires_at > now


# --- login throttling ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginThrottle:
    """Repeated failed logins: a growing delay, then a temporary lockout."""

    max_failures: int
    lockout_seconds: int
    base_delay_seconds: float
    max_delay_seconds: float

    def is_locked(self, failures: int) -> bool:
        return failures >= self.max_failures

    def delay_after(self, failures: int) -> float:
        if failures <= 0:
            return 0.0
        return min(self.max_delay_seconds, self.base_delay_seconds * 2.0 ** (failures - 1))


def throttle_key(user_id: str | None, login: str) -> str:
    """Failures count per account when the login names one, else per login name, so an unknown login is
    throttled exactly like a known one."""
    return user_id if user_id is not None else "login:" + hash_token(normalize_login(login))


# --- service credentials and delegation ---------------------------------------------------------------------


def grant_scopes(requested: Sequence[str], allowed: Collection[str]) -> list[str]:
    """The scopes a service gets for a user: all requested ones, each in the service's allow-list."""
    refused = [scope for scope in requested if scope not in allowed]
    if refused or not requested:
        raise PermissionDenied(
            "the calling service may not delegate these scopes",
            reason="SCOPE_NOT_ALLOWED",
            metadata={"scopes": " ".join(refused)},
        )
    return list(dict.fromkeys(requested))


# --- token claims -------------------------------------------------------------------------------------------

USER_TOKEN = "user"
SERVICE_TOKEN = "service"


def token_claims(
    *,
    issuer: str,
    audience: str,
    subject: str,
    typ: str,
    roles: Iterable[str],
    now: datetime,
    ttl_seconds: int,
    token_id: str,
    scopes: Sequence[str] | None = None,
    actor: str | None = None,
    session_id: str | None = None,
) -> dict[str, Any]:
    """The claims of an access token, as documented in docs/kit.md."""
    issued = int(now.timestamp())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl_seconds,
        "jti": token_id,
        "typ": typ,
        "roles": list(roles),
    }
    if scopes is not None:
        claims["scope"] = " ".join(scopes)
    if actor is not None:
        claims["act"] = {"sub": actor}
    if session_id:
        claims["sid"] = session_id
    return claims


# --- addresses ----------------------------------------------------------------------------------------------

ADDRESS_FIELDS = (
    "recipient_name",
    "line1",
    "line2",
    "city",
    "region",
    "postal_code",
    "country_code",
    "phone",
    "is_default",
)
REQUIRED_ADDRESS_FIELDS = ("recipient_name", "line1", "city", "postal_code", "country_code")
MAX_ADDRESSES = 20


@dataclass(frozen=True)
class Address:
    id: str
    user_id: str
    recipient_name: str
    line1: str
    city: str
    postal_code: str
    country_code: str
    created_at: datetime
    line2: str = ""
    region: str = ""
    phone: str = ""
    is_default: bool = False

    def check_complete(self) -> None:
        missing = [name for name in REQUIRED_ADDRESS_FIELDS if not str(getattr(self, name)).strip()]
        if missing:
            raise InvalidArgument(
                "the address is incomplete",
                violations=[FieldViolation(f"address.{name}", "is required") for name in missing],
            )


class AddressBook:
    """A user's addresses. Invariant: when there is any address, exactly one is the default."""

    def __init__(self, user_id: str, addresses: Iterable[Address]):
        self.user_id = user_id
        self._addresses = {address.id: address for address in addresses}
        self.removed: list[str] = []

    @property
    def addresses(self) -> list[Address]:
        """Default first, then newest first."""
        ordered = sorted(self._addresses.values(), key=lambda a: a.created_at, reverse=True)
        return sorted(ordered, key=lambda a: not a.is_default)

    def get(self, address_id: str) -> Address:
        address = self._addresses.get(address_id)
        if address is None:
            raise NotFound("address not found", reason="ADDRESS_NOT_FOUND")
        return address

    def add(self, address: Address) -> Address:
        if len(self._addresses) >= MAX_ADDRESSES:
            raise FailedPrecondition(f"at most {MAX_ADDRESSES} addresses", reason="ADDRESS_LIMIT")
        address.check_complete()
        if not self._addresses:
            address = replace(address, is_default=True)
        self._addresses[address.id] = address
        if address.is_default:
            self._make_default(address.id)
        return self._addresses[address.id]

    def update(self, address_id: str, changes: Mapping[str, Any]) -> Address:
        current = self.get(address_id)
        for name in changes:
            if name not in ADDRESS_FIELDS:
                raise _invalid("update_mask", f"{name!r} cannot be changed")
        if changes.get("is_default") is False and current.is_default:
            raise FailedPrecondition("make another address the default instead", reason="DEFAULT_ADDRESS_REQUIRED")
        updated = replace(current, **changes)
        updated.check_complete()
        self._addresses[address_id] = updated
        if updated.is_default:
            self._make_default(address_id)
        return self._addresses[address_id]

    def remove(self, address_id: str) -> None:
        removed = self.get(address_id)
        del self._addresses[address_id]
        self.removed.append(address_id)
        if removed.is_default and self._addresses:
            newest = max(self._addresses.values(), key=lambda a: a.created_at)
            self._make_default(newest.id)

    def _make_default(self, address_id: str) -> None:
        for other_id, other in list(self._addresses.items()):
            wanted = other_id == address_id
            if other.is_default != wanted:
                self._addresses[other_id] = replace(other, is_default=wanted)


def seconds_until(moment: datetime, now: datetime) -> int:
    return max(0, int((moment - now) / timedelta(seconds=1)))
