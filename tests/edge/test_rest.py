"""REST/JSON through Envoy's transcoder, against the real services: each public RPC family, its errors as HTTP
statuses with JSON bodies, server streaming as NDJSON, and what the edge itself refuses (unknown paths and
query parameters)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest

from marketplace.common.v1 import roles_pb2
from tests.edge.conftest import Stack
from tests.support.auth import PASSWORD

pytestmark = pytest.mark.timeout(180)


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def violations(reply: httpx.Response) -> set[str]:
    """The fields a JSON error names in its google.rpc.BadRequest detail."""
    body = reply.json()
    return {
        violation["field"]
        for detail in body.get("details", [])
        if detail.get("@type", "").endswith("google.rpc.BadRequest")
        for violation in detail.get("fieldViolations", [])
    }


async def register(stack: Stack, **fields: Any) -> dict[str, Any]:
    name = "u" + uuid.uuid4().hex[:12]
    body = {"email": f"{name}@example.com", "username": name, "password": PASSWORD, "role": "ROLE_BUYER"} | fields
    reply = await stack.http.post("/v1/auth:register", json=body)
    assert reply.status_code == 200, reply.text
    registered: dict[str, Any] = reply.json()
    registered["username"] = name
    return registered


def product_body(**fields: Any) -> dict[str, Any]:
    return {
        "sku": "SKU-" + uuid.uuid4().hex[:10],
        "title": "Insulated travel mug",
        "description": "Keeps coffee hot for hours.",
        "category": "kitchen",
        "brand": "Thermia",
        "attributes": {"color": "blue"},
        "stock": 10,
        "price": {"currencyCode": "USD", "units": "1999"},
    } | fields


async def create_product(stack: Stack, token: str, **fields: Any) -> dict[str, Any]:
    reply = await stack.http.post(
        "/v1/products", json={"product": product_body(**fields), "requestId": str(uuid.uuid4())}, headers=bearer(token)
    )
    assert reply.status_code == 200, reply.text
    product: dict[str, Any] = reply.json()["product"]
    return product


async def test_auth_register_login_and_me(stack: Stack) -> None:
    registered = await register(stack)
    # proto3 JSON names, primitive fields printed even when empty.
    assert set(registered) >= {"user", "tokens"}
    assert registered["user"]["role"] == "ROLE_BUYER" and registered["user"]["storeName"] == ""
    access = registered["tokens"]["accessToken"]

    login = await stack.http.post("/v1/auth:login", json={"login": registered["username"], "password": PASSWORD})
    assert login.status_code == 200, login.text
    assert login.json()["tokens"]["accessToken"]

    wrong = await stack.http.post("/v1/auth:login", json={"login": registered["username"], "password": "x" * 12})
    assert wrong.status_code == 401
    assert wrong.json()["code"] == 16  # UNAUTHENTICATED, from the service (a JSON body, not Envoy's text)

    me = await stack.http.get("/v1/users/me", headers=bearer(access))
    assert me.status_code == 200, me.text
    assert me.json()["user"]["id"] == registered["user"]["id"]
    # gRPC framing headers stay behind the edge.
    assert not {name for name in me.headers if name.startswith("grpc-")}
    assert me.headers["x-request-id"]

    missing = await stack.http.get("/v1/users/me")
    assert missing.status_code == 401
    assert "www-authenticate" in missing.headers

    # A signed-in buyer is not an admin: the service refuses (403 with the status as JSON).
    users = await stack.http.get("/v1/users", headers=bearer(access))
    assert users.status_code == 403, users.text
    assert users.json()["code"] == 7


async def test_validation_errors_name_the_fields(stack: Stack) -> None:
    reply = await stack.http.post(
        "/v1/auth:register", json={"email": "not-an-email", "username": "X", "password": "short"}
    )
    assert reply.status_code == 400, reply.text
    assert {"email", "username", "password"} <= violations(reply)
    assert reply.json()["code"] == 3

    seller = (await stack.auth.user_token(role=roles_pb2.ROLE_SELLER))[0]
    bad = await stack.http.post(
        "/v1/products",
        json={"product": product_body(price={"currencyCode": "usd", "units": "5"}), "requestId": str(uuid.uuid4())},
        headers=bearer(seller),
    )
    assert bad.status_code == 400, bad.text
    assert any(field.startswith("product.price") for field in violations(bad)), bad.text


async def test_catalog_products_by_rest(stack: Stack) -> None:
    seller, seller_id = await stack.auth.user_token(role=roles_pb2.ROLE_SELLER)
    product = await create_product(stack, seller, title="Edge mug")
    assert product["sellerId"] == seller_id

    # Public reads need no token.
    got = await stack.http.get(f"/v1/products/{product['id']}")
    assert got.status_code == 200, got.text
    assert got.json()["product"]["title"] == "Edge mug"
    listed = await stack.http.get("/v1/products", params={"pageSize": 5})
    assert listed.status_code == 200, listed.text
    assert any(item["id"] == product["id"] for item in listed.json()["products"])

    missing = await stack.http.get(f"/v1/products/{uuid.uuid4()}")
    assert missing.status_code == 404, missing.text
    assert missing.json()["code"] == 5

    # Writing needs a token; another seller's product is not theirs to change.
    anonymous = await stack.http.patch(
        f"/v1/products/{product['id']}", params={"updateMask": "title"}, json={"title": "Mine"}
    )
    assert anonymous.status_code == 401
    other = (await stack.auth.user_token(role=roles_pb2.ROLE_SELLER))[0]
    stolen = await stack.http.patch(
        f"/v1/products/{product['id']}", params={"updateMask": "title"}, json={"title": "Mine"}, headers=bearer(other)
    )
    assert stolen.status_code in (403, 404), stolen.text
    own = await stack.http.patch(
        f"/v1/products/{product['id']}",
        params={"updateMask": "title"},
        json={"title": "Renamed"},
        headers=bearer(seller),
    )
    assert own.status_code == 200, own.text
    assert own.json()["product"]["title"] == "Renamed"

    # A buyer is not a seller.
    buyer = (await register(stack))["tokens"]["accessToken"]
    refused = await stack.http.post(
        "/v1/products", json={"product": product_body(), "requestId": str(uuid.uuid4())}, headers=bearer(buyer)
    )
    assert refused.status_code == 403, refused.text


async def test_cart_by_rest(stack: Stack) -> None:
    seller = (await stack.auth.user_token(role=roles_pb2.ROLE_SELLER))[0]
    product = await create_product(stack, seller, stock=5)
    buyer = (await register(stack))["tokens"]["accessToken"]

    assert (await stack.http.get("/v1/cart")).status_code == 401
    added = await stack.http.post(
        "/v1/cart/items", json={"productId": product["id"], "quantity": 2}, headers=bearer(buyer)
    )
    assert added.status_code == 200, added.text
    cart = (await stack.http.get("/v1/cart", headers=bearer(buyer))).json()["cart"]
    [line] = cart["lines"]
    assert line["productId"] == product["id"] and line["quantity"] == 2

    # Carts are the token's own: another buyer sees an empty one.
    stranger = (await register(stack))["tokens"]["accessToken"]
    assert (await stack.http.get("/v1/cart", headers=bearer(stranger))).json()["cart"]["lines"] == []

    too_many = await stack.http.post(
        "/v1/cart/items", json={"productId": product["id"], "quantity": 0}, headers=bearer(buyer)
    )
    assert too_many.status_code == 400 and "quantity" in violations(too_many)
    unknown = await stack.http.post(
        "/v1/cart/items", json={"productId": str(uuid.uuid4()), "quantity": 1}, headers=bearer(buyer)
    )
    assert unknown.status_code in (404, 400), unknown.text


async def test_watch_product_streams_ndjson(stack: Stack) -> None:
    seller = (await stack.auth.user_token(role=roles_pb2.ROLE_SELLER))[0]
    product = await create_product(stack, seller, stock=7)
    lines: list[dict[str, Any]] = []

    async def watch() -> None:
        async with stack.http.stream("GET", f"/v1/products/{product['id']}:watch") as reply:
            assert reply.status_code == 200
            async for line in reply.aiter_lines():
                if line.strip():
                    lines.append(json.loads(line))
                if len(lines) >= 2:
                    return

    watching = asyncio.create_task(watch())
    # The first message is the current state; a stock change then arrives as a line of its own.
    for _ in range(100):
        if lines:
            break
        await asyncio.sleep(0.05)
    assert lines and lines[0]["productId"] == product["id"] and lines[0]["stock"] == 7
    adjusted = await stack.http.post(
        f"/v1/products/{product['id']}:adjustStock", json={"delta": 3, "reason": "restock"}, headers=bearer(seller)
    )
    assert adjusted.status_code == 200, adjusted.text
    await asyncio.wait_for(watching, 20)
    assert lines[1]["stock"] == 10


async def test_unknown_paths_and_query_parameters(stack: Stack) -> None:
    unknown = await stack.http.get("/v1/nothing-here")
    assert unknown.status_code == 404
    wrong_verb = await stack.http.delete("/v1/auth:login")
    assert wrong_verb.status_code == 404
    extra = await stack.http.get("/v1/products", params={"colour": "red"})
    assert extra.status_code == 400
    assert "colour" in extra.text


async def test_request_ids_and_json_access_log(stack: Stack) -> None:
    reply = await stack.http.get("/v1/categories")
    assert reply.status_code == 200, reply.text
    request_id = reply.headers["x-request-id"]
    for _ in range(50):
        entries = [entry for entry in stack.access_log() if entry.get("request_id") == request_id]
        if entries:
            break
        await asyncio.sleep(0.1)
    [entry] = entries
    assert entry["path"] == "/v1/categories" and entry["status"] == 200 and entry["upstream"] == "catalog"


async def test_openapi_is_served(stack: Stack) -> None:
    from services.edge.settings import OPENAPI_PATH

    reply = await stack.http.get("/openapi.yaml")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/yaml"
    assert reply.text == OPENAPI_PATH.read_text()


async def test_request_size_limit(stack: Stack) -> None:
    huge = {"login": "someone", "password": "x" * (2 * 1024 * 1024)}
    reply = await stack.http.post("/v1/auth:login", json=huge)
    assert reply.status_code == 413, reply.text[:300]


async def test_edge_health(stack: Stack) -> None:
    # Every service of the stack serves: the edge is ready.
    reply = await stack.http.get("/healthz")
    assert reply.status_code == 200
