"""Login and password reset tell nobody whether an account exists; repeated failures lock out."""

from __future__ import annotations

import time
import uuid

import grpc
import pytest

from marketplace.auth.v1 import auth_pb2
from marketplace.events.v1 import envelope_pb2, events_pb2
from tests.auth.conftest import PASSWORD, Auth, StartAuth


async def _failed_login(auth: Auth, login: str, password: str) -> tuple[grpc.StatusCode, str, float]:
    started = time.perf_counter()
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await auth.stub.Login(auth_pb2.LoginRequest(login=login, password=password))
    return error.value.code(), error.value.details() or "", time.perf_counter() - started


async def test_login_does_not_reveal_whether_an_account_exists(start_auth: StartAuth) -> None:
    # No growing delay and no lockout here: only the password check itself is compared.
    auth = await start_auth(auth_login_delay_base_seconds=0.0, auth_login_max_failures=1000)
    _, name = await auth.register()
    known = [await _failed_login(auth, name, "wrong password!") for _ in range(5)]
    unknown = [await _failed_login(auth, f"nobody{uuid.uuid4().hex[:8]}", "wrong password!") for _ in range(5)]
    unknown_email = await _failed_login(auth, f"nobody{uuid.uuid4().hex[:8]}@example.com", "wrong password!")

    answers = {(code, details) for code, details, _ in [*known, *unknown, unknown_email]}
    assert answers == {(grpc.StatusCode.UNAUTHENTICATED, "wrong login or password")}
    known_mean = sum(seconds for *_, seconds in known) / len(known)
    unknown_mean = sum(seconds for *_, seconds in unknown) / len(unknown)
    assert known_mean < 3 * unknown_mean
    assert unknown_mean < 3 * known_mean


async def test_repeated_failures_lock_the_account_out(auth: Auth) -> None:
    _, name = await auth.register()
    limit = auth.settings.auth_login_max_failures
    for _ in range(limit):
        code, _, _ = await _failed_login(auth, name, "wrong password!")
        assert code == grpc.StatusCode.UNAUTHENTICATED
    # Locked: even the right password is refused, with a retry-after.
    with pytest.raises(grpc.aio.AioRpcError) as locked:
        await auth.stub.Login(auth_pb2.LoginRequest(login=f"{name}@example.com", password=PASSWORD))
    assert locked.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    # An unknown login name locks out the same way, so a lockout reveals nothing either.
    stranger = f"nobody{uuid.uuid4().hex[:8]}"
    for _ in range(limit):
        await _failed_login(auth, stranger, "wrong password!")
    code, _, _ = await _failed_login(auth, stranger, "wrong password!")
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED


async def _reset_token_from_outbox(auth: Auth, user_id: str) -> str:
    rows = await auth.sql(
        "SELECT envelope FROM outbox WHERE subject = :id AND type = 'marketplace.events.v1.PasswordResetRequested'",
        id=user_id,
    )
    assert len(rows) == 1
    envelope = envelope_pb2.Envelope.FromString(rows[0][0])
    payload = events_pb2.PasswordResetRequested()
    assert envelope.payload.Unpack(payload)
    assert payload.user_id == user_id
    return payload.reset_token


async def test_password_reset_is_silent_single_use_and_ends_sessions(auth: Auth) -> None:
    registered, name = await auth.register()
    unknown = await auth.stub.RequestPasswordReset(auth_pb2.RequestPasswordResetRequest(email="nobody@example.com"))
    known = await auth.stub.RequestPasswordReset(auth_pb2.RequestPasswordResetRequest(email=f"{name}@example.com"))
    assert unknown.SerializeToString() == known.SerializeToString()
    token = await _reset_token_from_outbox(auth, registered.user.id)

    await auth.stub.ResetPassword(auth_pb2.ResetPasswordRequest(reset_token=token, new_password="reset to this one"))
    with pytest.raises(grpc.aio.AioRpcError) as again:
        await auth.stub.ResetPassword(auth_pb2.ResetPasswordRequest(reset_token=token, new_password="and again this"))
    assert again.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as old_session:
        await auth.stub.RefreshToken(auth_pb2.RefreshTokenRequest(refresh_token=registered.tokens.refresh_token))
    assert old_session.value.code() == grpc.StatusCode.UNAUTHENTICATED
    await auth.stub.Login(auth_pb2.LoginRequest(login=name, password="reset to this one"))
    code, _, _ = await _failed_login(auth, name, PASSWORD)
    assert code == grpc.StatusCode.UNAUTHENTICATED


async def test_expired_reset_token_is_refused(auth: Auth) -> None:
    registered, name = await auth.register()
    await auth.stub.RequestPasswordReset(auth_pb2.RequestPasswordResetRequest(email=f"{name}@example.com"))
    token = await _reset_token_from_outbox(auth, registered.user.id)
    await auth.sql("UPDATE password_resets SET expires_at = now() - interval '1 second'")
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await auth.stub.ResetPassword(auth_pb2.ResetPasswordRequest(reset_token=token, new_password="too late for it"))
    assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED
