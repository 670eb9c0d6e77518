"""What every notify use case works with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.kit.errors import PermissionDenied
from services.kit.principal import Principal
from services.kit.uow import UnitOfWork
from services.notify.directory import Directory


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Policy:
    """How notifications are made and delivered (from the settings)."""

    password_reset_url: str = "http://127.0.0.1:8080/#/reset-password?token="
    max_event_age: timedelta = timedelta(days=1)
    # How long a worker holds a record it is sending; past it, the record is another worker's to send.
    lease: timedelta = timedelta(seconds=30)
    max_attempts: int = 5
    retry_base_seconds: float = 2.0
    retry_max_seconds: float = 60.0


@dataclass
class Deps:
    sessions: async_sessionmaker[AsyncSession]
    policy: Policy = field(default_factory=Policy)
    # Asked about users notify has not heard of (auth's GetUserContact); None: such users get no email.
    directory: Directory | None = None
    clock: Callable[[], datetime] = field(default=_now)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, source="notify")


def user_of(principal: Principal) -> str:
    """The user whose notifications these are: the token's own user. A delegated token (an assistant acting for
    the user) neither reads them nor changes what the user receives."""
    if principal.actor:
        raise PermissionDenied("notifications need the user's own token", reason="DELEGATION_NOT_ALLOWED")
    return principal.subject
