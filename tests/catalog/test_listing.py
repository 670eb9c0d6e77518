"""ListProducts (filters, orders, pages), ListMyProducts and ListCategories through the real service."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from marketplace.auth.v1 import auth_pb2
from marketplace.catalog.v1 import catalog_pb2
from marketplace.common.v1 import money_pb2
from tests.catalog.conftest import Catalog
from tests.kit.rpc.support import field_violations
from tests.support.auth import bearer


async def all_pages(catalog: Catalog, request: catalog_pb2.ListProductsRequest) -> list[catalog_pb2.Product]:
    found: list[catalog_pb2.Product] = []
    while True:
        page = await catalog.stub.ListProducts(request)
        assert len(page.products) <= request.page_size
        found.extend(page.products)
        if not page.next_page_token:
            return found
        request.page_token = page.next_page_token


async def test_pages_cover_every_product_once_in_each_order(catalog: Catalog) -> None:
    seller, _ = await catalog.seller()
    other, other_id = await catalog.seller()
    made = []
    for index in range(23):
        # Repeated prices and titles: ties are broken by id, so no page repeats or skips one.
        made.append(
            await catalog.create(
                seller if index % 3 else other,
                title=f"Item {index % 5}",
                price=100 * (index % 4 + 1),
                category="kitchen" if index % 2 else "garden",
                stock=index % 3,
            )
        )
    ids = {product.id for product in made}
    for order, key, descending in (
        (catalog_pb2.PRODUCT_ORDER_NEWEST, lambda p: (p.create_time.ToDatetime(), p.id), True),
        (catalog_pb2.PRODUCT_ORDER_PRICE_ASCENDING, lambda p: (p.price.units, p.id), False),
        (catalog_pb2.PRODUCT_ORDER_PRICE_DESCENDING, lambda p: (p.price.units, p.id), True),
        (catalog_pb2.PRODUCT_ORDER_TITLE, lambda p: (p.title, p.id), False),
    ):
        listed = await all_pages(catalog, catalog_pb2.ListProductsRequest(order_by=order, page_size=4))
        assert [p.id for p in listed] == [p.id for p in sorted(listed, key=key, reverse=descending)]
        assert len(listed) == len(ids) and {p.id for p in listed} == ids

    cheap_kitchen_in_stock = await all_pages(
        catalog,
        catalog_pb2.ListProductsRequest(
            page_size=3,
            filter=catalog_pb2.ProductFilter(
                category="kitchen",
                in_stock=True,
                min_price=money_pb2.Money(currency_code="USD", units=200),
                max_price=money_pb2.Money(currency_code="USD", units=300),
            ),
        ),
    )
    expected = {p.id for p in made if p.category == "kitchen" and p.stock > 0 and 200 <= p.price.units <= 300}
    assert expected and {p.id for p in cheap_kitchen_in_stock} == expected
    by_seller = await all_pages(
        catalog, catalog_pb2.ListProductsRequest(page_size=50, filter=catalog_pb2.ProductFilter(seller_id=other_id))
    )
    assert {p.id for p in by_seller} == {p.id for p in made if p.seller_id == other_id}

    categories = await catalog.stub.ListCategories(catalog_pb2.ListCategoriesRequest())
    assert [(c.name, c.product_count) for c in categories.categories] == [("garden", 12), ("kitchen", 11)]


async def test_a_page_token_belongs_to_its_filters(catalog: Catalog) -> None:
    seller, _ = await catalog.seller()
    for _ in range(3):
        await catalog.create(seller)
    first = await catalog.stub.ListProducts(catalog_pb2.ListProductsRequest(page_size=1))
    assert first.next_page_token
    for request in (
        catalog_pb2.ListProductsRequest(
            page_size=1, page_token=first.next_page_token, order_by=catalog_pb2.PRODUCT_ORDER_PRICE_ASCENDING
        ),
        catalog_pb2.ListProductsRequest(page_size=1, page_token="garbage!"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await catalog.stub.ListProducts(request)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "page_token" in field_violations(refused.value)
    # A token of one list continues no other list, whatever service it goes to.
    admin = bearer(await catalog.auth.admin_token())
    other_lists = [
        catalog.stub.ListMyProducts(
            catalog_pb2.ListMyProductsRequest(page_size=1, page_token=first.next_page_token), metadata=seller
        ),
        catalog.stub.SearchProducts(
            catalog_pb2.SearchProductsRequest(query="mug", page_size=1, page_token=first.next_page_token)
        ),
        catalog.auth.stub.ListUsers(
            auth_pb2.ListUsersRequest(page_size=1, page_token=first.next_page_token), metadata=admin
        ),
    ]
    for call in other_lists:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "page_token" in field_violations(refused.value)


async def test_my_products_include_inactive_ones_and_categories_count_active_only(catalog: Catalog) -> None:
    seller, _ = await catalog.seller()
    someone_else, _ = await catalog.seller()
    kept = await catalog.create(seller, category="shoes")
    hidden = await catalog.create(seller, category="shoes")
    archived = await catalog.create(seller, category="hats")
    await catalog.create(someone_else, category="shoes")
    await catalog.stub.UpdateProduct(
        catalog_pb2.UpdateProductRequest(
            product=catalog_pb2.Product(id=hidden.id, status=catalog_pb2.PRODUCT_STATUS_INACTIVE),
            update_mask=FieldMask(paths=["status"]),
        ),
        metadata=seller,
    )
    await catalog.stub.DeleteProduct(catalog_pb2.DeleteProductRequest(id=archived.id), metadata=seller)
    mine = await catalog.stub.ListMyProducts(catalog_pb2.ListMyProductsRequest(), metadata=seller)
    assert [p.id for p in mine.products] == [hidden.id, kept.id]
    only_archived = await catalog.stub.ListMyProducts(
        catalog_pb2.ListMyProductsRequest(status=catalog_pb2.PRODUCT_STATUS_ARCHIVED), metadata=seller
    )
    assert [p.id for p in only_archived.products] == [archived.id]
    categories = await catalog.stub.ListCategories(catalog_pb2.ListCategoriesRequest())
    assert [(c.name, c.product_count) for c in categories.categories] == [("shoes", 2)]


async def test_search_products_returns_hits_with_products_and_respects_filters(catalog: Catalog) -> None:
    seller, _ = await catalog.seller()
    mug = await catalog.create(seller, title="Insulated travel mug", category="kitchen", price=2500)
    await catalog.create(seller, title="Garden hose", description="Green rubber hose", category="garden", price=3000)
    cheap_only = catalog_pb2.ProductFilter(max_price=money_pb2.Money(currency_code="USD", units=2000))

    async def search(query: str, **fields: object) -> catalog_pb2.SearchProductsResponse:
        response: catalog_pb2.SearchProductsResponse = await catalog.stub.SearchProducts(
            catalog_pb2.SearchProductsRequest(query=query, **fields)  # type: ignore[arg-type]
        )
        return response

    found = await search("insulated mug", mode=catalog_pb2.SEARCH_MODE_LEXICAL)
    assert found.hits and found.hits[0].product.id == mug.id
    assert found.hits[0].product.title == "Insulated travel mug" and found.hits[0].matched_fields
    assert found.mode == catalog_pb2.SEARCH_MODE_LEXICAL
    hybrid = await search("insulated mug")
    assert hybrid.mode == catalog_pb2.SEARCH_MODE_HYBRID and hybrid.hits[0].product.id == mug.id
    filtered = await search("insulated mug", filter=cheap_only)
    assert all(hit.product.price.units <= 2000 for hit in filtered.hits)
    assert mug.id not in [hit.product.id for hit in filtered.hits]
