"""GetVariants through the real catalog: many variants in one call, whatever their status, for services only."""

from __future__ import annotations

import uuid

import grpc
import pytest
from google.protobuf import field_mask_pb2

from marketplace.catalog.v1 import catalog_pb2
from marketplace.common.v1 import money_pb2
from tests.catalog.conftest import Catalog
from tests.catalog.test_product_images import add, jpeg_bytes


async def test_variants_of_several_products_in_request_order_with_their_state(catalog: Catalog) -> None:
    seller, seller_id = await catalog.seller()
    mug = await catalog.create(seller, price=1500, stock=4)
    shoe = await catalog.create(
        seller, price=9000, stock=3, options=[catalog_pb2.ProductOption(name="size", values=["41", "42"])]
    )
    size_41, size_42 = shoe.variants
    await catalog.stub.UpdateProductVariant(
        catalog_pb2.UpdateProductVariantRequest(
            product_id=shoe.id,
            variant=catalog_pb2.ProductVariant(id=size_42.id, status=catalog_pb2.PRODUCT_STATUS_INACTIVE),
            update_mask=field_mask_pb2.FieldMask(paths=["status"]),
        ),
        metadata=seller,
    )
    await catalog.stub.DeleteProduct(catalog_pb2.DeleteProductRequest(id=mug.id), metadata=seller)
    unknown = str(uuid.uuid4())
    request = catalog_pb2.GetVariantsRequest(variant_ids=[size_42.id, unknown, mug.variants[0].id, size_41.id])

    found = (await catalog.stub.GetVariants(request, metadata=await catalog.service("cart"))).variants

    assert [item.variant_id for item in found] == [size_42.id, mug.variants[0].id, size_41.id]
    inactive, archived, active = found
    assert (active.product_id, active.seller_id, active.title, active.sku) == (
        shoe.id,
        seller_id,
        shoe.title,
        size_41.sku,
    )
    assert (dict(active.option_values), active.unit_price.units, active.unit_price.currency_code) == (
        {"size": "41"},
        9000,
        "USD",
    )
    assert (active.available, active.status, active.product_status) == (
        3,
        catalog_pb2.PRODUCT_STATUS_ACTIVE,
        catalog_pb2.PRODUCT_STATUS_ACTIVE,
    )
    assert (inactive.status, inactive.product_status) == (
        catalog_pb2.PRODUCT_STATUS_INACTIVE,
        catalog_pb2.PRODUCT_STATUS_ACTIVE,
    )
    assert (archived.product_status, archived.available) == (catalog_pb2.PRODUCT_STATUS_ARCHIVED, 4)


async def test_only_services_look_variants_up(catalog: Catalog) -> None:
    seller, _ = await catalog.seller()
    mug = await catalog.create(seller)
    request = catalog_pb2.GetVariantsRequest(variant_ids=[mug.variants[0].id])
    for metadata in (seller, (await catalog.buyer())[0]):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await catalog.stub.GetVariants(request, metadata=metadata)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as anonymous:
        await catalog.stub.GetVariants(request)
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
    service = await catalog.service("cart")
    for bad in ([], ["not-a-uuid"], [mug.variants[0].id] * 2, [str(uuid.uuid4()) for _ in range(101)]):
        with pytest.raises(grpc.aio.AioRpcError) as invalid:
            await catalog.stub.GetVariants(catalog_pb2.GetVariantsRequest(variant_ids=bad), metadata=service)
        assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_variants_own_price_and_its_products_first_picture(catalog: Catalog) -> None:
    seller, _ = await catalog.seller()
    shoe = await catalog.create(
        seller, price=9000, stock=3, options=[catalog_pb2.ProductOption(name="size", values=["41", "46"])]
    )
    size_41, size_46 = shoe.variants
    await catalog.stub.UpdateProductVariant(
        catalog_pb2.UpdateProductVariantRequest(
            product_id=shoe.id,
            variant=catalog_pb2.ProductVariant(id=size_46.id, price=money_pb2.Money(units=9900, currency_code="USD")),
            update_mask=field_mask_pb2.FieldMask(paths=["price"]),
        ),
        metadata=seller,
    )
    first = await catalog.stub.AddProductImage(add(shoe.id, jpeg_bytes()), metadata=seller)
    await catalog.stub.AddProductImage(add(shoe.id, jpeg_bytes()), metadata=seller)
    request = catalog_pb2.GetVariantsRequest(variant_ids=[size_46.id, size_41.id])

    found = (await catalog.stub.GetVariants(request, metadata=await catalog.service("cart"))).variants

    assert [(item.variant_id, item.unit_price.units) for item in found] == [(size_46.id, 9900), (size_41.id, 9000)]
    assert {item.thumbnail_url for item in found} == {first.image.thumbnail_url}
