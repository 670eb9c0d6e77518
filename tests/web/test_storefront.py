"""The storefront in a real browser. A seller signs up, lists a shoe in three sizes and adds stock; a shopper
signs up, searches, sees a restock arrive live on the product page (WatchProduct), fills the cart, checks out
with the local payment provider and watches the order turn PAID live (WatchOrder over gRPC-Web). Every call
goes through Envoy on the page's own origin. Screenshots of each step land in var/screenshots/storefront/."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.async_api import Request, expect

from marketplace.auth.v1 import auth_pb2
from marketplace.catalog.v1 import catalog_pb2
from tests.support.auth import bearer
from tests.web.browser import open_page, shot
from tests.web.conftest import Storefront

pytestmark = pytest.mark.timeout(90)

PASSWORD = "correct horse battery"


async def restock(storefront: Storefront, login: str, product_id: str, *, size: str, delta: int) -> None:
    catalog = storefront.checkout.order.cart.catalog
    signed_in = await catalog.auth.stub.Login(auth_pb2.LoginRequest(login=login, password=PASSWORD))
    me = bearer(signed_in.tokens.access_token)
    product = (await catalog.stub.GetProduct(catalog_pb2.GetProductRequest(id=product_id), metadata=me)).product
    variant = next(variant for variant in product.variants if variant.option_values["size"] == size)
    request = catalog_pb2.AdjustStockRequest(id=product_id, variant_id=variant.id, delta=delta, reason="restock")
    await catalog.stub.AdjustStock(request, metadata=me)


async def test_a_shopper_signs_up_searches_buys_and_sees_the_order_paid_live(storefront: Storefront) -> None:
    catalog = storefront.checkout.order.cart.catalog
    other_seller, _ = await catalog.seller()
    await catalog.create(other_seller, title="Insulated travel mug", price=1999)
    name = "shopper_" + uuid.uuid4().hex[:8]
    seller_name = "seller_" + uuid.uuid4().hex[:8]

    calls: list[Request] = []
    async with open_page(storefront.browser_path) as page:
        page.on("request", lambda request: calls.append(request) if "/marketplace." in request.url else None)

        # The storefront comes from the edge itself.
        reply = await page.goto(storefront.url + "/")
        assert reply is not None and reply.ok
        assert reply.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in reply.headers["content-security-policy"]
        script = await page.request.get(storefront.url + "/assets/app.js")
        assert script.ok and script.headers["content-type"].startswith("text/javascript")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Shop")
        await shot(page, "01-shop")

        # The seller's side: an account with a store, a product with sizes, stock, what is not offered.
        await page.get_by_role("link", name="Sign up").click()
        await page.get_by_label("Email").fill(f"{seller_name}@example.com")
        await page.get_by_label("Username").fill(seller_name)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_label("sell (and buy)").check()
        await page.get_by_label("Store name").fill("Stride shoes")
        await page.get_by_role("button", name="Create account").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Seller: Stride shoes")
        await page.get_by_role("link", name="Add a product").click()
        await page.get_by_label("Title").fill("Trail running shoe")
        await page.get_by_label("SKU").fill("TRAIL-" + uuid.uuid4().hex[:6])
        await page.get_by_label("Price ($)").fill("80.00")
        await page.get_by_label("Category").fill("shoes")
        await page.get_by_label("Brand").fill("Stride")
        await page.get_by_label("Stock", exact=True).fill("9")
        await page.get_by_label("Options").fill("size: 41, 42, 43")
        await shot(page, "02-seller-new-product")
        await page.get_by_role("button", name="Add the product").click()
        mine = page.get_by_test_id("my-products")
        await expect(mine).to_contain_text("Trail running shoe")
        size_42 = mine.get_by_test_id("variant").filter(has_text="size: 42")
        await expect(size_42).to_contain_text("size: 42: 9")
        await size_42.get_by_label("Stock change for size: 42").fill("1")
        await size_42.get_by_role("button", name="Adjust stock").click()
        await expect(mine.get_by_test_id("variant").filter(has_text="size: 42")).to_contain_text("size: 42: 10")
        await expect(page.get_by_role("note").filter(has_text="not offered yet")).to_be_visible()
        await page.get_by_role("button", name="Assistant").click()
        await expect(page.get_by_role("complementary")).to_contain_text("not available yet")
        await shot(page, "03-seller")
        await page.keyboard.press("Escape")
        await page.get_by_role("button", name="Sign out").click()

        await page.get_by_role("link", name="Sign up").click()
        await page.get_by_label("Email").fill(f"{name}@example.com")
        await page.get_by_label("Username").fill(name)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_label("Display name").fill("Sam Shopper")
        await shot(page, "04-sign-up")
        await page.get_by_role("button", name="Create account").click()
        await expect(page.get_by_test_id("signed-in-as")).to_have_text("Signed in as Sam Shopper")

        await page.get_by_role("searchbox", name="Search").fill("trail shoe")
        await page.get_by_role("button", name="Search").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Results for “trail shoe”")
        products = page.get_by_test_id("products")
        await expect(products.get_by_role("link", name="Trail running shoe")).to_be_visible()
        await expect(products.get_by_role("link", name="Insulated travel mug")).to_have_count(0)
        await shot(page, "05-search")

        await products.get_by_role("link", name="Trail running shoe").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Trail running shoe")
        add = page.get_by_role("button", name="Add to cart")
        await expect(add).to_be_disabled()  # no size chosen yet
        await page.get_by_role("group", name="size").get_by_label("42").check()
        await expect(page.get_by_text("10 in stock")).to_be_visible()
        # The seller restocks while the shopper looks: the page follows (WatchProduct).
        product_id = page.url.rsplit("/", 1)[-1]
        await restock(storefront, seller_name, product_id, size="42", delta=5)
        await expect(page.get_by_text("15 in stock")).to_be_visible()
        await page.get_by_label("Quantity").fill("2")
        await add.click()
        await expect(page.get_by_text("Added. Your cart has 2 items.")).to_be_visible()
        await shot(page, "06-product")

        await page.get_by_role("link", name="Cart", exact=True).click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Your cart")
        await expect(page.get_by_test_id("subtotal")).to_have_text("$160.00")
        await shot(page, "07-cart")

        await page.get_by_role("link", name="Check out").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Checkout")
        await page.get_by_label("Recipient name").fill("Sam Shopper")
        await page.get_by_label("Address line 1").fill("1 Market Street")
        await page.get_by_label("City").fill("Springfield")
        await page.get_by_label("Postal code").fill("12345")
        await shot(page, "08-checkout")
        await page.get_by_role("button", name="Place order and pay").click()

        # The stream opened right after the order was placed: it shows the payment arrive.
        await expect(page.get_by_test_id("order-status")).to_have_text("Paid")
        history = page.get_by_test_id("status-history")
        await expect(history).to_contain_text(re.compile(r"Pending payment[\s\S]*Paid"))
        await shot(page, "09-paid-live")

        # Signed out and in again (Login), the order history still shows it.
        await page.get_by_role("button", name="Sign out").click()
        await page.get_by_role("link", name="Sign in").click()
        await page.get_by_label("Email or username").fill(name)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_test_id("signed-in-as")).to_have_text("Signed in as Sam Shopper")
        await page.get_by_role("navigation", name="Main").get_by_role("link", name="My orders").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("My orders")
        row = page.get_by_test_id("orders").get_by_role("row").nth(1)
        await expect(row).to_contain_text("$160.00")
        await expect(row).to_contain_text("Paid")
        await row.get_by_role("link").click()
        await expect(page.get_by_test_id("order-status")).to_have_text("Paid")
        await expect(page.get_by_text("2 × Trail running shoe (size: 42)")).to_be_visible()
        await shot(page, "10-order")

    # Every call was gRPC-Web to the page's own origin, the live status a server stream.
    assert calls
    for call in calls:
        assert call.url.startswith(storefront.url + "/marketplace.")
        assert call.headers.get("content-type") == "application/grpc-web+proto", call.url
    paths = {call.url.removeprefix(storefront.url) for call in calls}
    assert "/marketplace.order.v1.OrderService/WatchOrder" in paths
    assert "/marketplace.payment.v1.PaymentService/ConfirmPayment" in paths
