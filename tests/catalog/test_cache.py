"""GetProduct's product cache: fresh after this process's writes at once, after another's through the event tail."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from redis.asyncio import Redis

from marketplace.catalog.v1 import catalog_pb2
from marketplace.events.v1 import events_pb2
from services.catalog.cache import ProductCache
from services.kit.outbox import make_envelope, stream_for
from services.kit.protos import Serialized, passing_serialized
from tests.catalog.conftest import Catalog
from tests.support.polling import eventually

# --- the cache on its own -------------------------------------------------------------------------------------


def test_a_read_that_began_before_an_invalidation_does_not_store_its_copy() -> None:
    cache: ProductCache[str] = ProductCache()
    # A reader takes the generation, then loads the old row...
    generation = cache.generation("p1")
    # ...meanwhile a change is committed and invalidates the product...
    cache.invalidate("p1")
    # ...and the reader's old copy is refused.
    assert not cache.put("p1", "old row", generation)
    assert cache.get("p1") is None
    # A read that begins after the invalidation stores normally.
    assert cache.put("p1", "new row", cache.generation("p1"))
    assert cache.get("p1") == "new row"


def test_a_read_that_began_before_a_clear_does_not_store_its_copy() -> None:
    cache: ProductCache[str] = ProductCache()
    generation = cache.generation("p1")
    cache.clear()
    assert not cache.put("p1", "old row", generation)
    assert cache.get("p1") is None


def test_invalidating_one_product_leaves_the_others() -> None:
    cache: ProductCache[str] = ProductCache()
    assert cache.put("p1", "one", cache.generation("p1"))
    generation_of_p2 = cache.generation("p2")
    cache.invalidate("p1")
    assert cache.put("p2", "two", generation_of_p2)
    assert (cache.get("p1"), cache.get("p2")) == (None, "two")


def test_entries_expire_after_the_ttl() -> None:
    now = [100.0]
    cache: ProductCache[str] = ProductCache(ttl_seconds=30, clock=lambda: now[0])
    cache.put("p1", "one", cache.generation("p1"))
    now[0] += 29.9
    assert cache.get("p1") == "one"
    now[0] += 0.2
    assert cache.get("p1") is None
    assert len(cache) == 0


def test_the_least_recently_used_entry_makes_room() -> None:
    cache: ProductCache[str] = ProductCache(max_entries=2)
    for product_id in ("p1", "p2"):
        cache.put(product_id, product_id, cache.generation(product_id))
    assert cache.get("p1") == "p1"  # p2 is now the least recently used
    cache.put("p3", "p3", cache.generation("p3"))
    assert (cache.get("p1"), cache.get("p2"), cache.get("p3")) == ("p1", None, "p3")
    assert len(cache) == 2


def test_a_cache_of_size_zero_stores_nothing() -> None:
    cache: ProductCache[str] = ProductCache(max_entries=0)
    assert not cache.put("p1", "one", cache.generation("p1"))
    assert cache.get("p1") is None


# --- the service ------------------------------------------------------------------------------------------


async def get_title(catalog: Catalog, product_id: str, metadata: Any = ()) -> str:
    response = await catalog.stub.GetProduct(catalog_pb2.GetProductRequest(id=product_id), metadata=metadata)
    return str(response.product.title)


async def serve_stale_title(catalog: Catalog, product_id: str, cached: str, stored: str) -> None:
    """Makes GetProduct serve `cached` from the cache while the row's title is `stored`.

    The row is changed behind the service's back (no event), so only a cached copy shows the old title. First
    the product's creation event must have gone through the tail (it invalidates what was cached before).
    """

    async def creation_published() -> bool:
        rows = await catalog.sql("SELECT 1 FROM outbox WHERE subject = :id AND published_at IS NULL", id=product_id)
        return not rows

    await eventually(creation_published)
    await asyncio.sleep(0.3)  # the tail is blocked in XREAD: it gets the event as soon as it is added
    await catalog.sql("UPDATE products SET title = :title WHERE id = :id", title=cached, id=product_id)
    assert await get_title(catalog, product_id) == cached
    await catalog.sql("UPDATE products SET title = :title WHERE id = :id", title=stored, id=product_id)
    assert await get_title(catalog, product_id) == cached


async def test_a_cached_product_shows_this_process_s_update_at_once(catalog: Catalog) -> None:
    seller, _ = await catalog.seller()
    product = await catalog.create(seller, title="Original title")
    await serve_stale_title(catalog, product.id, "Original title", "Changed in SQL")

    await catalog.stub.UpdateProduct(
        catalog_pb2.UpdateProductRequest(
            product=catalog_pb2.Product(id=product.id, title="Renamed by the seller"),
            update_mask=FieldMask(paths=["title"]),
        ),
        metadata=seller,
    )
    assert await get_title(catalog, product.id) == "Renamed by the seller"

    await catalog.stub.AdjustStock(
        catalog_pb2.AdjustStockRequest(id=product.id, delta=-3, reason="count"), metadata=seller
    )
    response = await catalog.stub.GetProduct(catalog_pb2.GetProductRequest(id=product.id))
    assert response.product.stock == product.stock - 3


async def test_another_process_s_change_arrives_through_the_event_tail(catalog: Catalog, infra: Any) -> None:
    seller, seller_id = await catalog.seller()
    product = await catalog.create(seller, title="Before")
    # Another catalog process commits a change: the row, then its event (as its relay would publish it).
    await serve_stale_title(catalog, product.id, "Before", "After")
    redis = Redis.from_url(infra.redis_url)
    try:
        event = events_pb2.ProductUpdated(
            product=events_pb2.ProductSnapshot(id=product.id, seller_id=seller_id, title="After"),
            changed_fields=["title"],
        )
        envelope = make_envelope("catalog", product.id, event)
        await redis.xadd(stream_for("catalog"), {"envelope": envelope.SerializeToString()})

        async def renamed() -> bool:
            return await get_title(catalog, product.id) == "After"

        await eventually(renamed, timeout=5)
    finally:
        await redis.aclose()


async def test_a_deleted_product_is_no_longer_served(catalog: Catalog) -> None:
    seller, _ = await catalog.seller()
    product = await catalog.create(seller)
    await get_title(catalog, product.id)
    await catalog.stub.DeleteProduct(catalog_pb2.DeleteProductRequest(id=product.id), metadata=seller)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await get_title(catalog, product.id)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_deactivated_product_is_no_longer_served_to_buyers(catalog: Catalog) -> None:
    seller, _ = await catalog.seller()
    buyer, _ = await catalog.buyer()
    product = await catalog.create(seller)
    await get_title(catalog, product.id, buyer)
    await catalog.stub.UpdateProduct(
        catalog_pb2.UpdateProductRequest(
            product=catalog_pb2.Product(id=product.id, status=catalog_pb2.PRODUCT_STATUS_INACTIVE),
            update_mask=FieldMask(paths=["status"]),
        ),
        metadata=seller,
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await get_title(catalog, product.id, buyer)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    # The seller still sees it (not cached: visibility depends on the caller).
    seen = await catalog.stub.GetProduct(catalog_pb2.GetProductRequest(id=product.id), metadata=seller)
    assert seen.product.status == catalog_pb2.PRODUCT_STATUS_INACTIVE
    with pytest.raises(grpc.aio.AioRpcError):
        await get_title(catalog, product.id, buyer)


async def test_a_cached_answer_is_the_same_message_as_a_fresh_one(catalog: Catalog) -> None:
    seller, _ = await catalog.seller()
    product = await catalog.create(
        seller, options=[catalog_pb2.ProductOption(name="size", values=["S", "M", "L"])], stock=4
    )
    request = catalog_pb2.GetProductRequest(id=product.id)
    fresh = await catalog.stub.GetProduct(request)
    cached = await catalog.stub.GetProduct(request)  # served from the cache's bytes
    assert cached == fresh and len(cached.product.variants) == 3


def test_serialized_responses_pass_the_serializer_unchanged() -> None:
    serialize = passing_serialized(lambda message: b"serialized:" + message.encode())
    assert serialize is not None
    assert serialize(Serialized(b"\x0a\x01x")) == b"\x0a\x01x"
    assert serialize("text") == b"serialized:text"
    assert passing_serialized(None) is None
