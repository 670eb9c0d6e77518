"""Ending a sign-in session refuses every access token of it at once, not only when they expire."""

from __future__ import annotations

import grpc
import pytest

from marketplace.auth.v1 import auth_pb2
from tests.auth.conftest import PASSWORD, Auth, bearer
from tests.support.auth import service_token

NEW_PASSWORD = "a much better passphrase"


async def _login(auth: Auth, name: str, password: str = PASSWORD) -> auth_pb2.SessionTokens:
    response = await auth.stub.Login(auth_pb2.LoginRequest(login=name, password=password))
    tokens: auth_pb2.SessionTokens = response.tokens
    return tokens


async def _works(auth: Auth, access_token: str) -> bool:
    try:
        await auth.stub.GetMe(auth_pb2.GetMeRequest(), metadata=bearer(access_token))
    except grpc.aio.AioRpcError as error:
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED
        return False
    return True


async def test_change_password_refuses_the_other_sessions_access_tokens_at_once(auth: Auth) -> None:
    _, name = await auth.register()
    laptop = await _login(auth, name)
    phone = await _login(auth, name)
    assert await _works(auth, phone.access_token)

    changed = await auth.stub.ChangePassword(
        auth_pb2.ChangePasswordRequest(current_password=PASSWORD, new_password=NEW_PASSWORD),
        metadata=bearer(laptop.access_token),
    )

    assert not await _works(auth, phone.access_token)
    assert not await _works(auth, laptop.access_token)  # the caller goes on with the new session's tokens
    assert await _works(auth, changed.tokens.access_token)


async def test_logout_refuses_every_access_token_of_the_session_only(auth: Auth) -> None:
    _, name = await auth.register()
    session = await _login(auth, name)
    refreshed = (await auth.stub.RefreshToken(auth_pb2.RefreshTokenRequest(refresh_token=session.refresh_token))).tokens
    other = await _login(auth, name)

    await auth.stub.Logout(
        auth_pb2.LogoutRequest(refresh_token=refreshed.refresh_token), metadata=bearer(refreshed.access_token)
    )

    assert not await _works(auth, session.access_token)  # issued earlier in the same session
    assert not await _works(auth, refreshed.access_token)
    assert await _works(auth, other.access_token)


async def test_refresh_token_reuse_refuses_the_sessions_access_tokens(auth: Auth) -> None:
    _, name = await auth.register()
    session = await _login(auth, name)
    rotated = (await auth.stub.RefreshToken(auth_pb2.RefreshTokenRequest(refresh_token=session.refresh_token))).tokens
    assert await _works(auth, rotated.access_token)

    with pytest.raises(grpc.aio.AioRpcError):
        await auth.stub.RefreshToken(auth_pb2.RefreshTokenRequest(refresh_token=session.refresh_token))

    assert not await _works(auth, rotated.access_token)


async def test_a_delegated_token_ends_with_the_users_session(auth: Auth) -> None:
    _, name = await auth.register()
    session = await _login(auth, name)
    buddy = await service_token(auth, "buddy")
    exchanged = await auth.stub.ExchangeToken(
        auth_pb2.ExchangeTokenRequest(subject_token=session.access_token, scopes=["catalog:read"]),
        metadata=bearer(buddy),
    )
    principal = await auth.running.runtime.verifier.verify(exchanged.access_token)
    assert principal.actor == "buddy"

    await auth.stub.Logout(
        auth_pb2.LogoutRequest(refresh_token=session.refresh_token), metadata=bearer(session.access_token)
    )

    with pytest.raises(Exception, match="revoked"):
        await auth.running.runtime.verifier.verify(exchanged.access_token)
