"""What probing and the fuzz suite found, each through the real servers: the answer, and that nothing was written.

- A NUL character (U+0000) in a string field answered INTERNAL (PostgreSQL refuses it in text): now
  INVALID_ARGUMENT naming the field, from the kit, before any handler runs.
- A page token handed out by one list, sent to another, is INVALID_ARGUMENT naming page_token.
"""

from __future__ import annotations

import uuid

import grpc
import pytest
from google.rpc import error_details_pb2
from sqlalchemy import text

from marketplace.auth.v1 import auth_pb2, auth_pb2_grpc
from marketplace.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from marketplace.common.v1 import money_pb2
from tests.fuzz.conftest import Mesh
from tests.kit.rpc.support import field_violations, status_details, unpack

NUL_DESCRIPTION = "must not contain the NUL character (U+0000)"


def auth_stub(mesh: Mesh) -> auth_pb2_grpc.AuthServiceStub:
    return auth_pb2_grpc.AuthServiceStub(mesh.services["auth"].channel)


def catalog_stub(mesh: Mesh) -> catalog_pb2_grpc.CatalogServiceStub:
    if "catalog" not in mesh.services:
        pytest.skip("no catalog service")
    return catalog_pb2_grpc.CatalogServiceStub(mesh.services["catalog"].channel)


def all_violations(error: grpc.aio.AioRpcError) -> list[tuple[str, str]]:
    bad_request = unpack(status_details(error), error_details_pb2.BadRequest)
    assert bad_request is not None, "no BadRequest"
    return [(item.field, item.description) for item in bad_request.field_violations]


async def refused(call, request, **options) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(request, timeout=10, **options)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, caught.value.details()
    return caught.value


async def count(mesh: Mesh, service: str, statement: str, **params) -> int:
    sessions = mesh.services[service].running.runtime.sessions
    assert sessions is not None
    async with sessions() as session:
        return int((await session.execute(text(statement), params)).scalar_one())


async def test_register_with_a_nul_in_display_name_is_invalid_argument_and_creates_no_user(mesh: Mesh):
    name = "u" + uuid.uuid4().hex[:12]
    request = auth_pb2.RegisterRequest(
        email=f"{name}@example.com", username=name, password="correct horse battery", display_name="A\u0000B"
    )
    error = await refused(auth_stub(mesh).Register, request)
    assert field_violations(error) == {"display_name": NUL_DESCRIPTION}
    assert await count(mesh, "auth", "SELECT count(*) FROM users WHERE username = :name", name=name) == 0


async def test_login_with_a_nul_in_login_is_invalid_argument(mesh: Mesh):
    error = await refused(auth_stub(mesh).Login, auth_pb2.LoginRequest(login="ad\u0000min", password="x"))
    assert field_violations(error) == {"login": NUL_DESCRIPTION}


async def test_create_product_with_a_nul_in_title_is_invalid_argument_and_creates_nothing(mesh: Mesh):
    catalog = catalog_stub(mesh)
    sku = "SKU-" + uuid.uuid4().hex[:10]
    product = catalog_pb2.Product(
        sku=sku,
        title="A\u0000B",
        category="kitchen",
        attributes={"color": "bl\u0000ue"},
        price=money_pb2.Money(currency_code="USD", units=100),
    )
    request = catalog_pb2.CreateProductRequest(product=product, request_id=str(uuid.uuid4()))
    error = await refused(catalog.CreateProduct, request, metadata=mesh.callers["seller"])
    assert field_violations(error) == {"product.title": NUL_DESCRIPTION, 'product.attributes["color"]': NUL_DESCRIPTION}
    assert await count(mesh, "catalog", "SELECT count(*) FROM products WHERE sku = :sku", sku=sku) == 0


async def test_search_with_a_nul_in_query_is_invalid_argument(mesh: Mesh):
    error = await refused(catalog_stub(mesh).SearchProducts, catalog_pb2.SearchProductsRequest(query="mu\u0000g"))
    assert field_violations(error) == {"query": NUL_DESCRIPTION}


async def test_reserve_stock_names_the_item_holding_a_nul(mesh: Mesh):
    items = [
        catalog_pb2.ReservationItem(product_id=str(uuid.uuid4()), variant_id=str(uuid.uuid4()), quantity=1)
        for _ in range(2)
    ]
    items.append(catalog_pb2.ReservationItem(product_id="\u0000", quantity=1))
    request = catalog_pb2.ReserveStockRequest(reservation_id=str(uuid.uuid4()), order_id=str(uuid.uuid4()), items=items)
    error = await refused(catalog_stub(mesh).ReserveStock, request, metadata=mesh.callers["service"])
    # Named by the kit's check, and by the contract's uuid rule too.
    assert ("items[2].product_id", NUL_DESCRIPTION) in all_violations(error)


# --- page tokens from another list ---------------------------------------------------------------------------


async def _page_tokens(mesh: Mesh) -> dict[str, str]:
    """The second-page token of each list."""
    catalog = catalog_stub(mesh)
    auth = auth_stub(mesh)
    tokens = {
        "ListProducts": (await catalog.ListProducts(catalog_pb2.ListProductsRequest(page_size=1))).next_page_token,
        "ListMyProducts": (
            await catalog.ListMyProducts(
                catalog_pb2.ListMyProductsRequest(page_size=1), metadata=mesh.callers["seller"]
            )
        ).next_page_token,
        "SearchProducts": (
            await catalog.SearchProducts(catalog_pb2.SearchProductsRequest(query="mug", page_size=1))
        ).next_page_token,
        "ListUsers": (
            await auth.ListUsers(auth_pb2.ListUsersRequest(page_size=1), metadata=mesh.callers["admin"])
        ).next_page_token,
    }
    assert all(tokens.values()), tokens
    return tokens


async def test_a_page_token_of_another_list_is_invalid_argument_naming_page_token(mesh: Mesh):
    tokens = await _page_tokens(mesh)
    catalog = catalog_stub(mesh)
    auth = auth_stub(mesh)
    seller, admin = mesh.callers["seller"], mesh.callers["admin"]
    lists = {
        "ListProducts": lambda token: catalog.ListProducts(
            catalog_pb2.ListProductsRequest(page_size=1, page_token=token), timeout=10
        ),
        "ListMyProducts": lambda token: catalog.ListMyProducts(
            catalog_pb2.ListMyProductsRequest(page_size=1, page_token=token), metadata=seller, timeout=10
        ),
        "SearchProducts": lambda token: catalog.SearchProducts(
            catalog_pb2.SearchProductsRequest(query="mug", page_size=1, page_token=token), timeout=10
        ),
        "ListUsers": lambda token: auth.ListUsers(
            auth_pb2.ListUsersRequest(page_size=1, page_token=token), metadata=admin, timeout=10
        ),
    }
    accepted = []
    for target, send in lists.items():
        for source, token in tokens.items():
            if source == target:
                continue
            try:
                await send(token)
            except grpc.aio.AioRpcError as error:
                assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, f"{source} token to {target}: {error.code()}"
                assert "page_token" in field_violations(error), f"{source} token to {target}"
                continue
            accepted.append(f"{source} token to {target}")
    assert accepted == []


# --- many violations, long ones ------------------------------------------------------------------------------
# Found by the fuzz suite: every violation went into the status details trailer, and past 8 KiB of trailers
# the client refused the answer as RESOURCE_EXHAUSTED instead of reading the INVALID_ARGUMENT.


async def test_a_thousand_bad_items_still_get_invalid_argument(mesh: Mesh):
    items = [catalog_pb2.ReservationItem(product_id=f"bad-{index}\u0000", quantity=0) for index in range(1000)]
    request = catalog_pb2.ReserveStockRequest(reservation_id=str(uuid.uuid4()), order_id=str(uuid.uuid4()), items=items)
    error = await refused(catalog_stub(mesh).ReserveStock, request, metadata=mesh.callers["service"])
    reported = all_violations(error)
    assert len(reported) == 11
    assert reported[0] == ("items[0].product_id", NUL_DESCRIPTION)
    assert reported[-1][1].startswith("and ") and reported[-1][1].endswith(" more")


async def test_a_huge_bad_map_key_still_gets_invalid_argument(mesh: Mesh):
    product = catalog_pb2.Product(
        sku="SKU-" + uuid.uuid4().hex[:10],
        title="Mug",
        category="kitchen",
        attributes={"k" * 6000 + "\u0000": "v"},
        price=money_pb2.Money(currency_code="USD", units=100),
    )
    request = catalog_pb2.CreateProductRequest(product=product, request_id=str(uuid.uuid4()))
    error = await refused(catalog_stub(mesh).CreateProduct, request, metadata=mesh.callers["seller"])
    fields = [field for field, _ in all_violations(error)]
    assert fields and all(len(field.encode()) <= 200 for field in fields)
    assert fields[0].startswith('product.attributes["kkk')
