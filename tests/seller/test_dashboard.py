"""The seller dashboard reconciles with the order service after a day of trade across three sellers, a rebuild
from the streams gives the same figures, a replayed event changes nothing, and no seller sees another's."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
from google.type import date_pb2  # type: ignore[import-untyped]

from marketplace.seller.v1 import seller_pb2
from services.kit.bus import ENVELOPE_FIELD
from services.kit.outbox import make_envelope, stream_for
from services.seller.rebuild import rebuild
from tests.order.support import Metadata, refused
from tests.seller.conftest import SellerService, StartSeller
from tests.seller.support import Day, expected, scripted_day, seen
from tests.support.polling import eventually


async def _all_agree(seller: SellerService, day: Day) -> dict[str, dict[str, Any]]:
    """Waits until every seller's figures equal the order service's; returns them."""
    last: dict[str, Any] = {}

    async def agree() -> bool:
        for seller_id, who in day.sellers.items():
            want, got = await expected(seller, seller_id), await seen(seller, who)
            last[seller_id] = (want, got)
            if want != got:
                return False
        return True

    try:
        await eventually(agree, timeout=20, message="the dashboard never matched the order service")
    except AssertionError:
        for seller_id, (want, got) in last.items():
            assert got == want, seller_id
        raise
    return {seller_id: pair[1] for seller_id, pair in last.items()}


async def _low_stock(seller: SellerService, who: Metadata) -> list[tuple[str, int]]:
    board = await seller.stub.GetDashboard(seller_pb2.GetDashboardRequest(), metadata=who)
    return [(low.variant_id, low.available) for low in board.low_stock_products]


def _date(day: datetime) -> date_pb2.Date:
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


async def test_a_day_of_trade_reconciles_with_the_order_service_and_a_rebuild_gives_the_same(
    start_seller: StartSeller,
) -> None:
    seller = await start_seller()
    day = await scripted_day(seller)
    figures = await _all_agree(seller, day)
    # The script leaves something in every column.
    shoe, mug, lamp = (figures[s] for s in (day.shop.shoe_seller_id, day.shop.mug_seller_id, day.lamp_seller_id))
    assert shoe["refunds"] > 0 and mug["refunds"] > 0 and lamp["refunds"] > 0
    assert mug["to_ship"] == 2 and shoe["to_ship"] == 0 and lamp["to_ship"] == 1
    assert shoe["orders"] == 1 and shoe["revenue"] == 3 * 8000
    assert mug["fee"] == (mug["revenue"] * 1250 + 5000) // 10_000 and mug["net"] == mug["revenue"] - mug["fee"]
    statuses = sorted(status for status, _, _ in lamp["parts"].values())
    paid, cancelled, refunded = (
        seller_pb2.SELLER_ORDER_STATUS_PAID,
        seller_pb2.SELLER_ORDER_STATUS_CANCELLED,
        seller_pb2.SELLER_ORDER_STATUS_REFUNDED,
    )
    assert statuses == sorted([paid, cancelled, refunded])
    # Stock running low, per variant: the lamp (6, one sold) is at the catalog's threshold; nothing else is.
    # The catalog's StockChanged follows the sale on its own stream: it may arrive after the order's events.
    (lamp_variant,) = day.lamp.variants

    async def lamp_runs_low() -> bool:
        return await _low_stock(seller, day.lamp_seller) == [(lamp_variant.id, 5)]

    await eventually(lamp_runs_low, timeout=15, message="the lamp's low stock never reached the dashboard")
    assert await _low_stock(seller, day.shop.mug_seller) == []

    # Sales series: today holds every sale, the days before are there as zero; a week sums the same.
    now = datetime.now(UTC)
    series = await seller.stub.GetSalesSeries(
        seller_pb2.GetSalesSeriesRequest(start_date=_date(now - timedelta(days=2)), end_date=_date(now)),
        metadata=day.shop.mug_seller,
    )
    assert [bucket.revenue.units for bucket in series.buckets] == [0, 0, mug["revenue"]]
    assert [bucket.orders for bucket in series.buckets] == [0, 0, mug["orders"]]
    assert series.total.units_sold == mug["units"]
    weekly = await seller.stub.GetSalesSeries(
        seller_pb2.GetSalesSeriesRequest(
            start_date=_date(now), end_date=_date(now), granularity=seller_pb2.GRANULARITY_WEEKLY
        ),
        metadata=day.shop.mug_seller,
    )
    assert len(weekly.buckets) == 1 and weekly.total.revenue.units == mug["revenue"]

    # The rebuild (the command, as an operator runs it) empties the read model and gives the same figures.
    await seller.sql("UPDATE seller_parts SET subtotal = subtotal + 1")
    await _rebuild_command(seller)
    assert (await seller.sql("SELECT COUNT(*) FROM inbox"))[0][0] > 0
    for seller_id, who in day.sellers.items():
        assert await seen(seller, who) == figures[seller_id]
    assert await _low_stock(seller, day.lamp_seller) == [(lamp_variant.id, 5)]
    # And once more in process: rebuilding twice is rebuilding once.
    applied = await rebuild(seller.deps(), seller.redis)
    assert applied[stream_for("order")] > 0
    for seller_id, who in day.sellers.items():
        assert await seen(seller, who) == figures[seller_id]


async def _rebuild_command(seller: SellerService) -> None:
    settings = seller.settings
    environment = os.environ | {
        "DATABASE_URL": settings.database_url,
        "SELLER_DATABASE_URL": settings.service_database_url,
        "REDIS_URL": settings.redis_url,
        "SELLER_EVENTS_GROUP": settings.seller_events_group,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.seller",
        "rebuild",
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert b"events.order:" in out


async def test_a_replayed_or_repeated_event_changes_nothing_and_no_seller_sees_another(
    start_seller: StartSeller,
) -> None:
    seller = await start_seller()
    day = await scripted_day(seller)
    figures = await _all_agree(seller, day)
    order_events = await seller.checkout.order.events()

    # The same envelope again (a relay's retry): the inbox skips it. The same payloads under new envelope ids
    # (a producer's replay), out of order: the projection is idempotent per order and seller.
    outbox = await seller.checkout.order.sql("SELECT envelope FROM outbox ORDER BY position")
    for (raw,) in outbox[:3]:
        await seller.redis.xadd(stream_for("order"), {ENVELOPE_FIELD: bytes(raw)})
    replays = []
    for _, payload in reversed(order_events):
        envelope = make_envelope("order", "replay", payload)
        replays.append(envelope.id)
        await seller.redis.xadd(stream_for("order"), {ENVELOPE_FIELD: envelope.SerializeToString()})

    async def all_handled() -> bool:
        rows = await seller.sql("SELECT COUNT(*) FROM inbox WHERE event_id = ANY(:ids)", ids=replays)
        return bool(rows[0][0] == len(replays))

    await eventually(all_handled, timeout=15, message="the replayed events were not handled")
    for seller_id, who in day.sellers.items():
        assert await seen(seller, who) == figures[seller_id]

    # One seller never reads another's figures; an admin names the seller; a buyer has no dashboard.
    shoe_seller, mug_seller_id = day.shop.shoe_seller, day.shop.mug_seller_id
    for call in (
        seller.stub.GetDashboard(seller_pb2.GetDashboardRequest(seller_id=mug_seller_id), metadata=shoe_seller),
        seller.stub.ListSellerOrders(seller_pb2.ListSellerOrdersRequest(seller_id=mug_seller_id), metadata=shoe_seller),
    ):
        await refused(call, grpc.StatusCode.PERMISSION_DENIED)
    assert await seen(seller, day.admin, mug_seller_id) == figures[mug_seller_id]
    await refused(
        seller.stub.GetDashboard(seller_pb2.GetDashboardRequest(), metadata=day.admin), grpc.StatusCode.INVALID_ARGUMENT
    )
    buyer, _ = await day.shop.buyer()
    await refused(
        seller.stub.GetDashboard(seller_pb2.GetDashboardRequest(), metadata=buyer), grpc.StatusCode.PERMISSION_DENIED
    )
    # Each seller's orders hold only their own lines.
    shoe_orders = await seller.stub.ListSellerOrders(
        seller_pb2.ListSellerOrdersRequest(page_size=100), metadata=shoe_seller
    )
    shoe_variants = {variant.id for variant in day.shop.shoe.variants}
    assert shoe_orders.orders and all(
        line.variant_id in shoe_variants for order in shoe_orders.orders for line in order.lines
    )
    mixed = day.orders["shipped"]
    (shoe_part,) = [order for order in shoe_orders.orders if order.order_id == mixed.id]
    assert shoe_part.seller_total.units == 3 * 8000 and shoe_part.carrier == "DHL"
    assert shoe_part.status == seller_pb2.SELLER_ORDER_STATUS_DELIVERED
    # A status filter.
    delivered = await seller.stub.ListSellerOrders(
        seller_pb2.ListSellerOrdersRequest(status=seller_pb2.SELLER_ORDER_STATUS_DELIVERED), metadata=shoe_seller
    )
    assert [order.order_id for order in delivered.orders] == [mixed.id]
    # A series ending before it starts names end_date.
    now = datetime.now(UTC)
    await refused(
        seller.stub.GetSalesSeries(
            seller_pb2.GetSalesSeriesRequest(start_date=_date(now), end_date=_date(now - timedelta(days=1))),
            metadata=shoe_seller,
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
