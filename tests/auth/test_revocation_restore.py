"""A revoked session stays revoked when Redis loses its data: auth records every revocation in its database, in
the same transaction as its cause, and gives Redis the ones that still matter again at start."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from marketplace.auth.v1 import auth_pb2
from services.auth.handlers.sessions import SESSION_REVOCATION_MARGIN_SECONDS
from services.kit.tokens import RESTORED_MARKER_KEY, REVOKED_KEY_PREFIX, REVOKED_SESSION_KEY_PREFIX
from tests.auth.conftest import PASSWORD, Auth, StartAuth, bearer
from tests.auth.test_login_security import _reset_token_from_outbox
from tests.auth.test_session_revocation import NEW_PASSWORD, _login, _works
from tests.support.polling import eventually

Revoke = Callable[[Auth, str], Awaitable[str]]  # (auth, username) -> an access token the cause revoked


async def _by_logout(auth: Auth, name: str) -> str:
    session = await _login(auth, name)
    await auth.stub.Logout(
        auth_pb2.LogoutRequest(refresh_token=session.refresh_token), metadata=bearer(session.access_token)
    )
    return str(session.access_token)


async def _by_password_change(auth: Auth, name: str) -> str:
    other_device = await _login(auth, name)
    caller = await _login(auth, name)
    await auth.stub.ChangePassword(
        auth_pb2.ChangePasswordRequest(current_password=PASSWORD, new_password=NEW_PASSWORD),
        metadata=bearer(caller.access_token),
    )
    return str(other_device.access_token)


async def _by_refresh_reuse(auth: Auth, name: str) -> str:
    session = await _login(auth, name)
    rotated = (await auth.stub.RefreshToken(auth_pb2.RefreshTokenRequest(refresh_token=session.refresh_token))).tokens
    with pytest.raises(Exception, match="already used"):
        await auth.stub.RefreshToken(auth_pb2.RefreshTokenRequest(refresh_token=session.refresh_token))
    return str(rotated.access_token)


async def _by_password_reset(auth: Auth, name: str) -> str:
    session = await _login(auth, name)
    me = await auth.stub.GetMe(auth_pb2.GetMeRequest(), metadata=bearer(session.access_token))
    await auth.stub.RequestPasswordReset(auth_pb2.RequestPasswordResetRequest(email=f"{name}@example.com"))
    token = await _reset_token_from_outbox(auth, me.user.id)
    await auth.stub.ResetPassword(auth_pb2.ResetPasswordRequest(reset_token=token, new_password=NEW_PASSWORD))
    return str(session.access_token)


async def _forget_in_redis(auth: Auth, access_token: str) -> None:
    """What a Redis restarted without its data, or flushed, does to this token's revocation."""
    claims = jwt.decode(access_token, options={"verify_signature": False})
    redis = auth.running.runtime.redis
    assert redis is not None
    await redis.delete(f"{REVOKED_KEY_PREFIX}{claims['jti']}", f"{REVOKED_SESSION_KEY_PREFIX}{claims['sid']}")


@pytest.mark.parametrize(
    "revoke",
    [_by_logout, _by_password_change, _by_refresh_reuse, _by_password_reset],
    ids=["logout", "password-change", "refresh-reuse", "password-reset"],
)
async def test_a_revoked_session_stays_revoked_after_redis_lost_it(start_auth: StartAuth, revoke: Revoke) -> None:
    auth = await start_auth()
    _, name = await auth.register()
    revoked = await revoke(auth, name)
    assert not await _works(auth, revoked)

    await _forget_in_redis(auth, revoked)
    assert await _works(auth, revoked)  # the loss is real: Redis alone no longer refuses it

    restarted = await start_auth(service_database_url=auth.settings.service_database_url)
    assert not await _works(restarted, revoked)
    assert not await _works(auth, revoked)  # the same Redis, for every verifier


async def test_restored_revocations_keep_their_remaining_lifetime_and_expired_ones_are_forgotten(
    start_auth: StartAuth,
) -> None:
    auth = await start_auth()
    _, name = await auth.register()
    revoked = await _by_logout(auth, name)
    sid = jwt.decode(revoked, options={"verify_signature": False})["sid"]
    long_ago = datetime.now(UTC) - timedelta(days=1)
    await auth.sql(
        "INSERT INTO revocations (kind, id, revoked_at, expires_at) VALUES ('session', 'long-gone', :at, :at)",
        at=long_ago,
    )
    await _forget_in_redis(auth, revoked)

    restarted = await start_auth(service_database_url=auth.settings.service_database_url)

    redis = restarted.running.runtime.redis
    assert redis is not None
    ttl = await redis.ttl(f"{REVOKED_SESSION_KEY_PREFIX}{sid}")
    assert 0 < ttl <= auth.settings.auth_access_token_ttl_seconds + SESSION_REVOCATION_MARGIN_SECONDS + 1
    assert await redis.exists(f"{REVOKED_SESSION_KEY_PREFIX}long-gone") == 0
    assert await restarted.sql("SELECT id FROM revocations WHERE id = 'long-gone'") == []
    kinds = {row.kind for row in await restarted.sql("SELECT kind FROM revocations WHERE id = :sid", sid=sid)}
    assert kinds == {"session"}


async def test_a_revoked_session_stays_revoked_when_redis_loses_it_while_auth_runs(start_auth: StartAuth) -> None:
    auth = await start_auth(auth_revocation_check_seconds=0.1)
    _, name = await auth.register()
    revoked = await _by_logout(auth, name)
    assert not await _works(auth, revoked)

    # Flushed, or restarted without its data: the revocations and the marker of their restore go together.
    await _forget_in_redis(auth, revoked)
    redis = auth.running.runtime.redis
    assert redis is not None
    await redis.delete(RESTORED_MARKER_KEY)

    # Auth notices at its next check and gives Redis the revocations again, without a restart.
    async def refused_again() -> bool:
        return not await _works(auth, revoked)

    await eventually(refused_again, timeout=5)
    assert await redis.exists(RESTORED_MARKER_KEY)
