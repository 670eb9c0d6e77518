"""Checkout, notifications and the seller dashboard over REST/JSON through real Envoy, in front of the real
services: cart, order (server streaming as NDJSON), payment, notify and seller, with the edge's errors (400
naming fields, 401, 403, 404, 400 for a failed precondition)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.edge.runner import start_edge, stop_edge
from services.edge.settings import EDGE_DESCRIPTORS, OPENAPI_PATH, EdgeSettings, Upstream
from services.seller.service import DEFINITION as SELLER
from tests.checkout.conftest import (
    Checkout,
    StartCheckout,
    checkout,
    start_auth,
    start_cart,
    start_catalog,
    start_checkout,
    start_order,
)
from tests.edge.conftest import free_port
from tests.notify.conftest import StartNotify, mail_server, start_notify
from tests.order.support import Shop
from tests.seller.conftest import seller_settings
from tests.support.serving import migrate_service, serving

__all__ = [
    "checkout",
    "mail_server",
    "start_auth",
    "start_cart",
    "start_catalog",
    "start_checkout",
    "start_notify",
    "start_order",
]

WEBHOOK_SECRET = "whsec_edge_test"
ADDRESS = {"recipientName": "Ada Buyer", "line1": "1 Main St", "city": "Berlin", "countryCode": "DE"}


def _upstream(address: str) -> Upstream:
    host, port = address.rsplit(":", 1)
    return Upstream(host, int(port))


@pytest.fixture
async def shop_edge(
    start_checkout: StartCheckout, infra: Any, fresh_database: Any, start_notify: StartNotify
) -> AsyncIterator[tuple[Checkout, httpx.AsyncClient]]:
    checkout = await start_checkout(payment={"stripe_webhook_secret": WEBHOOK_SECRET})
    cart = checkout.order.cart
    auth_target = cart.catalog.auth.running.address
    notify = await start_notify(auth_target, worker=False)
    seller_url = await fresh_database("seller")
    await migrate_service(SELLER, seller_url)
    seller_config = seller_settings(infra.database_url, infra.redis_url, seller_url, auth_target)
    async with serving(SELLER, seller_config) as (seller, _):
        async for served in _edge(checkout, notify.running.address, seller.address):
            yield served


async def _edge(
    checkout: Checkout, notify_address: str, seller_address: str
) -> AsyncIterator[tuple[Checkout, httpx.AsyncClient]]:
    cart = checkout.order.cart
    settings = EdgeSettings(
        upstreams={
            "auth": _upstream(cart.catalog.auth.running.address),
            "catalog": _upstream(cart.catalog.running.address),
            "cart": _upstream(cart.running.address),
            "order": _upstream(checkout.order.running.address),
            "payment": _upstream(checkout.payment_running.address),
            "notify": _upstream(notify_address),
            "seller": _upstream(seller_address),
        },
        listen_port=free_port(),
        admin_port=free_port(),
        web_origins=(),
        descriptor_path=str(EDGE_DESCRIPTORS),
        openapi_path=str(OPENAPI_PATH),
        jwks_cache_seconds=5,
    )
    work = Path(tempfile.mkdtemp(prefix="mesh-edge-checkout-"))
    edge = await start_edge(settings, work, log_path=work / "envoy.log", concurrency=1)
    try:
        async with httpx.AsyncClient(base_url=edge.url, timeout=20) as http:
            yield checkout, http
    finally:
        await stop_edge(edge)
        shutil.rmtree(work, ignore_errors=True)


def bearer(metadata: Any) -> dict[str, str]:
    return {key: value for key, value in metadata}


def reason(reply: httpx.Response) -> str:
    for detail in reply.json().get("details", []):
        if detail.get("@type", "").endswith("google.rpc.ErrorInfo"):
            return str(detail["reason"])
    return ""


async def test_a_checkout_by_rest_with_the_order_watched_as_ndjson(
    shop_edge: tuple[Checkout, httpx.AsyncClient],
) -> None:
    checkout, http = shop_edge
    shop = await Shop.open(checkout.order)
    me_md, _ = await shop.buyer()
    me = bearer(me_md)
    added = await http.post(
        "/v1/cart/items",
        headers=me,
        json={"productId": shop.shoe.id, "variantId": shop.size("42").id, "quantity": 2},
    )
    assert added.status_code == 200, added.text
    assert added.json()["line"]["optionValues"] == {"size": "42"}

    # Without a token the edge refuses; with a bad request id the answer names the field.
    refused = await http.post("/v1/orders", json={"requestId": str(uuid.uuid4()), "shippingAddress": ADDRESS})
    assert refused.status_code == 401
    invalid = await http.post("/v1/orders", headers=me, json={"requestId": "nope", "shippingAddress": ADDRESS})
    assert invalid.status_code == 400 and "request_id" in invalid.text

    created = await http.post(
        "/v1/orders", headers=me, json={"requestId": str(uuid.uuid4()), "shippingAddress": ADDRESS}
    )
    assert created.status_code == 200, created.text
    order = created.json()["order"]
    assert (order["status"], order["total"]["units"]) == ("ORDER_STATUS_PENDING_PAYMENT", "16000")
    assert [part["sellerId"] for part in order["fulfilments"]] == [shop.shoe_seller_id]

    # Another buyer is refused; an unknown order is 404.
    other_md, _ = await shop.buyer()
    assert (await http.get(f"/v1/orders/{order['id']}", headers=bearer(other_md))).status_code == 403
    assert (await http.get(f"/v1/orders/{uuid.uuid4()}", headers=me)).status_code == 404

    statuses: list[str] = []

    async def watch() -> None:
        async with http.stream("GET", f"/v1/orders/{order['id']}:watch", headers=me) as stream:
            assert stream.status_code == 200
            async for line in stream.aiter_lines():
                if line.strip():
                    statuses.append(json.loads(line)["order"]["status"])
                    if statuses[-1] == "ORDER_STATUS_PAID":
                        return

    watching = asyncio.create_task(watch())
    payment = await http.post("/v1/payments", headers=me, json={"orderId": order["id"], "requestId": str(uuid.uuid4())})
    assert payment.status_code == 200, payment.text
    payment_id = payment.json()["payment"]["id"]
    confirmed = await http.post(f"/v1/payments/{payment_id}:confirm", headers=me, json={})
    assert confirmed.json()["payment"]["status"] == "PAYMENT_STATUS_SUCCEEDED"
    await asyncio.wait_for(watching, 20)
    assert statuses[0] == "ORDER_STATUS_PENDING_PAYMENT" and statuses[-1] == "ORDER_STATUS_PAID"

    # A paid order cannot be paid again: FAILED_PRECONDITION is 400 with its reason.
    again = await http.post("/v1/payments", headers=me, json={"orderId": order["id"], "requestId": str(uuid.uuid4())})
    assert (again.status_code, reason(again)) == (400, "ORDER_ALREADY_PAID")
    # The seller ships their part by REST; the buyer may not.
    ship = {"carrier": "DHL", "trackingNumber": "REST-1"}
    assert (await http.post(f"/v1/orders/{order['id']}:ship", headers=me, json=ship)).status_code == 403
    shipped = await http.post(f"/v1/orders/{order['id']}:ship", headers=bearer(shop.shoe_seller), json=ship)
    assert shipped.status_code == 200 and shipped.json()["order"]["status"] == "ORDER_STATUS_SHIPPED"
    listed = await http.get("/v1/orders", headers=me, params={"status": "ORDER_STATUS_SHIPPED"})
    assert [o["id"] for o in listed.json()["orders"]] == [order["id"]]


async def test_notifications_and_the_seller_dashboard_by_rest(shop_edge: tuple[Checkout, httpx.AsyncClient]) -> None:
    checkout, http = shop_edge
    shop = await Shop.open(checkout.order)
    me_md, _ = await shop.buyer()
    me = bearer(me_md)
    assert (await http.get("/v1/notification-preferences")).status_code == 401
    preferences = await http.get("/v1/notification-preferences", headers=me)
    assert preferences.status_code == 200, preferences.text
    # The body is the preferences (`body: "preferences"`); the mask is a query parameter. Only the named field
    # changes.
    changed = await http.patch(
        "/v1/notification-preferences",
        headers=me,
        params={"updateMask": "orderUpdatesEmail"},
        json={"orderUpdatesEmail": False},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["preferences"]["orderUpdatesEmail"] is False
    assert changed.json()["preferences"]["marketingEmail"] is preferences.json()["preferences"]["marketingEmail"]
    assert changed.json()["preferences"]["securityEmail"] is True
    unknown = await http.patch(
        "/v1/notification-preferences", headers=me, params={"updateMask": "noSuchField"}, json={}
    )
    assert unknown.status_code == 400 and "update_mask" in unknown.text, unknown.text
    # A body shaped like the gRPC request: the transcoder drops both fields the preferences do not have, so the
    # service sees empty preferences and no mask. The contract refuses it (a 400 naming the mask) instead of
    # reading it as "turn everything off"; without the query parameter, a well-shaped body is refused the same.
    grpc_shaped = {
        "preferences": {"orderUpdatesEmail": True, "marketingEmail": False, "securityEmail": False},
        "updateMask": "marketingEmail",
    }
    for body in (grpc_shaped, {"marketingEmail": False}):
        refused = await http.patch("/v1/notification-preferences", headers=me, json=body)
        assert refused.status_code == 400 and "update_mask" in refused.text, refused.text
    kept = await http.get("/v1/notification-preferences", headers=me)
    assert kept.json()["preferences"] == changed.json()["preferences"]
    too_many = await http.get("/v1/notifications", headers=me, params={"pageSize": 1000})
    assert too_many.status_code == 400 and "page_size" in too_many.text
    listed = await http.get("/v1/notifications", headers=me, params={"pageSize": 5})
    # Only the caller's own: at most the welcome of this registration (it may still be on its way).
    assert listed.status_code == 200
    assert [n["template"] for n in listed.json().get("notifications", [])] in ([], ["welcome"])

    # The dashboard is the seller's own; a buyer is refused, another seller's figures too.
    seller = bearer(shop.shoe_seller)
    board = await http.get("/v1/seller/dashboard", headers=seller)
    assert board.status_code == 200, board.text
    assert (await http.get("/v1/seller/dashboard", headers=me)).status_code == 403
    other = await http.get("/v1/seller/dashboard", headers=seller, params={"sellerId": shop.mug_seller_id})
    assert other.status_code == 403
    orders = await http.get("/v1/seller/orders", headers=seller, params={"pageSize": 5})
    assert orders.status_code == 200 and orders.json().get("orders", []) == []


def stripe_signature(payload: bytes, secret: str, timestamp: int) -> str:
    signed = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={signed}"


async def test_the_stripe_webhook_gets_its_raw_body_and_signature_through_the_edge(
    shop_edge: tuple[Checkout, httpx.AsyncClient],
) -> None:
    _, http = shop_edge
    event = {"id": f"evt_{uuid.uuid4().hex}", "object": "event", "type": "customer.created", "data": {"object": {}}}
    payload = json.dumps(event).encode()
    headers = {"content-type": "application/json"}
    # No token needed (the signature authenticates), but a forged or stale signature is refused.
    signed = stripe_signature(payload, WEBHOOK_SECRET, int(time.time()))
    accepted = await http.post(
        "/v1/payments/stripe/webhook", content=payload, headers=headers | {"stripe-signature": signed}
    )
    assert accepted.status_code == 200, accepted.text
    forged = stripe_signature(payload, "whsec_someone_else", int(time.time()))
    refused = await http.post(
        "/v1/payments/stripe/webhook", content=payload, headers=headers | {"stripe-signature": forged}
    )
    assert (refused.status_code, reason(refused)) == (401, "BAD_SIGNATURE")
    stale = stripe_signature(payload, WEBHOOK_SECRET, int(time.time()) - 3600)
    old = await http.post("/v1/payments/stripe/webhook", content=payload, headers=headers | {"stripe-signature": stale})
    assert (old.status_code, reason(old)) == (401, "BAD_SIGNATURE")
