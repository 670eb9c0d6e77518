"""Products through the real catalog service: create, read, update, delete, roles and ownership."""

from __future__ import annotations

import io
import uuid

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from PIL import Image

from marketplace.catalog.v1 import catalog_pb2
from marketplace.common.v1 import money_pb2
from tests.catalog.conftest import Catalog
from tests.kit.rpc.support import error_info


def png_bytes(size: tuple[int, int] = (4, 4)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


async def test_seller_creates_and_anyone_reads_an_active_product(catalog: Catalog) -> None:
    seller, seller_id = await catalog.seller()
    created = await catalog.create(seller, title="Steel water bottle", price=2500, stock=7)
    assert created.seller_id == seller_id
    assert created.status == catalog_pb2.PRODUCT_STATUS_ACTIVE
    assert created.stock == 7

    anonymous = await catalog.stub.GetProduct(catalog_pb2.GetProductRequest(id=created.id))
    assert anonymous.product.title == "Steel water bottle"
    assert anonymous.product.price.units == 2500
    buyer, _ = await catalog.buyer()
    as_buyer = await catalog.stub.GetProduct(catalog_pb2.GetProductRequest(id=created.id), metadata=buyer)
    assert as_buyer.product == anonymous.product


async def test_create_is_idempotent_by_request_id_and_sku_is_unique_per_seller(catalog: Catalog) -> None:
    seller, _ = await catalog.seller()
    request = catalog_pb2.CreateProductRequest(
        product=catalog_pb2.Product(
            sku="MUG-1", title="Mug", category="kitchen", price=money_pb2.Money(currency_code="USD", units=900)
        ),
        request_id=str(uuid.uuid4()),
    )
    first = await catalog.stub.CreateProduct(request, metadata=seller)
    again = await catalog.stub.CreateProduct(request, metadata=seller)
    assert again.product.id == first.product.id

    request.request_id = str(uuid.uuid4())
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await catalog.stub.CreateProduct(request, metadata=seller)
    assert refused.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert error_info(refused.value).reason == "SKU_TAKEN"

    other, _ = await catalog.seller()
    elsewhere = await catalog.stub.CreateProduct(request, metadata=other)
    assert elsewhere.product.sku == "MUG-1"
    assert await catalog.sql("SELECT count(*) FROM products WHERE sku = 'MUG-1'") == [(2,)]


async def product_row(catalog: Catalog, product_id: str) -> list[object]:
    return await catalog.sql(
        "SELECT sku, title, price_units, stock, status, version, updated_at FROM products WHERE id = :id",
        id=product_id,
    )


async def test_only_the_owner_or_an_admin_writes_and_nothing_changes_otherwise(catalog: Catalog) -> None:
    owner, _ = await catalog.seller()
    product = await catalog.create(owner, title="Original", stock=5)
    before = await product_row(catalog, product.id)
    other_seller, _ = await catalog.seller()
    buyer, _ = await catalog.buyer()
    update = catalog_pb2.UpdateProductRequest(
        product=catalog_pb2.Product(id=product.id, title="Hijacked"), update_mask=FieldMask(paths=["title"])
    )
    calls = {
        "update": lambda metadata: catalog.stub.UpdateProduct(update, metadata=metadata),
        "delete": lambda metadata: catalog.stub.DeleteProduct(
            catalog_pb2.DeleteProductRequest(id=product.id), metadata=metadata
        ),
        "adjust": lambda metadata: catalog.stub.AdjustStock(
            catalog_pb2.AdjustStockRequest(id=product.id, delta=-5, reason="theft"), metadata=metadata
        ),
        "add image": lambda metadata: catalog.stub.AddProductImage(
            catalog_pb2.AddProductImageRequest(
                product_id=product.id, content=png_bytes(), file_name="a.png", content_type="image/png"
            ),
            metadata=metadata,
        ),
        "delete image": lambda metadata: catalog.stub.DeleteProductImage(
            catalog_pb2.DeleteProductImageRequest(product_id=product.id, image_id=str(uuid.uuid4())),
            metadata=metadata,
        ),
    }
    for name, call in calls.items():
        for who, metadata, code in (
            ("another seller", other_seller, grpc.StatusCode.PERMISSION_DENIED),
            ("a buyer", buyer, grpc.StatusCode.PERMISSION_DENIED),
            ("anonymous", (), grpc.StatusCode.UNAUTHENTICATED),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await call(metadata)
            assert refused.value.code() == code, f"{name} by {who}"
    create = catalog_pb2.CreateProductRequest(
        product=catalog_pb2.Product(
            sku="BUYER-1", title="Nope", category="kitchen", price=money_pb2.Money(currency_code="USD", units=1)
        ),
        request_id=str(uuid.uuid4()),
    )
    for metadata, code in ((buyer, grpc.StatusCode.PERMISSION_DENIED), ((), grpc.StatusCode.UNAUTHENTICATED)):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await catalog.stub.CreateProduct(create, metadata=metadata)
        assert refused.value.code() == code
    assert await product_row(catalog, product.id) == before
    assert await catalog.sql("SELECT count(*) FROM products") == [(1,)]
    assert await catalog.sql("SELECT count(*) FROM product_images") == [(0,)]

    admin, _ = await catalog.admin()
    updated = await catalog.stub.UpdateProduct(update, metadata=admin)
    assert updated.product.title == "Hijacked"
    adjusted = await catalog.stub.AdjustStock(
        catalog_pb2.AdjustStockRequest(id=product.id, delta=3, reason="found more"), metadata=admin
    )
    assert adjusted.product.stock == 8


async def test_inactive_products_are_visible_only_to_their_seller_and_admins(catalog: Catalog) -> None:
    owner, _ = await catalog.seller()
    product = await catalog.create(owner)
    hide = catalog_pb2.UpdateProductRequest(
        product=catalog_pb2.Product(id=product.id, status=catalog_pb2.PRODUCT_STATUS_INACTIVE),
        update_mask=FieldMask(paths=["status"]),
    )
    hidden = await catalog.stub.UpdateProduct(hide, metadata=owner)
    assert hidden.product.status == catalog_pb2.PRODUCT_STATUS_INACTIVE
    other, _ = await catalog.seller()
    buyer, _ = await catalog.buyer()
    for metadata in (other, buyer, ()):
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await catalog.stub.GetProduct(catalog_pb2.GetProductRequest(id=product.id), metadata=metadata)
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    admin, _ = await catalog.admin()
    for metadata in (owner, admin):
        seen = await catalog.stub.GetProduct(catalog_pb2.GetProductRequest(id=product.id), metadata=metadata)
        assert seen.product.status == catalog_pb2.PRODUCT_STATUS_INACTIVE
    listed = await catalog.stub.ListProducts(catalog_pb2.ListProductsRequest())
    assert product.id not in [each.id for each in listed.products]
    mine = await catalog.stub.ListMyProducts(catalog_pb2.ListMyProductsRequest(), metadata=owner)
    assert [each.id for each in mine.products] == [product.id]


async def test_update_changes_the_masked_fields_only(catalog: Catalog) -> None:
    seller, _ = await catalog.seller()
    product = await catalog.create(seller, title="Mug", description="Plain", brand="Acme", stock=4)
    request = catalog_pb2.UpdateProductRequest(
        product=catalog_pb2.Product(
            id=product.id,
            title="Big mug",
            description="not in the mask",
            price=money_pb2.Money(currency_code="EUR", units=1500),
            attributes={"color": "red", "sizes": "S,M"},
        ),
        update_mask=FieldMask(paths=["title", "price", "attributes"]),
    )
    updated = (await catalog.stub.UpdateProduct(request, metadata=seller)).product
    assert (updated.title, updated.description, updated.brand) == ("Big mug", "Plain", "Acme")
    assert (updated.price.currency_code, updated.price.units) == ("EUR", 1500)
    assert dict(updated.attributes) == {"color": "red", "sizes": "S,M"}
    assert updated.stock == 4
    assert await catalog.sql("SELECT version FROM products WHERE id = :id", id=product.id) == [(2,)]

    second = await catalog.create(seller, sku="TAKEN-1")
    clash = catalog_pb2.UpdateProductRequest(
        product=catalog_pb2.Product(id=product.id, sku=second.sku), update_mask=FieldMask(paths=["sku"])
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await catalog.stub.UpdateProduct(clash, metadata=seller)
    assert error_info(refused.value).reason == "SKU_TAKEN"


async def test_delete_archives_once_and_archived_products_cannot_change(catalog: Catalog) -> None:
    seller, _ = await catalog.seller()
    product = await catalog.create(seller)
    deleted = await catalog.stub.DeleteProduct(catalog_pb2.DeleteProductRequest(id=product.id), metadata=seller)
    assert deleted.product.status == catalog_pb2.PRODUCT_STATUS_ARCHIVED
    again = await catalog.stub.DeleteProduct(catalog_pb2.DeleteProductRequest(id=product.id), metadata=seller)
    assert again.product.update_time == deleted.product.update_time
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await catalog.stub.AdjustStock(
            catalog_pb2.AdjustStockRequest(id=product.id, delta=1, reason="restock"), metadata=seller
        )
    assert error_info(refused.value).reason == "PRODUCT_ARCHIVED"
    buyer, _ = await catalog.buyer()
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await catalog.stub.GetProduct(catalog_pb2.GetProductRequest(id=product.id), metadata=buyer)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    deletions = await catalog.sql("SELECT count(*) FROM outbox WHERE type = 'marketplace.events.v1.ProductDeleted'")
    assert deletions == [(1,)]


async def test_adjust_stock_never_takes_reserved_units(catalog: Catalog) -> None:
    seller, _ = await catalog.seller()
    product = await catalog.create(seller, stock=5)
    service = await catalog.service()
    await catalog.stub.ReserveStock(
        catalog_pb2.ReserveStockRequest(
            reservation_id=str(uuid.uuid4()),
            order_id=str(uuid.uuid4()),
            items=[catalog_pb2.ReservationItem(product_id=product.id, variant_id=product.variants[0].id, quantity=3)],
        ),
        metadata=service,
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await catalog.stub.AdjustStock(
            catalog_pb2.AdjustStockRequest(id=product.id, delta=-3, reason="damaged"), metadata=seller
        )
    assert error_info(refused.value).reason == "INSUFFICIENT_STOCK"
    adjusted = await catalog.stub.AdjustStock(
        catalog_pb2.AdjustStockRequest(id=product.id, delta=-2, reason="damaged"), metadata=seller
    )
    assert adjusted.product.stock == 0
    assert await catalog.sql("SELECT stock, reserved FROM products WHERE id = :id", id=product.id) == [(3, 3)]
