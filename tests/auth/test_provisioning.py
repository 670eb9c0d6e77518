"""EnsureSeller: the catalog service provisions seller accounts when it imports a catalog for them."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest

from marketplace.auth.v1 import auth_pb2
from marketplace.common.v1 import roles_pb2
from marketplace.events.v1 import envelope_pb2, events_pb2
from tests.auth.conftest import PASSWORD, Auth, bearer
from tests.support.auth import service_token


def _email() -> str:
    return f"store{uuid.uuid4().hex[:10]}@example.com"


async def _ensure(
    auth: Auth, token: str, email: str, store_name: str = "Harbour Goods"
) -> auth_pb2.EnsureSellerResponse:
    request = auth_pb2.EnsureSellerRequest(email=email, store_name=store_name)
    response: auth_pb2.EnsureSellerResponse = await auth.stub.EnsureSeller(request, metadata=bearer(token))
    return response


async def _registered_events(auth: Auth, user_id: str) -> list[events_pb2.UserRegistered]:
    rows = await auth.sql(
        "SELECT envelope FROM outbox WHERE subject = :id AND type = 'marketplace.events.v1.UserRegistered'", id=user_id
    )
    events = []
    for (raw,) in rows:
        payload = events_pb2.UserRegistered()
        assert envelope_pb2.Envelope.FromString(raw).payload.Unpack(payload)
        events.append(payload)
    return events


async def test_creates_the_seller_once_and_announces_it(auth: Auth) -> None:
    token = await service_token(auth, "catalog")
    email = _email()
    first = await _ensure(auth, token, email.upper())
    assert first.created
    second = await _ensure(auth, token, email, store_name="Another Name")
    assert (second.user_id, second.created) == (first.user_id, False)

    rows = await auth.sql("SELECT email, role, store_name, username FROM users WHERE id = :id", id=first.user_id)
    assert [row[:3] for row in rows] == [(email, "seller", "Harbour Goods")]
    assert rows[0][3] == email.split("@")[0]
    [event] = await _registered_events(auth, first.user_id)
    assert (event.email, event.role) == (email, roles_pb2.ROLE_SELLER)


async def test_a_provisioned_seller_has_no_password_until_a_reset(auth: Auth) -> None:
    token = await service_token(auth, "catalog")
    email = _email()
    created = await _ensure(auth, token, email)
    for guess in ("!provisioned", PASSWORD, ""):
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await auth.stub.Login(auth_pb2.LoginRequest(login=email, password=guess or "x"))
        assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED

    await auth.stub.RequestPasswordReset(auth_pb2.RequestPasswordResetRequest(email=email))
    [(raw,)] = await auth.sql(
        "SELECT envelope FROM outbox WHERE subject = :id AND type = 'marketplace.events.v1.PasswordResetRequested'",
        id=created.user_id,
    )
    reset = events_pb2.PasswordResetRequested()
    assert envelope_pb2.Envelope.FromString(raw).payload.Unpack(reset)
    await auth.stub.ResetPassword(auth_pb2.ResetPasswordRequest(reset_token=reset.reset_token, new_password=PASSWORD))
    login = await auth.stub.Login(auth_pb2.LoginRequest(login=email, password=PASSWORD))
    assert (login.user.id, login.user.role) == (created.user_id, roles_pb2.ROLE_SELLER)


async def test_only_the_catalog_service_may_provision(auth: Auth) -> None:
    registered, _ = await auth.register(role=roles_pb2.ROLE_SELLER, store_name="Own Store")
    admin = await auth.admin_token()
    email = _email()
    refusals = {
        "cart service": (await service_token(auth, "cart"), grpc.StatusCode.PERMISSION_DENIED),
        "seller": (registered.tokens.access_token, grpc.StatusCode.PERMISSION_DENIED),
        "admin": (admin, grpc.StatusCode.PERMISSION_DENIED),
    }
    for who, (token, code) in refusals.items():
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await _ensure(auth, token, email)
        assert error.value.code() == code, who
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await auth.stub.EnsureSeller(auth_pb2.EnsureSellerRequest(email=email, store_name="Anon"))
    assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert await auth.sql("SELECT count(*) FROM users WHERE email = :email", email=email) == [(0,)]


async def test_an_existing_buyer_is_not_turned_into_a_seller(auth: Auth) -> None:
    token = await service_token(auth, "catalog")
    registered, name = await auth.register()
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await _ensure(auth, token, f"{name}@example.com")
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert await auth.sql("SELECT role FROM users WHERE id = :id", id=registered.user.id) == [("buyer",)]


async def test_an_existing_seller_is_returned_as_is(auth: Auth) -> None:
    token = await service_token(auth, "catalog")
    registered, name = await auth.register(role=roles_pb2.ROLE_SELLER, store_name="Own Store")
    found = await _ensure(auth, token, f"{name}@example.com")
    assert (found.user_id, found.created) == (registered.user.id, False)
    assert await auth.sql("SELECT store_name FROM users WHERE id = :id", id=registered.user.id) == [("Own Store",)]


async def test_invalid_requests_write_nothing(auth: Auth) -> None:
    token = await service_token(auth, "catalog")
    for request in (
        auth_pb2.EnsureSellerRequest(email="not an email", store_name="Store"),
        auth_pb2.EnsureSellerRequest(email=_email(), store_name=""),
        auth_pb2.EnsureSellerRequest(email=_email(), store_name="x" * 101),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await auth.stub.EnsureSeller(request, metadata=bearer(token))
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert await auth.sql("SELECT count(*) FROM users") == [(0,)]


async def test_a_taken_username_gets_a_suffix(auth: Auth) -> None:
    token = await service_token(auth, "catalog")
    _, name = await auth.register()
    created = await _ensure(auth, token, f"{name}@shop.example.org")
    [(username,)] = await auth.sql("SELECT username FROM users WHERE id = :id", id=created.user_id)
    assert username != name and username.startswith(name + "_")


async def test_concurrent_calls_create_one_account(auth: Auth) -> None:
    token = await service_token(auth, "catalog")
    email = _email()
    results = await asyncio.gather(*(_ensure(auth, token, email) for _ in range(8)))
    assert len({result.user_id for result in results}) == 1
    assert sum(result.created for result in results) == 1
    assert await auth.sql("SELECT count(*) FROM users WHERE email = :email", email=email) == [(1,)]
    assert len(await _registered_events(auth, results[0].user_id)) == 1
