"""What every seller use case works with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.kit.uow import UnitOfWork
from services.seller.settings import SellerSettings


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Deps:
    settings: SellerSettings
    sessions: async_sessionmaker[AsyncSession]
    clock: Callable[[], datetime] = field(default=_now)

    def uow(self) -> UnitOfWork:
        # The seller publishes no events: its units of work only change the read model (and the inbox).
        return UnitOfWork(self.sessions, source="seller")
