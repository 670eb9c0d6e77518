"""Stock reservations through the real catalog service: the race, all or nothing, expiry, idempotency."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration

from marketplace.catalog.v1 import catalog_pb2
from marketplace.events.v1 import events_pb2
from services.kit.outbox import make_envelope
from tests.catalog.conftest import Catalog
from tests.kit.rpc.support import error_info
from tests.support.polling import eventually


def reservation_item(product: catalog_pb2.Product | str, quantity: int) -> catalog_pb2.ReservationItem:
    """An item of a product's only variant; a product id alone stands for a product that does not exist."""
    if isinstance(product, str):
        return catalog_pb2.ReservationItem(product_id=product, variant_id=str(uuid.uuid4()), quantity=quantity)
    (variant,) = product.variants
    return catalog_pb2.ReservationItem(product_id=product.id, variant_id=variant.id, quantity=quantity)


def reserve_request(
    *items: tuple[catalog_pb2.Product | str, int], ttl_seconds: int = 0
) -> catalog_pb2.ReserveStockRequest:
    request = catalog_pb2.ReserveStockRequest(
        reservation_id=str(uuid.uuid4()),
        order_id=str(uuid.uuid4()),
        items=[reservation_item(product, quantity) for product, quantity in items],
    )
    if ttl_seconds:
        request.ttl.CopyFrom(Duration(seconds=ttl_seconds))
    return request


async def stock_of(catalog: Catalog, product_id: str) -> tuple[int, int]:
    rows = await catalog.sql("SELECT stock, reserved FROM products WHERE id = :id", id=product_id)
    return rows[0][0], rows[0][1]


async def test_two_hundred_buyers_race_for_the_last_ten_units(catalog: Catalog) -> None:
    seller, _ = await catalog.seller()
    product = await catalog.create(seller, stock=10)
    service = await catalog.service()

    async def attempt() -> str:
        try:
            await catalog.stub.ReserveStock(reserve_request((product, 1)), metadata=service, timeout=60)
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
            return str(error_info(error).reason)
        return "OK"

    outcomes = await asyncio.gather(*(attempt() for _ in range(200)))
    assert outcomes.count("OK") == 10
    assert outcomes.count("OUT_OF_STOCK") == 190
    assert await stock_of(catalog, product.id) == (10, 10)
    assert await catalog.sql("SELECT count(*) FROM reservations WHERE status = 'HELD'") == [(10,)]
    shown = await catalog.stub.GetProduct(catalog_pb2.GetProductRequest(id=product.id))
    assert shown.product.stock == 0


async def test_a_reservation_is_all_or_nothing_and_names_the_short_product(catalog: Catalog) -> None:
    seller, _ = await catalog.seller()
    plenty = await catalog.create(seller, stock=50)
    scarce = await catalog.create(seller, stock=2)
    service = await catalog.service()
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await catalog.stub.ReserveStock(reserve_request((plenty, 5), (scarce, 3)), metadata=service)
    info = error_info(refused.value)
    assert (info.reason, info.metadata["product_id"], info.metadata["available"]) == ("OUT_OF_STOCK", scarce.id, "2")
    assert await stock_of(catalog, plenty.id) == (50, 0)
    assert await stock_of(catalog, scarce.id) == (2, 0)
    assert await catalog.sql("SELECT count(*) FROM reservations") == [(0,)]

    request = reserve_request((scarce, 2), (plenty, 5))
    reserved = await catalog.stub.ReserveStock(request, metadata=service)
    assert [(item.product_id, item.quantity) for item in reserved.items] == [(scarce.id, 2), (plenty.id, 5)]
    assert reserved.items[0].unit_price.units == 1999 and reserved.items[0].sku == scarce.sku
    # The same reservation id again: the same answer, nothing reserved twice.
    repeated = await catalog.stub.ReserveStock(request, metadata=service)
    assert repeated.items == reserved.items and repeated.expire_time == reserved.expire_time
    assert await stock_of(catalog, plenty.id) == (50, 5)


async def test_unknown_or_hidden_products_cannot_be_reserved(catalog: Catalog) -> None:
    seller, _ = await catalog.seller()
    product = await catalog.create(seller, stock=5)
    await catalog.stub.DeleteProduct(catalog_pb2.DeleteProductRequest(id=product.id), metadata=seller)
    service = await catalog.service()
    for target in (product, str(uuid.uuid4())):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await catalog.stub.ReserveStock(reserve_request((target, 1)), metadata=service)
        assert error_info(refused.value).reason == "PRODUCT_UNAVAILABLE"


async def test_only_services_reserve(catalog: Catalog) -> None:
    seller, _ = await catalog.seller()
    product = await catalog.create(seller, stock=5)
    for metadata in (seller, (await catalog.buyer())[0]):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await catalog.stub.ReserveStock(reserve_request((product, 1)), metadata=metadata)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as anonymous:
        await catalog.stub.ReserveStock(reserve_request((product, 1)))
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert await stock_of(catalog, product.id) == (5, 0)


async def test_commit_and_release_are_idempotent(catalog: Catalog) -> None:
    seller, _ = await catalog.seller()
    product = await catalog.create(seller, stock=10)
    service = await catalog.service()
    paid = reserve_request((product, 3))
    await catalog.stub.ReserveStock(paid, metadata=service)
    commit = catalog_pb2.CommitReservationRequest(reservation_id=paid.reservation_id)
    await catalog.stub.CommitReservation(commit, metadata=service)
    await catalog.stub.CommitReservation(commit, metadata=service)
    assert await stock_of(catalog, product.id) == (7, 0)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await catalog.stub.ReleaseReservation(
            catalog_pb2.ReleaseReservationRequest(reservation_id=paid.reservation_id), metadata=service
        )
    assert error_info(refused.value).reason == "RESERVATION_COMMITTED"

    cancelled = reserve_request((product, 4))
    await catalog.stub.ReserveStock(cancelled, metadata=service)
    assert await stock_of(catalog, product.id) == (7, 4)
    release = catalog_pb2.ReleaseReservationRequest(reservation_id=cancelled.reservation_id)
    await catalog.stub.ReleaseReservation(release, metadata=service)
    await catalog.stub.ReleaseReservation(release, metadata=service)
    assert await stock_of(catalog, product.id) == (7, 0)
    with pytest.raises(grpc.aio.AioRpcError) as late:
        await catalog.stub.CommitReservation(
            catalog_pb2.CommitReservationRequest(reservation_id=cancelled.reservation_id), metadata=service
        )
    assert error_info(late.value).reason == "RESERVATION_RELEASED"
    # Releasing an unknown reservation succeeds; committing one is NOT_FOUND.
    unknown = str(uuid.uuid4())
    await catalog.stub.ReleaseReservation(
        catalog_pb2.ReleaseReservationRequest(reservation_id=unknown), metadata=service
    )
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await catalog.stub.CommitReservation(
            catalog_pb2.CommitReservationRequest(reservation_id=unknown), metadata=service
        )
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    sold = await catalog.sql(
        "SELECT count(*) FROM outbox WHERE type = 'marketplace.events.v1.StockChanged' AND subject = :id", id=product.id
    )
    assert sold == [(4,)]  # reserved, sold, reserved, released: each once


async def test_an_expired_reservation_frees_its_stock_by_itself(catalog: Catalog) -> None:
    seller, _ = await catalog.seller()
    product = await catalog.create(seller, stock=3)
    service = await catalog.service()
    request = reserve_request((product, 3), ttl_seconds=60)
    await catalog.stub.ReserveStock(request, metadata=service)
    assert await stock_of(catalog, product.id) == (3, 3)
    # The shortest ttl the contract allows is a minute: move the expiry into the past instead of waiting.
    await catalog.sql(
        "UPDATE reservations SET expires_at = now() - interval '1 second' WHERE id = :id", id=request.reservation_id
    )

    async def freed() -> bool:
        return await stock_of(catalog, product.id) == (3, 0)

    await eventually(freed)
    assert await catalog.sql("SELECT status FROM reservations WHERE id = :id", id=request.reservation_id) == [
        ("EXPIRED",)
    ]
    with pytest.raises(grpc.aio.AioRpcError) as late:
        await catalog.stub.CommitReservation(
            catalog_pb2.CommitReservationRequest(reservation_id=request.reservation_id), metadata=service
        )
    assert error_info(late.value).reason == "RESERVATION_RELEASED"


async def _publish_order_event(catalog: Catalog, payload: Any) -> None:
    redis = catalog.running.runtime.redis
    assert redis is not None
    envelope = make_envelope("order", payload.order_id, payload)
    await redis.xadd(catalog.settings.catalog_order_events_stream, {"envelope": envelope.SerializeToString()})


async def test_order_events_commit_and_release_reservations_once(catalog: Catalog) -> None:
    seller, _ = await catalog.seller()
    product = await catalog.create(seller, stock=10)
    service = await catalog.service()
    paid = reserve_request((product, 2))
    cancelled = reserve_request((product, 5))
    for request in (paid, cancelled):
        await catalog.stub.ReserveStock(request, metadata=service)
    assert await stock_of(catalog, product.id) == (10, 7)

    paid_event = events_pb2.OrderPaid(order_id=paid.order_id, reservation_id=paid.reservation_id)
    cancelled_event = events_pb2.OrderCancelled(order_id=cancelled.order_id, reservation_id=cancelled.reservation_id)
    for payload in (paid_event, cancelled_event):
        envelope = make_envelope("order", payload.order_id, payload)
        redis = catalog.running.runtime.redis
        assert redis is not None
        # The same event delivered twice (a relay retry): handled once.
        for _ in range(2):
            await redis.xadd(catalog.settings.catalog_order_events_stream, {"envelope": envelope.SerializeToString()})
    # And the same facts as new events (another producer's retry): still idempotent.
    await _publish_order_event(catalog, paid_event)
    await _publish_order_event(catalog, cancelled_event)

    async def settled() -> bool:
        statuses = await catalog.sql("SELECT id, status FROM reservations ORDER BY status")
        return sorted(status for _, status in statuses) == ["COMMITTED", "RELEASED"]

    await eventually(settled)

    async def all_handled() -> bool:
        rows = await catalog.sql("SELECT count(*) FROM inbox")
        return bool(rows[0][0] == 4)

    await eventually(all_handled)
    assert await stock_of(catalog, product.id) == (8, 0)
