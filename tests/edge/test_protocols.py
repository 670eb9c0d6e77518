"""gRPC and gRPC-Web through Envoy with real clients, and the internal RPCs, which no protocol reaches from outside."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import grpc
import pytest

from marketplace.auth.v1 import auth_pb2, auth_pb2_grpc
from marketplace.cart.v1 import cart_pb2, cart_pb2_grpc
from marketplace.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from marketplace.common.v1 import money_pb2, roles_pb2
from services.edge import contracts
from services.edge.settings import EDGE_DESCRIPTORS
from tests.edge.conftest import Stack
from tests.edge.grpc_web import grpc_web_call
from tests.support.auth import bearer, service_secret

pytestmark = pytest.mark.timeout(180)


async def new_product(stack: Stack, **fields: object) -> tuple[catalog_pb2.Product, tuple[tuple[str, str]]]:
    seller = bearer((await stack.auth.user_token(role=roles_pb2.ROLE_SELLER))[0])
    product = catalog_pb2.Product(
        sku="SKU-" + uuid.uuid4().hex[:10],
        title="Edge kettle",
        description="Boils water.",
        category="kitchen",
        brand="Thermia",
        stock=4,
        price=money_pb2.Money(currency_code="EUR", units=2500),
    )
    created = await stack.catalog.stub.CreateProduct(
        catalog_pb2.CreateProductRequest(product=product, request_id=str(uuid.uuid4())), metadata=seller
    )
    return created.product, seller


# --- gRPC -------------------------------------------------------------------------------------------------------


async def test_grpc_through_envoy(stack: Stack) -> None:
    product, _ = await new_product(stack)
    async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
        catalog = catalog_pb2_grpc.CatalogServiceStub(channel)
        got = await catalog.GetProduct(catalog_pb2.GetProductRequest(id=product.id), timeout=10)
        assert got.product.title == "Edge kettle"

        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await catalog.GetProduct(catalog_pb2.GetProductRequest(id=str(uuid.uuid4())), timeout=10)
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND

        with pytest.raises(grpc.aio.AioRpcError) as invalid:
            await catalog.GetProduct(catalog_pb2.GetProductRequest(id="not-a-uuid"), timeout=10)
        assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT

        cart = cart_pb2_grpc.CartServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as anonymous:
            await cart.GetCart(cart_pb2.GetCartRequest(), timeout=10)
        # Refused by the edge: Envoy's 401 becomes UNAUTHENTICATED for a gRPC client.
        assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
        token, _ = await stack.auth.user_token()
        own = await cart.GetCart(cart_pb2.GetCartRequest(), metadata=bearer(token), timeout=10)
        assert list(own.cart.lines) == []

        # Server streaming passes through with no route timeout.
        stream = catalog.WatchProduct(catalog_pb2.WatchProductRequest(id=product.id))
        first = await asyncio.wait_for(stream.read(), 10)
        assert first.product_id == product.id and first.stock == 4
        stream.cancel()


# --- gRPC-Web ---------------------------------------------------------------------------------------------------


async def test_grpc_web_with_a_hand_built_frame(stack: Stack) -> None:
    product, _ = await new_product(stack)
    path = "/marketplace.catalog.v1.CatalogService/GetProduct"
    reply, messages, status = await grpc_web_call(
        stack, path, catalog_pb2.GetProductRequest(id=product.id).SerializeToString()
    )
    assert reply.status_code == 200 and status == "0", reply.headers
    assert catalog_pb2.GetProductResponse.FromString(messages[0]).product.id == product.id

    _, _, missing = await grpc_web_call(
        stack, path, catalog_pb2.GetProductRequest(id=str(uuid.uuid4())).SerializeToString()
    )
    assert missing == str(grpc.StatusCode.NOT_FOUND.value[0])

    _, _, anonymous = await grpc_web_call(
        stack, "/marketplace.cart.v1.CartService/GetCart", cart_pb2.GetCartRequest().SerializeToString()
    )
    assert anonymous == str(grpc.StatusCode.UNAUTHENTICATED.value[0])


def buf_binary() -> str | None:
    return shutil.which("buf") or shutil.which("buf", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(buf_binary() is None, reason="buf is not installed")
async def test_grpc_web_with_buf_curl(stack: Stack) -> None:
    product, _ = await new_product(stack)
    command = [
        str(buf_binary()),
        "curl",
        "--protocol",
        "grpcweb",
        "--schema",
        str(EDGE_DESCRIPTORS),
        "-d",
        json.dumps({"id": product.id}),
        f"{stack.url}/marketplace.catalog.v1.CatalogService/GetProduct",
    ]
    done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["product"]["id"] == product.id


async def test_grpc_with_grpcurl_and_the_descriptor_set(stack: Stack) -> None:
    """An operator's grpcurl through the edge, with the contracts' descriptor set instead of reflection."""
    product, _ = await new_product(stack)
    grpcurl = Path(sys.executable).parent / "grpcurl"
    host_port = stack.url.removeprefix("http://")
    command = [
        str(grpcurl),
        "-plaintext",
        "-protoset",
        str(EDGE_DESCRIPTORS),
        "-d",
        json.dumps({"id": product.id}),
        host_port,
        "marketplace.catalog.v1.CatalogService/GetProduct",
    ]
    done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["product"]["id"] == product.id
    # An internal RPC is not there for it either.
    internal = [*command[:-1], "marketplace.catalog.v1.CatalogService/ReserveStock"]
    internal[internal.index("-d") + 1] = "{}"
    refused = await asyncio.to_thread(subprocess.run, internal, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "Unimplemented" in refused.stdout + refused.stderr


# --- internal RPCs ----------------------------------------------------------------------------------------------


def internal_rpcs() -> list[contracts.Rpc]:
    found = contracts.rpcs(contracts.load_descriptor_set(), ["auth", "catalog", "cart"])
    return [rpc for rpc in found if rpc.internal]


async def test_internal_rpcs_are_not_routable(stack: Stack) -> None:
    internal = internal_rpcs()
    names = {rpc.name for rpc in internal}
    assert {"IssueServiceToken", "ExchangeToken", "ReserveStock"} <= names
    # A real service token: even a caller the services would accept is stopped at the edge.
    issued = await stack.auth.stub.IssueServiceToken(
        auth_pb2.IssueServiceTokenRequest(client_id="order", client_secret=service_secret("order"))
    )
    service = bearer(issued.access_token)
    async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
        for rpc in internal:
            call = channel.unary_unary(rpc.grpc_path, None, None)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await call(b"", metadata=service, timeout=10)
            assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED, rpc.grpc_path

            reply, _, status = await grpc_web_call(stack, rpc.grpc_path, b"", authorization=service[0][1])
            assert reply.status_code == 404 or status == str(grpc.StatusCode.UNIMPLEMENTED.value[0]), rpc.grpc_path

            posted = await stack.http.post(rpc.grpc_path, json={}, headers={"authorization": service[0][1]})
            assert posted.status_code == 404, rpc.grpc_path

        # The control: the same generic call reaches a routed RPC (so the refusals above are the edge's).
        jwks = channel.unary_unary("/marketplace.auth.v1.AuthService/GetJwks", None, None)
        raw = await jwks(auth_pb2.GetJwksRequest().SerializeToString(), timeout=10)
        assert auth_pb2.GetJwksResponse.FromString(raw).keys

    # IssueServiceToken directly on auth works: the refusal is the edge's, not the service's.
    direct = auth_pb2_grpc.AuthServiceStub(stack.auth.channel)
    assert (
        await direct.IssueServiceToken(
            auth_pb2.IssueServiceTokenRequest(client_id="order", client_secret=service_secret("order"))
        )
    ).access_token


async def test_request_size_limit_over_grpc(stack: Stack) -> None:
    async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
        catalog = catalog_pb2_grpc.CatalogServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await catalog.GetProduct(catalog_pb2.GetProductRequest(id="x" * (2 * 1024 * 1024)), timeout=10)
    # Refused by the edge (its 413 as a gRPC status), not by the service's validation (INVALID_ARGUMENT).
    assert error.value.code() == grpc.StatusCode.UNKNOWN, error.value
    assert error.value.details() == "Payload Too Large"
