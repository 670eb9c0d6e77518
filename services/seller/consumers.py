"""Stream events -> the projection: one table of payload types and their appliers, used by the live consumers
(group `seller` on the order, catalog and payment streams) and by a rebuild alike."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import Message
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.events.v1 import events_pb2
from services.kit.bus import StreamConsumer
from services.kit.uow import UnitOfWork
from services.seller.domain import PartLine
from services.seller.handlers import projection
from services.seller.handlers.deps import Deps

Applier = Callable[[AsyncSession, datetime, Any], Awaitable[None]]


def _lines(lines: Sequence[events_pb2.OrderLine]) -> list[tuple[str, PartLine]]:
    return [
        (
            line.seller_id,
            PartLine(
                product_id=line.product_id,
                variant_id=line.variant_id,
                sku=line.sku,
                title=line.title,
                quantity=line.quantity,
                unit_price=line.unit_price.units,
                currency=line.unit_price.currency_code,
            ),
        )
        for line in lines
    ]


async def _created(session: AsyncSession, at: datetime, event: events_pb2.OrderCreated) -> None:
    await projection.order_placed(
        session, order_id=event.order_id, buyer_id=event.buyer_id, lines=_lines(event.lines), at=at
    )


async def _paid(session: AsyncSession, at: datetime, event: events_pb2.OrderPaid) -> None:
    await projection.order_paid(
        session,
        order_id=event.order_id,
        buyer_id=event.buyer_id,
        lines=_lines(event.lines),
        payment_id=event.payment_id,
        at=at,
    )


async def _cancelled(session: AsyncSession, at: datetime, event: events_pb2.OrderCancelled) -> None:
    await projection.order_cancelled(
        session,
        order_id=event.order_id,
        buyer_id=event.buyer_id,
        lines=_lines(event.lines),
        payment_id=event.payment_id if event.was_paid else "",
        at=at,
    )


async def _shipped(session: AsyncSession, at: datetime, event: events_pb2.OrderShipped) -> None:
    await projection.part_shipped(
        session,
        order_id=event.order_id,
        buyer_id=event.buyer_id,
        seller_id=event.seller_id,
        lines=_lines(event.lines),
        carrier=event.carrier,
        tracking_number=event.tracking_number,
        at=at,
    )


async def _delivered(session: AsyncSession, at: datetime, event: events_pb2.OrderDelivered) -> None:
    await projection.part_delivered(
        session,
        order_id=event.order_id,
        buyer_id=event.buyer_id,
        seller_id=event.seller_id,
        lines=_lines(event.lines),
        at=at,
    )


async def _order_refunded(session: AsyncSession, at: datetime, event: events_pb2.OrderRefunded) -> None:
    await projection.order_refunded(session, order_id=event.order_id, payment_id=event.payment_id, at=at)


async def _payment_refunded(session: AsyncSession, at: datetime, event: events_pb2.PaymentRefunded) -> None:
    await projection.payment_refunded(session, order_id=event.order_id, payment_id=event.payment_id, at=at)


def _variant_rows(product: events_pb2.ProductSnapshot) -> list[tuple[str, str, bool, int | None]]:
    return [
        (variant.id, variant.sku, variant.status == events_pb2.PRODUCT_STATUS_ACTIVE, variant.stock)
        for variant in product.variants
    ]


def _product_seen(*, created: bool) -> Applier:
    """ProductCreated and ProductUpdated carry the same snapshot; only whether the product is new differs."""

    async def apply(
        session: AsyncSession, at: datetime, event: events_pb2.ProductCreated | events_pb2.ProductUpdated
    ) -> None:
        product = event.product
        await projection.product_seen(
            session,
            product_id=product.id,
            seller_id=product.seller_id,
            title=product.title,
            variant_rows=_variant_rows(product),
            at=at,
            created=created,
        )

    return apply


async def _product_deleted(session: AsyncSession, at: datetime, event: events_pb2.ProductDeleted) -> None:
    await projection.product_deleted(session, product_id=event.product_id, at=at)


async def _stock_changed(session: AsyncSession, at: datetime, event: events_pb2.StockChanged) -> None:
    await projection.stock_changed(
        session,
        product_id=event.product_id,
        seller_id=event.seller_id,
        variant_id=event.variant_id,
        sku=event.sku,
        available=event.available,
        low_stock=event.low_stock,
        at=at,
    )


ORDER_EVENTS: dict[type[Message], Applier] = {
    events_pb2.OrderCreated: _created,
    events_pb2.OrderPaid: _paid,
    events_pb2.OrderCancelled: _cancelled,
    events_pb2.OrderShipped: _shipped,
    events_pb2.OrderDelivered: _delivered,
    events_pb2.OrderRefunded: _order_refunded,
}
CATALOG_EVENTS: dict[type[Message], Applier] = {
    events_pb2.ProductCreated: _product_seen(created=True),
    events_pb2.ProductUpdated: _product_seen(created=False),
    events_pb2.ProductDeleted: _product_deleted,
    events_pb2.StockChanged: _stock_changed,
}
PAYMENT_EVENTS: dict[type[Message], Applier] = {events_pb2.PaymentRefunded: _payment_refunded}


def streams(deps: Deps) -> dict[str, dict[type[Message], Applier]]:
    """Each stream the read model is built from, and what applies its events."""
    settings = deps.settings
    return {
        settings.seller_order_events_stream: ORDER_EVENTS,
        settings.seller_catalog_events_stream: CATALOG_EVENTS,
        settings.seller_payment_events_stream: PAYMENT_EVENTS,
    }


def occurred_at(envelope: Any) -> datetime:
    moment: datetime = envelope.occurred_at.ToDatetime(tzinfo=UTC)
    return moment


def _handler(applier: Applier) -> Callable[[UnitOfWork, Any, Any], Awaitable[None]]:
    async def handle(uow: UnitOfWork, envelope: Any, payload: Any) -> None:
        await applier(uow.session, occurred_at(envelope), payload)

    return handle


def consumers(deps: Deps, redis: Redis) -> list[StreamConsumer]:
    """The seller's members of group `seller_events_group`, one per stream."""
    suffix = uuid.uuid4().hex[:12]
    return [
        StreamConsumer(
            redis,
            deps.uow,
            stream=stream,
            group=deps.settings.seller_events_group,
            consumer=f"seller-{suffix}",
            handlers={payload_type: _handler(applier) for payload_type, applier in appliers.items()},
        )
        for stream, appliers in streams(deps).items()
    ]
