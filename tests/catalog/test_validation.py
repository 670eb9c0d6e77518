"""Every rule of the catalog contract, through the real server: INVALID_ARGUMENT naming the field, nothing written."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.field_mask_pb2 import FieldMask

from marketplace.catalog.v1 import catalog_pb2
from marketplace.common.v1 import money_pb2
from tests.catalog.conftest import Catalog
from tests.kit.rpc.support import field_violations

# An enum number the contract does not define.
UNDEFINED: Any = 9
ID = "0190a5d2-7c1e-7000-8000-000000000001"


def product(**overrides: Any) -> catalog_pb2.Product:
    values: dict[str, Any] = {
        "sku": "GOOD-1",
        "title": "Good title",
        "category": "kitchen",
        "price": money_pb2.Money(currency_code="USD", units=100),
    }
    values.update(overrides)
    return catalog_pb2.Product(**values)


def create(**overrides: Any) -> catalog_pb2.CreateProductRequest:
    return catalog_pb2.CreateProductRequest(product=product(**overrides), request_id=str(uuid.uuid4()))


def update(mask: list[str], **overrides: Any) -> catalog_pb2.UpdateProductRequest:
    return catalog_pb2.UpdateProductRequest(
        product=catalog_pb2.Product(id=ID, **overrides), update_mask=FieldMask(paths=mask)
    )


def reserve(items: list[tuple[str, int]], **overrides: Any) -> catalog_pb2.ReserveStockRequest:
    values: dict[str, Any] = {"reservation_id": str(uuid.uuid4()), "order_id": str(uuid.uuid4())}
    values.update(overrides)
    return catalog_pb2.ReserveStockRequest(
        items=[catalog_pb2.ReservationItem(product_id=p, variant_id=p, quantity=q) for p, q in items], **values
    )


def listing(**filter_values: Any) -> catalog_pb2.ListProductsRequest:
    return catalog_pb2.ListProductsRequest(filter=catalog_pb2.ProductFilter(**filter_values))


USD = money_pb2.Money
CASES: list[tuple[str, str, Callable[[], Any], str]] = [
    # (rpc, case, request, expected field path fragment)
    ("CreateProduct", "sku with a space", lambda: create(sku="bad sku"), "product.sku"),
    ("CreateProduct", "sku too long", lambda: create(sku="A" * 65), "product.sku"),
    ("CreateProduct", "sku missing", lambda: create(sku=""), "product"),
    ("CreateProduct", "title missing", lambda: create(title=""), "product"),
    ("CreateProduct", "title too long", lambda: create(title="t" * 201), "product.title"),
    ("CreateProduct", "description too long", lambda: create(description="d" * 5001), "product.description"),
    ("CreateProduct", "category not a slug", lambda: create(category="Home Goods"), "product.category"),
    ("CreateProduct", "category missing", lambda: create(category=""), "product"),
    ("CreateProduct", "brand too long", lambda: create(brand="b" * 101), "product.brand"),
    ("CreateProduct", "attribute key", lambda: create(attributes={"Colour!": "red"}), "product.attributes"),
    ("CreateProduct", "attribute value", lambda: create(attributes={"color": "r" * 201}), "product.attributes"),
    (
        "CreateProduct",
        "too many attributes",
        lambda: create(attributes={f"k{i}": "v" for i in range(33)}),
        "product.attributes",
    ),
    ("CreateProduct", "negative stock", lambda: create(stock=-1), "product.stock"),
    ("CreateProduct", "huge stock", lambda: create(stock=1_000_001), "product.stock"),
    ("CreateProduct", "unknown status", lambda: create(status=99), "product.status"),
    ("CreateProduct", "zero price", lambda: create(price=USD(currency_code="USD", units=0)), "product"),
    (
        "CreateProduct",
        "no price",
        lambda: catalog_pb2.CreateProductRequest(
            product=catalog_pb2.Product(sku="A1", title="t", category="c"), request_id=str(uuid.uuid4())
        ),
        "product",
    ),
    (
        "CreateProduct",
        "bad currency",
        lambda: create(price=USD(currency_code="usd", units=5)),
        "product.price.currency_code",
    ),
    (
        "CreateProduct",
        "negative price",
        lambda: create(price=USD(currency_code="USD", units=-5)),
        "product.price.units",
    ),
    (
        "CreateProduct",
        "request id",
        lambda: catalog_pb2.CreateProductRequest(product=product(), request_id="not-a-uuid"),
        "request_id",
    ),
    ("CreateProduct", "no product", lambda: catalog_pb2.CreateProductRequest(request_id=str(uuid.uuid4())), "product"),
    ("UpdateProduct", "empty mask", lambda: update([], title="x"), "update_mask"),
    ("UpdateProduct", "stock in mask", lambda: update(["stock"], stock=5), "update_mask"),
    ("UpdateProduct", "clear title", lambda: update(["title"], title=""), ""),
    ("UpdateProduct", "archive by update", lambda: update(["status"], status=3), ""),
    ("UpdateProduct", "zero price", lambda: update(["price"], price=USD(currency_code="USD", units=0)), ""),
    (
        "UpdateProduct",
        "no id",
        lambda: catalog_pb2.UpdateProductRequest(
            product=catalog_pb2.Product(title="x"), update_mask=FieldMask(paths=["title"])
        ),
        "product",
    ),
    ("GetProduct", "id", lambda: catalog_pb2.GetProductRequest(id="42"), "id"),
    ("DeleteProduct", "id", lambda: catalog_pb2.DeleteProductRequest(id="42"), "id"),
    ("ListProducts", "page size", lambda: catalog_pb2.ListProductsRequest(page_size=101), "page_size"),
    (
        "ListProducts",
        "relevance",
        lambda: catalog_pb2.ListProductsRequest(order_by=catalog_pb2.PRODUCT_ORDER_RELEVANCE),
        "order_by",
    ),
    ("ListProducts", "page token", lambda: catalog_pb2.ListProductsRequest(page_token="x" * 1025), "page_token"),
    ("ListProducts", "category", lambda: listing(category="Not A Slug"), "filter.category"),
    ("ListProducts", "seller", lambda: listing(seller_id="someone"), "filter.seller_id"),
    (
        "ListProducts",
        "price range",
        lambda: listing(min_price=USD(currency_code="USD", units=500), max_price=USD(currency_code="USD", units=100)),
        "filter",
    ),
    (
        "ListProducts",
        "mixed currencies",
        lambda: listing(min_price=USD(currency_code="USD", units=1), max_price=USD(currency_code="EUR", units=100)),
        "filter",
    ),
    ("ListProducts", "attribute filter", lambda: listing(attributes={"Bad Key": "x"}), "filter.attributes"),
    ("SearchProducts", "empty query", lambda: catalog_pb2.SearchProductsRequest(query=""), "query"),
    ("SearchProducts", "long query", lambda: catalog_pb2.SearchProductsRequest(query="q" * 501), "query"),
    ("SearchProducts", "mode", lambda: catalog_pb2.SearchProductsRequest(query="mug", mode=UNDEFINED), "mode"),
    ("ListMyProducts", "status", lambda: catalog_pb2.ListMyProductsRequest(status=UNDEFINED), "status"),
    (
        "AddProductImage",
        "gif type",
        lambda: catalog_pb2.AddProductImageRequest(
            product_id=ID, content=b"GIF89a", file_name="a.gif", content_type="image/gif"
        ),
        "content_type",
    ),
    (
        "AddProductImage",
        "path in name",
        lambda: catalog_pb2.AddProductImageRequest(
            product_id=ID, content=b"x", file_name="../a.png", content_type="image/png"
        ),
        "file_name",
    ),
    (
        "AddProductImage",
        "empty",
        lambda: catalog_pb2.AddProductImageRequest(
            product_id=ID, content=b"", file_name="a.png", content_type="image/png"
        ),
        "content",
    ),
    (
        "DeleteProductImage",
        "image id",
        lambda: catalog_pb2.DeleteProductImageRequest(product_id=ID, image_id="7"),
        "image_id",
    ),
    ("AdjustStock", "zero delta", lambda: catalog_pb2.AdjustStockRequest(id=ID, delta=0, reason="x"), "delta"),
    ("AdjustStock", "huge delta", lambda: catalog_pb2.AdjustStockRequest(id=ID, delta=2_000_000, reason="x"), "delta"),
    ("AdjustStock", "no reason", lambda: catalog_pb2.AdjustStockRequest(id=ID, delta=1, reason=""), "reason"),
    ("WatchProduct", "id", lambda: catalog_pb2.WatchProductRequest(id="x"), "id"),
    ("ReserveStock", "no items", lambda: reserve([]), "items"),
    ("ReserveStock", "zero quantity", lambda: reserve([(ID, 0)]), "items"),
    ("ReserveStock", "too many units", lambda: reserve([(ID, 1000)]), "items"),
    ("ReserveStock", "same variant twice", lambda: reserve([(ID, 1), (ID, 2)]), "items"),
    ("ReserveStock", "short ttl", lambda: reserve([(ID, 1)], ttl=Duration(seconds=30)), "ttl"),
    ("ReserveStock", "order id", lambda: reserve([(ID, 1)], order_id="o-1"), "order_id"),
    ("ReleaseReservation", "id", lambda: catalog_pb2.ReleaseReservationRequest(reservation_id="r"), "reservation_id"),
    ("CommitReservation", "id", lambda: catalog_pb2.CommitReservationRequest(reservation_id="r"), "reservation_id"),
]


@pytest.fixture
async def callers(catalog: Catalog) -> dict[str, Any]:
    seller, _ = await catalog.seller()
    return {"seller": seller, "service": await catalog.service()}


async def _call(catalog: Catalog, rpc: str, request: Any, metadata: Any) -> None:
    method = getattr(catalog.stub, rpc)
    if rpc == "WatchProduct":
        async for _ in method(request, metadata=metadata):
            pass
    else:
        await method(request, metadata=metadata)


async def test_every_rule_refuses_with_the_field_named_and_writes_nothing(
    catalog: Catalog, callers: dict[str, Any]
) -> None:
    internal = {"ReserveStock", "ReleaseReservation", "CommitReservation"}
    failures = []
    for rpc, case, make, field in CASES:
        metadata = callers["service"] if rpc in internal else callers["seller"]
        try:
            await _call(catalog, rpc, make(), metadata)
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.INVALID_ARGUMENT:
                failures.append(f"{rpc} {case}: {error.code()}")
                continue
            violations = field_violations(error)
            if not any(path.startswith(field) for path in violations):
                failures.append(f"{rpc} {case}: fields {sorted(violations)} do not name {field!r}")
            continue
        failures.append(f"{rpc} {case}: accepted")
    assert failures == []
    for table in ("products", "product_images", "reservations", "outbox"):
        assert await catalog.sql(f"SELECT count(*) FROM {table}") == [(0,)], table
