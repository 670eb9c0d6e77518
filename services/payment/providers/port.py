"""What the payment use cases ask of a provider. Every call is idempotent: each names the payment it is for, and
a repeated call (a retry, a consumer redelivered after a crash) never takes or returns money twice."""

from __future__ import annotations

from typing import Protocol

from services.payment.domain import Payment, ProviderIntent


class Provider(Protocol):
    name: str  # domain.LOCAL or domain.STRIPE

    async def start(self, payment: Payment) -> ProviderIntent:
        """Makes the provider's side of a new payment (the same one again when asked again)."""
        ...

    async def cancel(self, payment: Payment) -> str:
        """Abandons a started payment; where the provider's side stands after it (a domain.PROVIDER_* state): it
        may have succeeded meanwhile."""
        ...

    async def refund(self, payment: Payment) -> None:
        """Returns the whole amount of a succeeded payment (done once however often asked)."""
        ...

    async def close(self) -> None: ...
