"""Register, sign in, refresh with rotation and reuse detection, sign out."""

from __future__ import annotations

import grpc
import pytest

from marketplace.auth.v1 import auth_pb2
from marketplace.common.v1 import roles_pb2
from tests.auth.conftest import PASSWORD, Auth, bearer


async def test_register_login_me_refresh_reuse_logout(auth: Auth) -> None:
    registered, name = await auth.register()
    assert registered.user.username == name
    assert registered.user.role == roles_pb2.ROLE_BUYER
    assert registered.tokens.token_type == "Bearer"

    login = await auth.stub.Login(auth_pb2.LoginRequest(login=f"{name}@EXAMPLE.com", password=PASSWORD))
    me = await auth.stub.GetMe(auth_pb2.GetMeRequest(), metadata=bearer(login.tokens.access_token))
    assert me.user.id == registered.user.id
    assert me.user.email == f"{name}@example.com"

    first = login.tokens.refresh_token
    second = (await auth.stub.RefreshToken(auth_pb2.RefreshTokenRequest(refresh_token=first))).tokens
    assert second.refresh_token != first
    third = (await auth.stub.RefreshToken(auth_pb2.RefreshTokenRequest(refresh_token=second.refresh_token))).tokens
    me = await auth.stub.GetMe(auth_pb2.GetMeRequest(), metadata=bearer(third.access_token))
    assert me.user.id == registered.user.id

    # The rotated first token comes back: refused, and the newest token of the family dies with it.
    with pytest.raises(grpc.aio.AioRpcError) as reused:
        await auth.stub.RefreshToken(auth_pb2.RefreshTokenRequest(refresh_token=first))
    assert reused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as newest:
        await auth.stub.RefreshToken(auth_pb2.RefreshTokenRequest(refresh_token=third.refresh_token))
    assert newest.value.code() == grpc.StatusCode.UNAUTHENTICATED

    # Another session signs out: its refresh token and its access token stop working.
    session = (await auth.stub.Login(auth_pb2.LoginRequest(login=name, password=PASSWORD))).tokens
    await auth.stub.Logout(
        auth_pb2.LogoutRequest(refresh_token=session.refresh_token), metadata=bearer(session.access_token)
    )
    with pytest.raises(grpc.aio.AioRpcError) as revoked:
        await auth.stub.GetMe(auth_pb2.GetMeRequest(), metadata=bearer(session.access_token))
    assert revoked.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as ended:
        await auth.stub.RefreshToken(auth_pb2.RefreshTokenRequest(refresh_token=session.refresh_token))
    assert ended.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_duplicate_email_or_username_already_exists(auth: Auth) -> None:
    _, name = await auth.register()
    for email, username in ((f"{name}@example.com", name + "x"), (f"{name}x@example.com", name)):
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await auth.stub.Register(auth_pb2.RegisterRequest(email=email, username=username, password=PASSWORD))
        assert error.value.code() == grpc.StatusCode.ALREADY_EXISTS


async def test_seller_needs_store_name_and_admin_cannot_self_register(auth: Auth) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await auth.register(role=roles_pb2.ROLE_SELLER)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    seller, _ = await auth.register(role=roles_pb2.ROLE_SELLER, store_name="Corner Shop")
    assert seller.user.role == roles_pb2.ROLE_SELLER
    assert seller.user.store_name == "Corner Shop"
    with pytest.raises(grpc.aio.AioRpcError) as admin:
        await auth.register(role=roles_pb2.ROLE_ADMIN)
    assert admin.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert await auth.sql("SELECT id FROM users WHERE role = 'admin'") == []


async def test_register_writes_user_registered_to_outbox_and_nothing_on_invalid_input(auth: Auth) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await auth.stub.Register(auth_pb2.RegisterRequest(email="not-an-email", username="ab", password="short"))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert await auth.sql("SELECT count(*) FROM users") == [(0,)]
    assert await auth.sql("SELECT count(*) FROM outbox") == [(0,)]

    registered, _ = await auth.register()
    rows = await auth.sql("SELECT type, subject, stream FROM outbox")
    assert rows == [("marketplace.events.v1.UserRegistered", registered.user.id, "events.auth")]


async def test_update_me_and_change_password_ends_other_sessions(auth: Auth) -> None:
    registered, name = await auth.register()
    token = registered.tokens.access_token
    updated = await auth.stub.UpdateMe(
        auth_pb2.UpdateMeRequest(user=auth_pb2.User(display_name="Ada L."), update_mask={"paths": ["display_name"]}),
        metadata=bearer(token),
    )
    assert updated.user.display_name == "Ada L."
    assert updated.user.username == name

    with pytest.raises(grpc.aio.AioRpcError) as wrong:
        await auth.stub.ChangePassword(
            auth_pb2.ChangePasswordRequest(current_password="not the password", new_password="a brand new secret"),
            metadata=bearer(token),
        )
    assert wrong.value.code() == grpc.StatusCode.UNAUTHENTICATED
    changed = await auth.stub.ChangePassword(
        auth_pb2.ChangePasswordRequest(current_password=PASSWORD, new_password="a brand new secret"),
        metadata=bearer(token),
    )
    with pytest.raises(grpc.aio.AioRpcError) as old_session:
        await auth.stub.RefreshToken(auth_pb2.RefreshTokenRequest(refresh_token=registered.tokens.refresh_token))
    assert old_session.value.code() == grpc.StatusCode.UNAUTHENTICATED
    await auth.stub.RefreshToken(auth_pb2.RefreshTokenRequest(refresh_token=changed.tokens.refresh_token))
    await auth.stub.Login(auth_pb2.LoginRequest(login=name, password="a brand new secret"))
