"""Product events in the outbox (and on the stream), and WatchProduct."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from marketplace.catalog.v1 import catalog_pb2
from marketplace.common.v1 import money_pb2
from marketplace.events.v1 import envelope_pb2, events_pb2
from tests.catalog.conftest import Catalog
from tests.support.polling import eventually


async def outbox_events(catalog: Catalog, product_id: str) -> list[tuple[str, envelope_pb2.Envelope]]:
    rows = await catalog.sql("SELECT type, envelope FROM outbox WHERE subject = :id ORDER BY position", id=product_id)
    found = []
    for kind, raw in rows:
        envelope = envelope_pb2.Envelope()
        envelope.ParseFromString(raw)
        found.append((kind.rsplit(".", 1)[-1], envelope))
    return found


async def test_every_product_change_writes_its_event(catalog: Catalog) -> None:
    seller, seller_id = await catalog.seller()
    product = await catalog.create(seller, stock=8, price=1000)
    await catalog.stub.UpdateProduct(
        catalog_pb2.UpdateProductRequest(
            product=catalog_pb2.Product(id=product.id, price=money_pb2.Money(currency_code="USD", units=900)),
            update_mask=FieldMask(paths=["price"]),
        ),
        metadata=seller,
    )
    await catalog.stub.AdjustStock(
        catalog_pb2.AdjustStockRequest(id=product.id, delta=-4, reason="count"), metadata=seller
    )
    await catalog.stub.AdjustStock(
        catalog_pb2.AdjustStockRequest(id=product.id, delta=10, reason="restock"), metadata=seller
    )
    await catalog.stub.DeleteProduct(catalog_pb2.DeleteProductRequest(id=product.id), metadata=seller)

    events = await outbox_events(catalog, product.id)
    assert [kind for kind, _ in events] == [
        "ProductCreated",
        "ProductUpdated",
        "StockChanged",
        "StockChanged",
        "ProductDeleted",
    ]
    created = events_pb2.ProductCreated()
    assert events[0][1].payload.Unpack(created)
    assert (created.product.id, created.product.seller_id, created.product.stock) == (product.id, seller_id, 8)
    updated = events_pb2.ProductUpdated()
    assert events[1][1].payload.Unpack(updated)
    assert list(updated.changed_fields) == ["price"] and updated.product.price.units == 900
    low, restocked = events_pb2.StockChanged(), events_pb2.StockChanged()
    assert events[2][1].payload.Unpack(low) and events[3][1].payload.Unpack(restocked)
    assert (low.old_stock, low.new_stock, low.available, low.low_stock) == (8, 4, 4, True)
    assert (restocked.new_stock, restocked.available, restocked.low_stock) == (14, 14, False)
    assert low.reason == events_pb2.STOCK_CHANGE_REASON_ADJUSTMENT
    deleted = events_pb2.ProductDeleted()
    assert events[4][1].payload.Unpack(deleted)
    assert (deleted.product_id, deleted.sku) == (product.id, product.sku)

    # The relay publishes them to the catalog's stream.
    redis = catalog.running.runtime.redis
    assert redis is not None

    async def published() -> bool:
        rows = await catalog.sql(
            "SELECT count(*) FROM outbox WHERE subject = :id AND published_at IS NULL", id=product.id
        )
        return bool(rows[0][0] == 0)

    await eventually(published)
    entries = await redis.xrevrange("events.catalog", count=50)
    subjects = set()
    for _, fields in entries:
        envelope = envelope_pb2.Envelope()
        envelope.ParseFromString(fields[b"envelope"])
        subjects.add(envelope.subject)
    assert product.id in subjects


async def test_watch_product_streams_the_current_state_then_each_change(catalog: Catalog) -> None:
    seller, _ = await catalog.seller()
    product = await catalog.create(seller, stock=6, price=1200)
    stream = catalog.stub.WatchProduct(catalog_pb2.WatchProductRequest(id=product.id))
    iterator = stream.__aiter__()
    first = await asyncio.wait_for(iterator.__anext__(), 5)
    assert (first.price.units, first.stock, first.status) == (1200, 6, catalog_pb2.PRODUCT_STATUS_ACTIVE)

    await catalog.stub.UpdateProduct(
        catalog_pb2.UpdateProductRequest(
            product=catalog_pb2.Product(id=product.id, price=money_pb2.Money(currency_code="USD", units=999)),
            update_mask=FieldMask(paths=["price"]),
        ),
        metadata=seller,
    )
    price_change = await asyncio.wait_for(iterator.__anext__(), 5)
    assert (price_change.price.units, price_change.stock) == (999, 6)

    service = await catalog.service()
    await catalog.stub.ReserveStock(
        catalog_pb2.ReserveStockRequest(
            reservation_id=str(uuid.uuid4()),
            order_id=str(uuid.uuid4()),
            items=[catalog_pb2.ReservationItem(product_id=product.id, variant_id=product.variants[0].id, quantity=2)],
        ),
        metadata=service,
    )
    stock_change = await asyncio.wait_for(iterator.__anext__(), 5)
    assert (stock_change.price.units, stock_change.stock) == (999, 4)

    await catalog.stub.DeleteProduct(catalog_pb2.DeleteProductRequest(id=product.id), metadata=seller)
    archived = await asyncio.wait_for(iterator.__anext__(), 5)
    assert archived.status == catalog_pb2.PRODUCT_STATUS_ARCHIVED
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(iterator.__anext__(), 5)
    assert stream.code is not None and await stream.code() == grpc.StatusCode.OK


async def test_watching_an_unknown_product_is_not_found(catalog: Catalog) -> None:
    stream = catalog.stub.WatchProduct(catalog_pb2.WatchProductRequest(id=str(uuid.uuid4())))
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        async for _ in stream:
            pass
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
