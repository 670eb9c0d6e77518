"""Products with options and variants through the real catalog service: create, validate, change, retire,
per-variant stock and reservations, the options filter, and the events."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from marketplace.catalog.v1 import catalog_pb2
from marketplace.common.v1 import money_pb2
from marketplace.events.v1 import envelope_pb2, events_pb2
from tests.catalog.conftest import Catalog
from tests.kit.rpc.support import error_info

SIZES = ["S", "M", "L"]
COLORS = ["navy", "red"]


def options(**values: list[str]) -> list[catalog_pb2.ProductOption]:
    return [catalog_pb2.ProductOption(name=name, values=given) for name, given in values.items()]


def variant(sku: str, stock: int = 0, price: int | None = None, **values: str) -> catalog_pb2.ProductVariant:
    made = catalog_pb2.ProductVariant(sku=sku, option_values=values, stock=stock)
    if price is not None:
        made.price.CopyFrom(money_pb2.Money(currency_code="USD", units=price))
    return made


def six_variants(prefix: str) -> list[catalog_pb2.ProductVariant]:
    return [
        variant(
            f"{prefix}-{size}-{color}", stock=index + 1, price=2500 if size == "L" else None, size=size, color=color
        )
        for index, (size, color) in enumerate((s, c) for s in SIZES for c in COLORS)
    ]


def by_values(product: catalog_pb2.Product) -> dict[tuple[str, ...], catalog_pb2.ProductVariant]:
    names = [option.name for option in product.options]
    return {tuple(v.option_values[name] for name in names): v for v in product.variants}


async def refused(call: Any, request: Any, metadata: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(request, metadata=metadata)
    return caught.value


async def refused_socks(
    catalog: Catalog,
    options: Sequence[catalog_pb2.ProductOption],
    variants: Sequence[catalog_pb2.ProductVariant] = (),
) -> grpc.aio.AioRpcError:
    """The error of creating socks with these options and variants, which must be refused."""
    seller, _ = await catalog.seller()
    product = catalog_pb2.Product(
        sku="A",
        title="Socks",
        category="clothing",
        price=money_pb2.Money(currency_code="USD", units=500),
        options=options,
        variants=variants,
    )
    request = catalog_pb2.CreateProductRequest(product=product, request_id=str(uuid.uuid4()))
    return await refused(catalog.stub.CreateProduct, request, seller)


def reserve(*items: tuple[catalog_pb2.Product, catalog_pb2.ProductVariant, int]) -> catalog_pb2.ReserveStockRequest:
    return catalog_pb2.ReserveStockRequest(
        reservation_id=str(uuid.uuid4()),
        order_id=str(uuid.uuid4()),
        items=[
            catalog_pb2.ReservationItem(product_id=product.id, variant_id=chosen.id, quantity=quantity)
            for product, chosen, quantity in items
        ],
    )


async def test_a_product_with_two_options_and_six_variants(catalog: Catalog) -> None:
    seller, seller_id = await catalog.seller()
    created = await catalog.create(
        seller, sku="TEE", options=options(size=SIZES, color=COLORS), variants=six_variants("TEE"), price=1999
    )
    shown = (await catalog.stub.GetProduct(catalog_pb2.GetProductRequest(id=created.id))).product
    assert [(o.name, list(o.values)) for o in shown.options] == [("size", SIZES), ("color", COLORS)]
    variants = by_values(shown)
    assert set(variants) == {(s, c) for s in SIZES for c in COLORS}
    assert variants[("M", "red")].sku == "TEE-M-red" and variants[("M", "red")].stock == 4
    # A variant's own price, or the product's.
    assert variants[("L", "navy")].price.units == 2500 and variants[("S", "navy")].price.units == 1999
    assert shown.stock == sum(range(1, 7))
    assert all(v.status == catalog_pb2.PRODUCT_STATUS_ACTIVE and v.id for v in shown.variants)
    # The event's snapshot carries the variants.
    rows = await catalog.sql("SELECT count(*) FROM product_variants WHERE seller_id = :s", s=seller_id)
    assert rows == [(6,)]


async def test_options_without_variants_make_every_combination(catalog: Catalog) -> None:
    seller, _ = await catalog.seller()
    created = await catalog.create(seller, sku="MUG-1", options=options(color=["white", "sky blue"]), stock=4)
    assert {(v.option_values["color"], v.sku, v.stock) for v in created.variants} == {
        ("white", "MUG-1-white", 4),
        ("sky blue", "MUG-1-sky-blue", 4),
    }
    assert created.stock == 8
    plain = await catalog.create(seller, sku="PLAIN-1", stock=3)
    (default,) = plain.variants
    assert (default.sku, dict(default.option_values), default.stock) == ("PLAIN-1", {}, 3)


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ([variant("A-1", size="XL")], "UNDECLARED_OPTION_VALUE"),
        ([variant("A-1", color="navy")], "UNDECLARED_OPTION_VALUE"),
        ([variant("A-1", size="S"), variant("A-2", size="S")], "DUPLICATE_VARIANT"),
    ],
)
async def test_undeclared_values_and_duplicate_combinations_are_refused(
    catalog: Catalog, given: list[catalog_pb2.ProductVariant], reason: str
) -> None:
    error = await refused_socks(catalog, options(size=SIZES), given)
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_info(error).reason == reason
    assert await catalog.sql("SELECT count(*) FROM products") == [(0,)]


async def test_the_contract_refuses_repeated_option_values(catalog: Catalog) -> None:
    error = await refused_socks(catalog, options(size=["S", "S"]))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_sellers_add_change_and_retire_variants_of_their_own_products_only(catalog: Catalog) -> None:
    seller, _ = await catalog.seller()
    other, _ = await catalog.seller()
    product = await catalog.create(seller, sku="SHOE", options=options(size=["41", "42"]), stock=2)
    added_request = catalog_pb2.AddProductVariantRequest(
        product_id=product.id, variant=variant("SHOE-43", 1, size="43")
    )
    # 43 is not declared yet.
    error = await refused(catalog.stub.AddProductVariant, added_request, seller)
    assert error_info(error).reason == "UNDECLARED_OPTION_VALUE"
    await catalog.stub.UpdateProduct(
        catalog_pb2.UpdateProductRequest(
            product=catalog_pb2.Product(id=product.id, options=options(size=["41", "42", "43", "44"])),
            update_mask=FieldMask(paths=["options"]),
        ),
        metadata=seller,
    )
    error = await refused(catalog.stub.AddProductVariant, added_request, other)
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    added = await catalog.stub.AddProductVariant(added_request, metadata=seller)
    assert (added.variant.sku, added.variant.stock, added.product.stock) == ("SHOE-43", 1, 5)
    # The same combination again, or another variant's SKU.
    again = catalog_pb2.AddProductVariantRequest(product_id=product.id, variant=variant("SHOE-43B", size="43"))
    assert error_info(await refused(catalog.stub.AddProductVariant, again, seller)).reason == "DUPLICATE_VARIANT"
    sku_taken = catalog_pb2.AddProductVariantRequest(product_id=product.id, variant=variant("SHOE-41", size="44"))
    error = await refused(catalog.stub.AddProductVariant, sku_taken, seller)
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS

    # Its own price, then the product's again; INACTIVE leaves the product's stock.
    own_price = catalog_pb2.ProductVariant(id=added.variant.id, price=money_pb2.Money(currency_code="USD", units=2999))
    changed = await catalog.stub.UpdateProductVariant(
        catalog_pb2.UpdateProductVariantRequest(
            product_id=product.id, variant=own_price, update_mask=FieldMask(paths=["price"])
        ),
        metadata=seller,
    )
    assert changed.variant.price.units == 2999
    follows = await catalog.stub.UpdateProductVariant(
        catalog_pb2.UpdateProductVariantRequest(
            product_id=product.id,
            variant=catalog_pb2.ProductVariant(id=added.variant.id, status=catalog_pb2.PRODUCT_STATUS_INACTIVE),
            update_mask=FieldMask(paths=["price", "status"]),
        ),
        metadata=seller,
    )
    assert follows.variant.price.units == product.price.units
    assert follows.product.stock == 4

    # A value in use cannot leave the options.
    error = await refused(
        catalog.stub.UpdateProduct,
        catalog_pb2.UpdateProductRequest(
            product=catalog_pb2.Product(id=product.id, options=options(size=["41", "42"])),
            update_mask=FieldMask(paths=["options"]),
        ),
        seller,
    )
    assert error_info(error).reason == "UNDECLARED_OPTION_VALUE"

    retired = await catalog.stub.DeleteProductVariant(
        catalog_pb2.DeleteProductVariantRequest(product_id=product.id, variant_id=added.variant.id), metadata=seller
    )
    assert {v.sku for v in retired.product.variants} == {"SHOE-41", "SHOE-42"}
    # Retired, its SKU stays taken.
    reuse = catalog_pb2.AddProductVariantRequest(product_id=product.id, variant=variant("SHOE-43", size="43"))
    assert (await refused(catalog.stub.AddProductVariant, reuse, seller)).code() == grpc.StatusCode.ALREADY_EXISTS
    for kept in retired.product.variants[:1]:
        await catalog.stub.DeleteProductVariant(
            catalog_pb2.DeleteProductVariantRequest(product_id=product.id, variant_id=kept.id), metadata=seller
        )
    last = retired.product.variants[1]
    error = await refused(
        catalog.stub.DeleteProductVariant,
        catalog_pb2.DeleteProductVariantRequest(product_id=product.id, variant_id=last.id),
        seller,
    )
    assert error_info(error).reason == "LAST_VARIANT"


async def test_a_new_option_gives_every_variant_its_first_value(catalog: Catalog) -> None:
    seller, _ = await catalog.seller()
    product = await catalog.create(seller, sku="CAP", stock=3)
    changed = await catalog.stub.UpdateProduct(
        catalog_pb2.UpdateProductRequest(
            product=catalog_pb2.Product(id=product.id, options=options(color=["black", "olive"])),
            update_mask=FieldMask(paths=["options"]),
        ),
        metadata=seller,
    )
    (only,) = changed.product.variants
    assert (only.id, dict(only.option_values), only.stock) == (product.variants[0].id, {"color": "black"}, 3)


async def test_stock_is_adjusted_per_variant(catalog: Catalog) -> None:
    seller, _ = await catalog.seller()
    product = await catalog.create(seller, options=options(size=SIZES), stock=5)
    sizes = {v.option_values["size"]: v for v in product.variants}
    error = await refused(
        catalog.stub.AdjustStock, catalog_pb2.AdjustStockRequest(id=product.id, delta=1, reason="restock"), seller
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    adjusted = await catalog.stub.AdjustStock(
        catalog_pb2.AdjustStockRequest(id=product.id, variant_id=sizes["M"].id, delta=-5, reason="sold offline"),
        metadata=seller,
    )
    assert {v.option_values["size"]: v.stock for v in adjusted.product.variants} == {"S": 5, "M": 0, "L": 5}
    assert adjusted.product.stock == 10
    rows = await catalog.sql(
        "SELECT envelope FROM outbox WHERE type = :t ORDER BY position", t=events_pb2.StockChanged.DESCRIPTOR.full_name
    )
    changed = events_pb2.StockChanged()
    envelope_pb2.Envelope.FromString(rows[-1][0]).payload.Unpack(changed)
    assert (changed.variant_id, changed.sku, changed.old_stock, changed.new_stock, changed.available) == (
        sizes["M"].id,
        sizes["M"].sku,
        5,
        0,
        0,
    )
    assert (changed.product_available, changed.low_stock) == (10, True)


async def test_the_last_unit_of_one_size_goes_to_exactly_one_buyer(catalog: Catalog) -> None:
    seller, _ = await catalog.seller()
    product = await catalog.create(seller, options=options(size=SIZES), stock=3)
    sizes = {v.option_values["size"]: v for v in product.variants}
    await catalog.stub.AdjustStock(
        catalog_pb2.AdjustStockRequest(id=product.id, variant_id=sizes["L"].id, delta=-2, reason="count"),
        metadata=seller,
    )
    service = await catalog.service()

    async def attempt() -> str:
        try:
            await catalog.stub.ReserveStock(reserve((product, sizes["L"], 1)), metadata=service, timeout=60)
        except grpc.aio.AioRpcError as error:
            info = error_info(error)
            assert info.metadata["variant_id"] == sizes["L"].id
            return str(info.reason)
        return "OK"

    outcomes = await asyncio.gather(*(attempt() for _ in range(60)))
    assert (outcomes.count("OK"), outcomes.count("OUT_OF_STOCK")) == (1, 59)
    rows = await catalog.sql(
        "SELECT option_values->>'size', stock, reserved FROM product_variants WHERE product_id = :p", p=product.id
    )
    assert sorted(rows) == [("L", 1, 1), ("M", 3, 0), ("S", 3, 0)]
    assert await catalog.sql("SELECT stock, reserved FROM products WHERE id = :p", p=product.id) == [(7, 1)]
    # Other sizes are still there to reserve, each with its own details.
    reserved = await catalog.stub.ReserveStock(
        reserve((product, sizes["S"], 2), (product, sizes["M"], 3)), metadata=service
    )
    assert {(item.variant_id, item.sku, item.option_values["size"]) for item in reserved.items} == {
        (sizes["S"].id, sizes["S"].sku, "S"),
        (sizes["M"].id, sizes["M"].sku, "M"),
    }
    await catalog.stub.CommitReservation(
        catalog_pb2.CommitReservationRequest(reservation_id=reserved.reservation_id), metadata=service
    )
    shown = (await catalog.stub.GetProduct(catalog_pb2.GetProductRequest(id=product.id))).product
    assert {v.option_values["size"]: v.stock for v in shown.variants} == {"S": 1, "M": 0, "L": 0}


async def test_an_inactive_variant_or_another_product_s_variant_cannot_be_reserved(catalog: Catalog) -> None:
    seller, _ = await catalog.seller()
    product = await catalog.create(seller, options=options(size=SIZES), stock=3)
    other = await catalog.create(seller, stock=3)
    small = next(v for v in product.variants if v.option_values["size"] == "S")
    await catalog.stub.UpdateProductVariant(
        catalog_pb2.UpdateProductVariantRequest(
            product_id=product.id,
            variant=catalog_pb2.ProductVariant(id=small.id, status=catalog_pb2.PRODUCT_STATUS_INACTIVE),
            update_mask=FieldMask(paths=["status"]),
        ),
        metadata=seller,
    )
    service = await catalog.service()
    for request in (reserve((product, small, 1)), reserve((other, small, 1))):
        error = await refused(catalog.stub.ReserveStock, request, service)
        assert error_info(error).reason == "PRODUCT_UNAVAILABLE"
    assert await catalog.sql("SELECT sum(reserved) FROM product_variants") == [(0,)]


async def test_the_options_filter_finds_products_with_that_variant_in_stock(catalog: Catalog) -> None:
    seller, _ = await catalog.seller()
    sold_out_m = await catalog.create(seller, title="Trail tee", options=options(size=SIZES), stock=2)
    medium = next(v for v in sold_out_m.variants if v.option_values["size"] == "M")
    await catalog.stub.AdjustStock(
        catalog_pb2.AdjustStockRequest(id=sold_out_m.id, variant_id=medium.id, delta=-2, reason="count"),
        metadata=seller,
    )
    has_m = await catalog.create(seller, title="Road tee", options=options(size=SIZES), stock=2)
    await catalog.create(seller, title="Plain tee", stock=2)

    async def listed(in_stock: bool) -> set[str]:
        response = await catalog.stub.ListProducts(
            catalog_pb2.ListProductsRequest(filter=catalog_pb2.ProductFilter(options={"size": "m"}, in_stock=in_stock))
        )
        return {product.id for product in response.products}

    assert await listed(in_stock=False) == {sold_out_m.id, has_m.id}
    assert await listed(in_stock=True) == {has_m.id}


async def test_a_watcher_sees_each_variant_s_stock(catalog: Catalog) -> None:
    seller, _ = await catalog.seller()
    product = await catalog.create(seller, options=options(size=SIZES), stock=2, price=1200)
    sizes = {v.option_values["size"]: v for v in product.variants}
    stream = catalog.stub.WatchProduct(catalog_pb2.WatchProductRequest(id=product.id))
    iterator = stream.__aiter__()
    first = await asyncio.wait_for(iterator.__anext__(), 5)
    assert [(v.variant_id, v.stock, v.price.units) for v in first.variants] == [
        (sizes[size].id, 2, 1200) for size in SIZES
    ]
    await catalog.stub.AdjustStock(
        catalog_pb2.AdjustStockRequest(id=product.id, variant_id=sizes["M"].id, delta=3, reason="restock"),
        metadata=seller,
    )
    changed = await asyncio.wait_for(iterator.__anext__(), 5)
    assert changed.stock == 9
    assert {v.variant_id: v.stock for v in changed.variants} == {
        sizes["S"].id: 2,
        sizes["M"].id: 5,
        sizes["L"].id: 2,
    }
    stream.cancel()


@pytest.mark.parametrize(
    "given",
    [variant("", size="S"), variant("A-1", price=0, size="S")],
    ids=["no sku", "zero own price"],
)
async def test_listed_variants_need_a_sku_and_a_positive_own_price(
    catalog: Catalog, given: catalog_pb2.ProductVariant
) -> None:
    error = await refused_socks(catalog, options(size=SIZES), [given])
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
