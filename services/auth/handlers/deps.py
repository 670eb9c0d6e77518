"""What every auth use case works with: settings, database, Redis, password hashing, signing keys, verifier."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.auth.domain import LoginThrottle
from services.auth.handlers.events import event_payload
from services.auth.keys import KeyRing, SigningKey
from services.auth.passwords import Passwords
from services.auth.settings import AuthSettings
from services.kit.tokens import RevocationList, TokenVerifier
from services.kit.uow import UnitOfWork

# Retired keys stay published this long after the longest-lived token they may have signed.
KEY_RETIREMENT_MARGIN = timedelta(minutes=1)


def _now() -> datetime:
    return datetime.now(UTC)


class SigningKeyHolder:
    """The key ring in use; reloaded from the database after a rotation (here or by another auth process)."""

    def __init__(self, retired_lifetime: timedelta):
        self.retired_lifetime = retired_lifetime
        self._ring: KeyRing | None = None
        self._loaded_at = 0.0

    @property
    def ring(self) -> KeyRing:
        if self._ring is None:
            raise RuntimeError("signing keys are not loaded")
        return self._ring

    def load(self, keys: Sequence[SigningKey]) -> None:
        self._ring = KeyRing(keys, retired_lifetime=self.retired_lifetime)
        self._loaded_at = time.monotonic()

    def stale(self, now: float, max_age: float) -> bool:
        return now - self._loaded_at >= max_age


@dataclass
class Deps:
    settings: AuthSettings
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis
    passwords: Passwords
    keys: SigningKeyHolder
    verifier: TokenVerifier
    revocations: RevocationList
    clock: Callable[[], datetime] = field(default=_now)

    @property
    def throttle(self) -> LoginThrottle:
        return LoginThrottle(
            max_failures=self.settings.auth_login_max_failures,
            lockout_seconds=self.settings.auth_login_lockout_seconds,
            base_delay_seconds=self.settings.auth_login_delay_base_seconds,
            max_delay_seconds=self.settings.auth_login_delay_max_seconds,
        )

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, source="auth", events=event_payload)


def retired_key_lifetime(settings: AuthSettings) -> timedelta:
    longest = max(
        settings.auth_access_token_ttl_seconds,
        settings.auth_service_token_ttl_seconds,
        settings.auth_exchange_token_ttl_seconds,
    )
    return timedelta(seconds=longest) + KEY_RETIREMENT_MARGIN
