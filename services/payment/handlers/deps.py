"""What every payment use case works with: its dependencies, the providers, and a unit of work."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.kit.errors import PermissionDenied, Unavailable
from services.kit.principal import Principal
from services.kit.uow import UnitOfWork
from services.payment.domain import Payment
from services.payment.handlers.events import event_payload
from services.payment.orders import OrderClient
from services.payment.providers.port import Provider


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class StripeWebhook:
    """How Stripe's webhook calls are checked: the endpoint's signing secret and the signature's tolerance."""

    secret: str
    tolerance_seconds: int = 300


@dataclass
class Deps:
    sessions: async_sessionmaker[AsyncSession]
    # One-statement reads, outside a transaction (`db.read_session_factory`).
    reads: async_sessionmaker[AsyncSession]
    orders: OrderClient
    # Every provider this deployment can talk to, by name; new payments go to `provider`.
    providers: Mapping[str, Provider]
    provider: str
    stripe_webhook: StripeWebhook | None = None
    clock: Callable[[], datetime] = field(default=_now)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, source="payment", events=event_payload)

    def provider_of(self, payment: Payment) -> Provider:
        """The provider that processes `payment` (the one it was made with)."""
        provider = self.providers.get(payment.provider)
        if provider is None:
            raise Unavailable(
                "the payment's provider is not configured",
                reason="PROVIDER_NOT_CONFIGURED",
                metadata={"provider": payment.provider, "payment_id": payment.id},
            )
        return provider


def buyer_of(principal: Principal) -> str:
    """The paying user: the token's own user. A delegated token (a service acting for the user) never pays."""
    if principal.actor:
        raise PermissionDenied("payments need the buyer's own token", reason="DELEGATION_NOT_ALLOWED")
    return principal.subject
