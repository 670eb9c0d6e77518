"""The local provider: no account, no money moves. A payment waits for ConfirmPayment to approve or decline it."""

from __future__ import annotations

from services.payment.domain import LOCAL, PROVIDER_CANCELED, PROVIDER_PENDING, Payment, ProviderIntent


class LocalProvider:
    name = LOCAL

    async def start(self, payment: Payment) -> ProviderIntent:
        return ProviderIntent(provider_payment_id="", client_secret="", state=PROVIDER_PENDING)

    async def cancel(self, payment: Payment) -> str:
        return PROVIDER_CANCELED

    async def refund(self, payment: Payment) -> None:
        return None

    async def close(self) -> None:
        return None
