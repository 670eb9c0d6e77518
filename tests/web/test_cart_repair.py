"""A cart that can no longer be bought as it stands, in a real browser: the cart says which lines and why, one
click keeps only what can be bought (a line no longer sold leaves, a short line keeps the units in stock), and
checkout is offered again. Before that, the checkout page sends the buyer back to the cart rather than letting
an order be refused."""

from __future__ import annotations

import uuid

import pytest
from playwright.async_api import expect

from marketplace.auth.v1 import auth_pb2
from marketplace.cart.v1 import cart_pb2
from marketplace.catalog.v1 import catalog_pb2
from tests.support.auth import bearer
from tests.web.browser import open_page, shot
from tests.web.conftest import Storefront
from tests.web.test_storefront import PASSWORD

pytestmark = pytest.mark.timeout(90)


async def test_one_click_keeps_only_what_can_be_bought(storefront: Storefront) -> None:
    cart = storefront.checkout.order.cart
    catalog = cart.catalog
    seller, _ = await catalog.seller()
    teapot = await catalog.create(seller, title="Ceramic teapot", price=2500, stock=5)
    towel = await catalog.create(seller, title="Linen tea towel", price=900, stock=5)
    tea = await catalog.create(seller, title="Loose leaf green tea", price=1200, stock=5)
    name = "buyer_" + uuid.uuid4().hex[:8]
    registered = await catalog.auth.stub.Register(
        auth_pb2.RegisterRequest(
            email=f"{name}@example.com", username=name, password=PASSWORD, display_name="Tea Drinker"
        )
    )
    me = bearer(registered.tokens.access_token)
    for product, quantity in ((teapot, 1), (towel, 4), (tea, 2)):
        await cart.stub.AddCartItem(cart_pb2.AddCartItemRequest(product_id=product.id, quantity=quantity), metadata=me)
    # The teapot is no longer sold; only one towel is left.
    await catalog.stub.DeleteProduct(catalog_pb2.DeleteProductRequest(id=teapot.id), metadata=seller)
    await catalog.stub.AdjustStock(
        catalog_pb2.AdjustStockRequest(id=towel.id, delta=-4, reason="damaged"), metadata=seller
    )

    async with open_page(storefront.browser_path) as page:
        await page.goto(storefront.url + "/#/signin")
        await page.get_by_label("Email or username").fill(name)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_test_id("signed-in-as")).to_have_text("Signed in as Tea Drinker")

        # Checkout first: it sends the buyer to the cart instead of an order that would be refused.
        await page.goto(storefront.url + "/#/checkout")
        await expect(page.get_by_role("alert")).to_contain_text("can't be bought as they stand")
        await expect(page.get_by_role("button", name="Place order and pay")).to_have_count(0)
        await page.get_by_role("link", name="Review your cart").click()

        await expect(page.get_by_role("heading", level=1)).to_have_text("Your cart")
        await expect(page.get_by_role("row", name="Ceramic teapot")).to_contain_text("No longer available")
        await expect(page.get_by_role("row", name="Linen tea towel")).to_contain_text("Only 1 available")
        await expect(page.get_by_test_id("cart-blocked")).to_contain_text("2 items can't be bought")
        await expect(page.get_by_role("link", name="Check out")).to_have_count(0)
        # Only the green tea counts.
        await expect(page.get_by_text("Subtotal (2 of 7 items)")).to_be_visible()
        await expect(page.get_by_test_id("subtotal")).to_have_text("$24.00")
        await shot(page, "11-cart-blocked")

        await page.get_by_role("button", name="Keep only what can be bought").click()
        await expect(page.get_by_role("status")).to_have_text(
            "Cart updated: removed 1 item and reduced 1 item to what is in stock."
        )
        await expect(page.get_by_role("row", name="Ceramic teapot")).to_have_count(0)
        await expect(page.get_by_test_id("cart-blocked")).to_have_count(0)
        await expect(page.get_by_text("Subtotal (3 items)")).to_be_visible()
        await expect(page.get_by_test_id("subtotal")).to_have_text("$33.00")
        await expect(page.get_by_role("link", name="Check out")).to_be_visible()
        await shot(page, "12-cart-repaired")

    lines = (await cart.stub.GetCart(cart_pb2.GetCartRequest(), metadata=me)).cart.lines
    assert sorted((line.title, line.quantity, line.available) for line in lines) == [
        ("Linen tea towel", 1, True),
        ("Loose leaf green tea", 2, True),
    ]
