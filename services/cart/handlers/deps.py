"""What every cart use case works with: its dependencies, the caller, and a unit of work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.cart.catalog import CatalogClient
from services.cart.domain import Actor
from services.cart.handlers.events import event_payload
from services.kit.principal import Principal
from services.kit.uow import UnitOfWork


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Deps:
    sessions: async_sessionmaker[AsyncSession]
    # One-statement reads, outside a transaction (`db.read_session_factory`).
    reads: async_sessionmaker[AsyncSession]
    catalog: CatalogClient
    clock: Callable[[], datetime] = field(default=_now)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, source="cart", events=event_payload)


def actor_of(principal: Principal) -> Actor:
    """The cart's owner is always the token's user; a delegated token names the service acting for them."""
    return Actor(user_id=principal.subject, assistant=principal.actor or "")
