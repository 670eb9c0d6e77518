"""The projection on its own database, events applied directly: out of order, repeated, or late, each part and
variant ends the same, and no figure counts twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.common.v1 import money_pb2
from marketplace.events.v1 import events_pb2
from services.kit.db import create_engine, session_factory
from services.seller import queries
from services.seller.consumers import CATALOG_EVENTS, ORDER_EVENTS, PAYMENT_EVENTS
from services.seller.service import DEFINITION
from tests.support.serving import migrate_service

T0 = datetime(2026, 12, 1, 10, tzinfo=UTC)
APPLIERS = ORDER_EVENTS | CATALOG_EVENTS | PAYMENT_EVENTS


@pytest.fixture
async def sessions(fresh_database: Any) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    url = await fresh_database("seller")
    await migrate_service(DEFINITION, url)
    engine = create_engine(url, pool_size=2, max_overflow=0)
    yield session_factory(engine)
    await engine.dispose()


async def apply(sessions: async_sessionmaker[AsyncSession], at: datetime, event: Message) -> None:
    async with sessions() as session, session.begin():
        await APPLIERS[type(event)](session, at, event)


def _line(seller: str, variant: str, quantity: int, price: int) -> events_pb2.OrderLine:
    return events_pb2.OrderLine(
        product_id=f"p-{variant}",
        seller_id=seller,
        quantity=quantity,
        unit_price=money_pb2.Money(currency_code="USD", units=price),
        variant_id=variant,
        sku=f"SKU-{variant}",
        title=f"Product {variant}",
    )


LINES = [_line("s1", "a", 2, 1000), _line("s2", "b", 1, 500), _line("s1", "c", 1, 300)]
CREATED = events_pb2.OrderCreated(order_id="o1", buyer_id="b1", lines=LINES)
PAID = events_pb2.OrderPaid(order_id="o1", buyer_id="b1", lines=LINES, payment_id="pay-1")
CANCELLED = events_pb2.OrderCancelled(order_id="o1", buyer_id="b1", lines=LINES, was_paid=True, payment_id="pay-1")


async def figures(sessions: async_sessionmaker[AsyncSession], seller: str) -> tuple[Any, ...]:
    async with sessions() as session:
        return await queries.figures(session, seller, "USD", None, T0 + timedelta(days=1))


async def test_events_in_any_order_and_twice_give_the_same_parts(sessions: async_sessionmaker[AsyncSession]) -> None:
    # Paid first, then placed, then paid again (a replay under another envelope): one part per seller, paid once.
    await apply(sessions, T0 + timedelta(minutes=5), PAID)
    await apply(sessions, T0, CREATED)
    await apply(sessions, T0 + timedelta(minutes=5), PAID)
    await apply(sessions, T0, CREATED)
    sales, gross, refunds, to_ship = await figures(sessions, "s1")
    assert (sales.orders, sales.units, sales.revenue, gross, refunds, to_ship) == (1, 3, 2300, 2300, 0, 1)
    assert (await figures(sessions, "s2"))[0].revenue == 500
    async with sessions() as session:
        (part,) = await queries.seller_orders(session, "s1", None, 10, None)
    assert part.moments.created_at == T0 and part.moments.paid_at == T0 + timedelta(minutes=5)
    assert [line.variant_id for line in part.lines] == ["a", "c"]

    # Cancelled after payment, twice; a refund from the order and the payment's own, each twice: one refund.
    for _ in range(2):
        await apply(sessions, T0 + timedelta(hours=1), CANCELLED)
        await apply(sessions, T0 + timedelta(hours=2), events_pb2.OrderRefunded(order_id="o1", payment_id="pay-1"))
        await apply(sessions, T0 + timedelta(hours=2), events_pb2.PaymentRefunded(order_id="o1", payment_id="pay-1"))
    sales, gross, refunds, to_ship = await figures(sessions, "s1")
    assert (sales.orders, sales.revenue, gross, refunds, to_ship) == (0, 0, 2300, 2300, 0)
    async with sessions() as session:
        (part,) = await queries.seller_orders(session, "s1", "REFUNDED", 10, None)
        assert await queries.top_products(session, "s1", "USD", None, T0 + timedelta(days=1), 5) == []


async def test_a_refund_of_another_payment_is_not_the_sellers(sessions: async_sessionmaker[AsyncSession]) -> None:
    await apply(sessions, T0, CREATED)
    await apply(sessions, T0 + timedelta(minutes=5), PAID)
    # A second payment of the same order was refused and refunded: the order stays paid.
    await apply(sessions, T0 + timedelta(minutes=6), events_pb2.PaymentRefunded(order_id="o1", payment_id="pay-2"))
    assert (await figures(sessions, "s1"))[0].revenue == 2300
    # A shipped part refunded by payment (the order keeps its status): the refund subtracts.
    await apply(
        sessions,
        T0 + timedelta(hours=3),
        events_pb2.OrderShipped(order_id="o1", buyer_id="b1", lines=LINES[1:2], seller_id="s2", carrier="UPS"),
    )
    await apply(sessions, T0 + timedelta(days=2), events_pb2.PaymentRefunded(order_id="o1", payment_id="pay-1"))
    sales, gross, refunds, _ = await figures(sessions, "s2")
    assert (sales.revenue, gross, refunds) == (0, 500, 500)


async def test_an_older_stock_change_arriving_late_changes_nothing(sessions: async_sessionmaker[AsyncSession]) -> None:
    def stock(available: int, low: bool) -> events_pb2.StockChanged:
        return events_pb2.StockChanged(
            product_id="p1", seller_id="s1", variant_id="v1", sku="SKU-1", available=available, low_stock=low
        )

    await apply(sessions, T0 + timedelta(minutes=2), stock(3, True))
    await apply(sessions, T0 + timedelta(minutes=1), stock(9, False))
    snapshot = events_pb2.ProductSnapshot(
        id="p1",
        seller_id="s1",
        title="Lamp",
        variants=[events_pb2.VariantSnapshot(id="v1", sku="SKU-1", stock=10, status=events_pb2.PRODUCT_STATUS_ACTIVE)],
    )
    await apply(sessions, T0, events_pb2.ProductCreated(product=snapshot))
    async with sessions() as session:
        low = await queries.low_stock(session, "s1", 10)
    assert [(item.variant_id, item.title, item.available) for item in low] == [("v1", "Lamp", 3)]
    await apply(sessions, T0 + timedelta(minutes=3), events_pb2.ProductDeleted(product_id="p1", seller_id="s1"))
    async with sessions() as session:
        assert await queries.low_stock(session, "s1", 10) == []


async def test_a_refund_read_before_the_payment_applies_once_the_payment_is_known(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # The payment stream ran ahead of the order stream: the refund of pay-1 arrives first.
    await apply(sessions, T0 + timedelta(days=1), events_pb2.PaymentRefunded(order_id="o1", payment_id="pay-1"))
    await apply(sessions, T0, CREATED)
    assert (await figures(sessions, "s1"))[2] == 0
    await apply(sessions, T0 + timedelta(minutes=5), PAID)
    sales, gross, refunds, _ = await figures(sessions, "s1")
    assert (sales.revenue, gross, refunds) == (0, 2300, 2300)
    async with sessions() as session:
        (part,) = await queries.seller_orders(session, "s1", None, 10, None)
    assert part.moments.refunded_at == T0 + timedelta(days=1)
