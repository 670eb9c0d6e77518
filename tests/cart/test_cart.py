"""The cart through the real cart, catalog and auth services: lines by variant, the catalog's checks, pricing
with one catalog call per cart, owners only, delegated tokens, events in the outbox."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2

from marketplace.auth.v1 import auth_pb2
from marketplace.cart.v1 import cart_pb2
from marketplace.catalog.v1 import catalog_pb2
from marketplace.common.v1 import money_pb2
from services.cart.catalog import CatalogClient
from tests.cart.conftest import CartService
from tests.kit.rpc.support import error_info, field_violations
from tests.support.auth import bearer, service_token

Metadata = tuple[tuple[str, str]]


async def buyer(cart: CartService) -> tuple[Metadata, str]:
    token, user_id = await cart.catalog.auth.user_token()
    return bearer(token), user_id


async def shoe(cart: CartService, seller: Metadata, **fields: Any) -> catalog_pb2.Product:
    """A shoe in three sizes, 10 of each."""
    return await cart.catalog.create(
        seller,
        title="Trail running shoe",
        options=[catalog_pb2.ProductOption(name="size", values=["41", "42", "43"])],
        **fields,
    )


def add(product: catalog_pb2.Product, quantity: int = 1, variant_id: str = "") -> cart_pb2.AddCartItemRequest:
    return cart_pb2.AddCartItemRequest(product_id=product.id, variant_id=variant_id, quantity=quantity)


async def refused(call: Any, code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert caught.value.code() == code, caught.value.details()
    return caught.value


async def test_lines_are_added_read_changed_and_removed_with_their_events(cart: CartService) -> None:
    seller, seller_id = await cart.catalog.seller()
    mug = await cart.catalog.create(seller, price=1999, stock=10)
    me, buyer_id = await buyer(cart)

    empty = await cart.stub.GetCart(cart_pb2.GetCartRequest(), metadata=me)
    assert (empty.cart.buyer_id, list(empty.cart.lines), empty.cart.HasField("update_time")) == (buyer_id, [], False)

    # A product sold in one form is added by its id alone: the line names its only variant.
    added = await cart.stub.AddCartItem(add(mug, 2), metadata=me)
    (variant,) = mug.variants
    line = added.line
    assert (line.product_id, line.variant_id, line.sku, line.seller_id, line.title) == (
        mug.id,
        variant.id,
        variant.sku,
        seller_id,
        mug.title,
    )
    assert (line.quantity, line.unit_price.units, line.line_total.units, line.available) == (2, 1999, 3998, True)
    assert (line.added_by, line.added_by_actor, line.price_changed) == (cart_pb2.CART_ACTOR_BUYER, "", False)
    again = await cart.stub.AddCartItem(add(mug, 3, variant.id), metadata=me)
    assert [(item.variant_id, item.quantity) for item in again.cart.lines] == [(variant.id, 5)]
    assert (again.cart.item_count, again.cart.subtotal.units, again.cart.subtotal.currency_code) == (5, 9995, "USD")

    updated = await cart.stub.UpdateCartItem(
        cart_pb2.UpdateCartItemRequest(variant_id=variant.id, quantity=1), metadata=me
    )
    assert [item.quantity for item in updated.cart.lines] == [1]
    removed = await cart.stub.RemoveCartItem(cart_pb2.RemoveCartItemRequest(variant_id=variant.id), metadata=me)
    assert list(removed.cart.lines) == []
    # Removing what is not in the cart succeeds and changes nothing; updating it is NOT_FOUND.
    await cart.stub.RemoveCartItem(cart_pb2.RemoveCartItemRequest(variant_id=variant.id), metadata=me)
    await refused(
        cart.stub.UpdateCartItem(cart_pb2.UpdateCartItemRequest(variant_id=variant.id, quantity=2), metadata=me),
        grpc.StatusCode.NOT_FOUND,
    )
    await cart.stub.AddCartItem(add(mug, 1), metadata=me)
    cleared = await cart.stub.ClearCart(cart_pb2.ClearCartRequest(), metadata=me)
    assert list(cleared.cart.lines) == [] and cleared.cart.HasField("update_time")

    events = await cart.events()
    assert [kind for kind, _ in events] == [
        "CartItemAdded",
        "CartItemAdded",
        "CartItemQuantityChanged",
        "CartItemRemoved",
        "CartItemAdded",
        "CartCleared",
    ]
    (cart_id,) = {payload.cart_id for _, payload in events}
    assert await cart.sql("SELECT id FROM carts WHERE buyer_id = :id", id=buyer_id) == [(cart_id,)]
    first, second = events[0][1], events[1][1]
    assert (first.buyer_id, first.product_id, first.variant_id, first.quantity, first.line_quantity) == (
        buyer_id,
        mug.id,
        variant.id,
        2,
        2,
    )
    assert (first.added_by, first.actor) == (buyer_id, "")
    assert (second.quantity, second.line_quantity) == (3, 5)
    assert (events[2][1].old_quantity, events[2][1].new_quantity) == (5, 1)
    assert (events[3][1].quantity, events[5][1].line_count) == (1, 1)


async def test_a_product_with_several_variants_needs_one_named(cart: CartService) -> None:
    seller, _ = await cart.catalog.seller()
    product = await shoe(cart, seller)
    other = await cart.catalog.create(seller)
    me, _ = await buyer(cart)

    error = await refused(cart.stub.AddCartItem(add(product), metadata=me), grpc.StatusCode.INVALID_ARGUMENT)
    assert "size (41, 42, 43)" in (error.details() or "")
    assert "size (41, 42, 43)" in field_violations(error)["variant_id"]
    assert error_info(error).metadata["options"] == "size"

    size_42 = next(variant for variant in product.variants if variant.option_values["size"] == "42")
    added = await cart.stub.AddCartItem(add(product, 1, size_42.id), metadata=me)
    assert (added.line.variant_id, dict(added.line.option_values)) == (size_42.id, {"size": "42"})

    # A variant of another product, and a product that does not exist.
    await refused(cart.stub.AddCartItem(add(other, 1, size_42.id), metadata=me), grpc.StatusCode.NOT_FOUND)
    await refused(
        cart.stub.AddCartItem(
            cart_pb2.AddCartItemRequest(product_id="0190f3c2-7d4e-7a1b-9c3d-2e4f5a6b7c8d", quantity=1), metadata=me
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    # The contract's own rules: a variant id that is not a UUID, no quantity.
    bad = await refused(
        cart.stub.AddCartItem(cart_pb2.AddCartItemRequest(product_id=product.id, variant_id="x"), metadata=me),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert set(field_violations(bad)) == {"variant_id", "quantity"}
    assert [
        line.variant_id for line in (await cart.stub.GetCart(cart_pb2.GetCartRequest(), metadata=me)).cart.lines
    ] == [size_42.id]


async def test_unavailable_and_out_of_stock_variants_are_refused(cart: CartService) -> None:
    seller, _ = await cart.catalog.seller()
    catalog = cart.catalog.stub
    scarce = await cart.catalog.create(seller, stock=3)
    hidden = await cart.catalog.create(seller, stock=10)
    await catalog.UpdateProduct(
        catalog_pb2.UpdateProductRequest(
            product=catalog_pb2.Product(id=hidden.id, status=catalog_pb2.PRODUCT_STATUS_INACTIVE),
            update_mask=field_mask_pb2.FieldMask(paths=["status"]),
        ),
        metadata=seller,
    )
    sizes = await shoe(cart, seller)
    size_41 = sizes.variants[0]
    await catalog.UpdateProductVariant(
        catalog_pb2.UpdateProductVariantRequest(
            product_id=sizes.id,
            variant=catalog_pb2.ProductVariant(id=size_41.id, status=catalog_pb2.PRODUCT_STATUS_INACTIVE),
            update_mask=field_mask_pb2.FieldMask(paths=["status"]),
        ),
        metadata=seller,
    )
    me, _ = await buyer(cart)

    for request in (add(hidden), add(sizes, 1, size_41.id)):
        error = await refused(cart.stub.AddCartItem(request, metadata=me), grpc.StatusCode.FAILED_PRECONDITION)
        assert error_info(error).reason == "PRODUCT_UNAVAILABLE"
    error = await refused(cart.stub.AddCartItem(add(scarce, 4), metadata=me), grpc.StatusCode.FAILED_PRECONDITION)
    assert (error_info(error).reason, error_info(error).metadata["available"]) == ("OUT_OF_STOCK", "3")
    await cart.stub.AddCartItem(add(scarce, 2), metadata=me)
    # The line would hold 4: more than the stock.
    error = await refused(cart.stub.AddCartItem(add(scarce, 2), metadata=me), grpc.StatusCode.FAILED_PRECONDITION)
    assert error_info(error).reason == "OUT_OF_STOCK"
    raise_to = cart_pb2.UpdateCartItemRequest(variant_id=scarce.variants[0].id, quantity=4)
    error = await refused(cart.stub.UpdateCartItem(raise_to, metadata=me), grpc.StatusCode.FAILED_PRECONDITION)
    assert error_info(error).reason == "OUT_OF_STOCK"

    plenty = await cart.catalog.create(seller, stock=2000)
    await cart.stub.AddCartItem(add(plenty, 999), metadata=me)
    error = await refused(cart.stub.AddCartItem(add(plenty, 1), metadata=me), grpc.StatusCode.FAILED_PRECONDITION)
    assert error_info(error).reason == "QUANTITY_LIMIT"
    shown = await cart.stub.GetCart(cart_pb2.GetCartRequest(), metadata=me)
    assert [(line.product_id, line.quantity) for line in shown.cart.lines] == [(scarce.id, 2), (plenty.id, 999)]


async def test_a_cart_holds_at_most_a_hundred_lines(cart: CartService) -> None:
    seller, _ = await cart.catalog.seller()
    me, buyer_id = await buyer(cart)
    product = await cart.catalog.create(seller)
    # 100 lines written directly (as if added one by one), then one more through the service.
    await cart.sql(
        "INSERT INTO carts (id, buyer_id, created_at, updated_at) VALUES (:id, :buyer, now(), now())",
        id="0190f3c2-7d4e-7a1b-9c3d-000000000000",
        buyer=buyer_id,
    )
    for index in range(100):
        await cart.sql(
            "INSERT INTO cart_lines VALUES (:cart, :variant, :product, :seller, 't', 's', '{}', 1, 'USD', '', 1,"
            " :buyer, '', now(), now())",
            cart="0190f3c2-7d4e-7a1b-9c3d-000000000000",
            variant=f"0190f3c2-7d4e-7a1b-9c3d-{index:012d}",
            product=product.id,
            seller="s",
            buyer=buyer_id,
        )
    error = await refused(cart.stub.AddCartItem(add(product), metadata=me), grpc.StatusCode.FAILED_PRECONDITION)
    assert error_info(error).reason == "CART_FULL"


async def test_get_cart_prices_every_line_with_one_catalog_call(
    cart: CartService, monkeypatch: pytest.MonkeyPatch
) -> None:
    seller, _ = await cart.catalog.seller()
    catalog = cart.catalog.stub
    mug = await cart.catalog.create(seller, price=1000, stock=10)
    bottle = await cart.catalog.create(seller, price=500, stock=10)
    sizes = await shoe(cart, seller, price=8000)
    me, _ = await buyer(cart)
    await cart.stub.AddCartItem(add(mug, 2), metadata=me)
    await cart.stub.AddCartItem(add(bottle, 1), metadata=me)
    for variant in sizes.variants[:2]:
        await cart.stub.AddCartItem(add(sizes, 1, variant.id), metadata=me)

    # Since then: the mug costs more, the bottle is withdrawn, one size has only one unit left.
    await catalog.UpdateProduct(
        catalog_pb2.UpdateProductRequest(
            product=catalog_pb2.Product(id=mug.id, price=money_pb2.Money(currency_code="USD", units=1250)),
            update_mask=field_mask_pb2.FieldMask(paths=["price"]),
        ),
        metadata=seller,
    )
    await catalog.DeleteProduct(catalog_pb2.DeleteProductRequest(id=bottle.id), metadata=seller)
    await catalog.AdjustStock(
        catalog_pb2.AdjustStockRequest(id=sizes.id, variant_id=sizes.variants[1].id, delta=-10, reason="count"),
        metadata=seller,
    )

    calls: list[list[str]] = []
    original = CatalogClient.variants

    async def counted(self: CatalogClient, variant_ids: Any) -> Any:
        calls.append(list(variant_ids))
        return await original(self, variant_ids)

    monkeypatch.setattr(CatalogClient, "variants", counted)
    shown = (await cart.stub.GetCart(cart_pb2.GetCartRequest(), metadata=me)).cart

    assert len(calls) == 1 and len(calls[0]) == 4
    lines = {line.variant_id: line for line in shown.lines}
    mug_line = lines[mug.variants[0].id]
    assert (mug_line.unit_price.units, mug_line.added_unit_price.units, mug_line.price_changed) == (1250, 1000, True)
    assert (mug_line.line_total.units, mug_line.available) == (2500, True)
    bottle_line = lines[bottle.variants[0].id]
    assert (bottle_line.available, bottle_line.available_quantity, bottle_line.title) == (False, 0, bottle.title)
    first_size, empty_size = lines[sizes.variants[0].id], lines[sizes.variants[1].id]
    assert (first_size.available, first_size.price_changed) == (True, False)
    assert (empty_size.available, empty_size.available_quantity) == (False, 0)
    # Only what can be bought counts.
    assert (shown.item_count, shown.subtotal.units, shown.mixed_currencies) == (5, 2500 + 8000, False)
    # Adding units again takes the new price: the line no longer reports a change.
    again = await cart.stub.AddCartItem(add(mug, 1), metadata=me)
    assert (again.line.price_changed, again.line.added_unit_price.units) == (False, 1250)
    # The answer is priced from the mug just read and one call for the other lines.
    assert len(calls) == 2 and sorted(calls[1]) == sorted(
        [bottle.variants[0].id, sizes.variants[0].id, sizes.variants[1].id]
    )
    priced = {line.variant_id: line for line in again.cart.lines}
    assert (priced[mug.variants[0].id].unit_price.units, priced[bottle.variants[0].id].available) == (1250, False)
    assert again.cart.subtotal.units == 3 * 1250 + 8000


async def test_adding_to_an_empty_cart_prices_it_without_another_catalog_call(
    cart: CartService, monkeypatch: pytest.MonkeyPatch
) -> None:
    seller, _ = await cart.catalog.seller()
    mug = await cart.catalog.create(seller, price=1000, stock=5)
    me, _ = await buyer(cart)
    calls: list[list[str]] = []
    original = CatalogClient.variants

    async def counted(self: CatalogClient, variant_ids: Any) -> Any:
        calls.append(list(variant_ids))
        return await original(self, variant_ids)

    monkeypatch.setattr(CatalogClient, "variants", counted)
    added = await cart.stub.AddCartItem(add(mug, 2), metadata=me)
    assert calls == []
    assert (added.cart.item_count, added.cart.subtotal.units, added.cart.lines[0].available) == (2, 2000, True)


async def test_a_buyer_never_reads_or_changes_another_buyer_s_cart(cart: CartService) -> None:
    seller, _ = await cart.catalog.seller()
    mug = await cart.catalog.create(seller)
    alice, _ = await buyer(cart)
    bob, bob_id = await buyer(cart)
    await cart.stub.AddCartItem(add(mug, 2), metadata=alice)
    variant_id = mug.variants[0].id

    bobs = await cart.stub.GetCart(cart_pb2.GetCartRequest(), metadata=bob)
    assert (bobs.cart.buyer_id, list(bobs.cart.lines)) == (bob_id, [])
    await refused(
        cart.stub.UpdateCartItem(cart_pb2.UpdateCartItemRequest(variant_id=variant_id, quantity=1), metadata=bob),
        grpc.StatusCode.NOT_FOUND,
    )
    await cart.stub.RemoveCartItem(cart_pb2.RemoveCartItemRequest(variant_id=variant_id), metadata=bob)
    await cart.stub.ClearCart(cart_pb2.ClearCartRequest(), metadata=bob)
    alices = await cart.stub.GetCart(cart_pb2.GetCartRequest(), metadata=alice)
    assert [(line.variant_id, line.quantity) for line in alices.cart.lines] == [(variant_id, 2)]
    # No token, and a service token: refused before any cart is read.
    await refused(cart.stub.GetCart(cart_pb2.GetCartRequest()), grpc.StatusCode.UNAUTHENTICATED)
    service = bearer(await service_token(cart.catalog.auth, "order"))
    await refused(cart.stub.GetCart(cart_pb2.GetCartRequest(), metadata=service), grpc.StatusCode.PERMISSION_DENIED)


async def test_a_delegated_token_needs_cart_write_and_its_lines_record_the_assistant(cart: CartService) -> None:
    auth = cart.catalog.auth
    seller, _ = await cart.catalog.seller()
    mug = await cart.catalog.create(seller)
    token, buyer_id = await auth.user_token()
    buddy = bearer(await service_token(auth, "buddy"))

    async def delegated(*scopes: str) -> Metadata:
        exchanged = await auth.stub.ExchangeToken(
            auth_pb2.ExchangeTokenRequest(subject_token=token, scopes=list(scopes)), metadata=buddy
        )
        return bearer(exchanged.access_token)

    narrow = await delegated("catalog:read", "cart:read")
    for call in (
        cart.stub.AddCartItem(add(mug), metadata=narrow),
        cart.stub.GetCart(cart_pb2.GetCartRequest(), metadata=narrow),
        cart.stub.ClearCart(cart_pb2.ClearCartRequest(), metadata=narrow),
    ):
        error = await refused(call, grpc.StatusCode.PERMISSION_DENIED)
        assert error_info(error).reason == "SCOPE_INSUFFICIENT"

    assistant = await delegated("catalog:read", "cart:write")
    added = await cart.stub.AddCartItem(add(mug, 2), metadata=assistant)
    assert (added.line.added_by, added.line.added_by_actor) == (cart_pb2.CART_ACTOR_ASSISTANT, "buddy")
    # It is the buyer's own cart.
    mine = await cart.stub.GetCart(cart_pb2.GetCartRequest(), metadata=bearer(token))
    assert (mine.cart.buyer_id, [line.added_by for line in mine.cart.lines]) == (
        buyer_id,
        [cart_pb2.CART_ACTOR_ASSISTANT],
    )
    # The buyer adding units again makes the line theirs.
    again = await cart.stub.AddCartItem(add(mug, 1), metadata=bearer(token))
    assert (again.line.added_by, again.line.added_by_actor) == (cart_pb2.CART_ACTOR_BUYER, "")
    kinds = [(kind, payload.added_by, payload.actor) for kind, payload in await cart.events()]
    assert kinds == [("CartItemAdded", buyer_id, "buddy"), ("CartItemAdded", buyer_id, "")]
