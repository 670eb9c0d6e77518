"""Payment storage: tables on the service's own MetaData and the queries over them (SQLAlchemy Core)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.outbox import add_kit_tables
from services.payment.domain import PENDING, SUCCEEDED, Payment

metadata = MetaData()

payments = Table(
    "payments",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("order_id", String(36), nullable=False),
    Column("buyer_id", String(36), nullable=False),
    Column("request_id", String(36), nullable=False),
    Column("amount_units", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("provider", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    # The provider's id (a Stripe PaymentIntent) and the secret the buyer's browser confirms it with.
    Column("provider_payment_id", Text, nullable=False),
    Column("client_secret", Text, nullable=False),
    Column("failure_reason", Text, nullable=False),
    Column("refund_reason", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("succeeded_at", DateTime(timezone=True)),
    Column("refunded_at", DateTime(timezone=True)),
    UniqueConstraint("order_id", "request_id", name="payments_order_request"),
    CheckConstraint("status IN ('PENDING', 'SUCCEEDED', 'FAILED', 'REFUNDED', 'CANCELLED')", name="payments_status"),
    CheckConstraint("provider IN ('local', 'stripe')", name="payments_provider"),
    CheckConstraint("amount_units >= 0", name="payments_amount"),
    # At most one PENDING payment per order.
    Index("ux_payments_pending_order", "order_id", unique=True, postgresql_where=text("status = 'PENDING'")),
    Index(
        "ux_payments_provider_payment",
        "provider_payment_id",
        unique=True,
        postgresql_where=text("provider_payment_id <> ''"),
    ),
)

# Stripe webhook events already handled, by Stripe's event id.
stripe_events = Table(
    "stripe_events",
    metadata,
    Column("id", Text, primary_key=True),
    Column("type", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

outbox, inbox = add_kit_tables(metadata)


def _payment(row: Any) -> Payment:
    return Payment(
        id=row.id,
        order_id=row.order_id,
        buyer_id=row.buyer_id,
        request_id=row.request_id,
        amount_units=row.amount_units,
        currency=row.currency,
        provider=row.provider,
        created_at=row.created_at,
        updated_at=row.updated_at,
        status=row.status,
        provider_payment_id=row.provider_payment_id,
        client_secret=row.client_secret,
        failure_reason=row.failure_reason,
        refund_reason=row.refund_reason,
        succeeded_at=row.succeeded_at,
        refunded_at=row.refunded_at,
    )


def _values(payment: Payment) -> dict[str, Any]:
    return {
        "status": payment.status,
        "provider_payment_id": payment.provider_payment_id,
        "client_secret": payment.client_secret,
        "failure_reason": payment.failure_reason,
        "refund_reason": payment.refund_reason,
        "updated_at": payment.updated_at,
        "succeeded_at": payment.succeeded_at,
        "refunded_at": payment.refunded_at,
    }


# The payment by each of its lookups, built once with bound parameters (and FOR UPDATE or not): SQLAlchemy then
# reuses each one's memoized cache key instead of building and hashing a statement per call (docs/kit.md, "Data").
_p = payments.c
_BY: dict[str, Any] = {
    "id": _p.id == bindparam("payment_id"),
    "request": (_p.order_id == bindparam("order_id")) & (_p.request_id == bindparam("request_id")),
    "pending": (_p.order_id == bindparam("order_id")) & (_p.status == PENDING),
    "succeeded": (_p.order_id == bindparam("order_id")) & (_p.status == SUCCEEDED),
    "provider": _p.provider_payment_id == bindparam("provider_payment_id"),
}
_PAYMENT = {(name, False): select(payments).where(condition) for name, condition in _BY.items()} | {
    (name, True): select(payments).where(condition).with_for_update() for name, condition in _BY.items()
}
_ADD = pg_insert(payments).on_conflict_do_nothing().returning(_p.id)
# SET takes the columns the parameters name; the key's parameter has a name no column has.
_SAVE = update(payments).where(_p.id == bindparam("payment_key"))


class Payments:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _one(self, by: str, parameters: dict[str, str], *, for_update: bool) -> Payment | None:
        row = (await self.session.execute(_PAYMENT[by, for_update], parameters)).first()
        return _payment(row) if row is not None else None

    async def get(self, payment_id: str, *, for_update: bool = False) -> Payment | None:
        return await self._one("id", {"payment_id": payment_id}, for_update=for_update)

    async def of_request(self, order_id: str, request_id: str) -> Payment | None:
        """The payment a CreatePayment call with this request id made for the order."""
        return await self._one("request", {"order_id": order_id, "request_id": request_id}, for_update=False)

    async def pending_of_order(self, order_id: str, *, for_update: bool = False) -> Payment | None:
        return await self._one("pending", {"order_id": order_id}, for_update=for_update)

    async def succeeded_of_order(self, order_id: str, *, for_update: bool = False) -> Payment | None:
        return await self._one("succeeded", {"order_id": order_id}, for_update=for_update)

    async def of_provider(self, provider_payment_id: str, *, for_update: bool = False) -> Payment | None:
        return await self._one("provider", {"provider_payment_id": provider_payment_id}, for_update=for_update)

    async def add_unless_taken(self, payment: Payment) -> bool:
        """Inserts the payment; False when the request id was used, or the order has a PENDING payment already
        (a concurrent call won: read that one)."""
        result = await self.session.execute(
            _ADD,
            {
                "id": payment.id,
                "order_id": payment.order_id,
                "buyer_id": payment.buyer_id,
                "request_id": payment.request_id,
                "amount_units": payment.amount_units,
                "currency": payment.currency,
                "provider": payment.provider,
                "created_at": payment.created_at,
                **_values(payment),
            },
        )
        return result.first() is not None

    async def save(self, payment: Payment) -> None:
        await self.session.execute(_SAVE, {"payment_key": payment.id, **_values(payment)})


async def record_stripe_event(session: AsyncSession, event_id: str, event_type: str, now: datetime) -> bool:
    """Records a Stripe event as handled; False when it already was (handle it once)."""
    result = await session.execute(
        pg_insert(stripe_events)
        .values(id=event_id, type=event_type, received_at=now)
        .on_conflict_do_nothing(index_elements=[stripe_events.c.id])
        .returning(stripe_events.c.id)
    )
    return result.first() is not None
