"""Password reset: RequestPasswordReset and ResetPassword."""

from __future__ import annotations

from datetime import timedelta

from services.auth import domain
from services.auth.domain import PasswordResetRecord
from services.auth.handlers.deps import Deps
from services.auth.handlers.sessions import end_sessions, record_ended_sessions
from services.auth.handlers.sign_in import failures_key
from services.auth.store import PasswordResets, RefreshTokens, Users
from services.kit.errors import Unauthenticated


async def request_password_reset(deps: Deps, *, email: str) -> None:
    """Does the same visible thing whether or not the address has an account."""
    now = deps.clock()
    expires_at = now + timedelta(seconds=deps.settings.auth_password_reset_ttl_seconds)
    async with deps.uow() as uow:
        user = await Users(uow.session).by_email(domain.normalize_email(email))
        if user is None:
            return
        token = domain.new_opaque_token()
        record = PasswordResetRecord(token_hash=domain.hash_token(token), user_id=user.id, expires_at=expires_at)
        await PasswordResets(uow.session).add(record, now)
        uow.track(user).request_password_reset(token, expires_at)
        await uow.commit()


async def reset_password(deps: Deps, *, reset_token: str, new_password: str) -> None:
    new_hash = await deps.passwords.hash(new_password)
    now = deps.clock()
    async with deps.uow() as uow:
        resets = PasswordResets(uow.session)
        record = await resets.find(domain.hash_token(reset_token))
        if record is None or not record.usable(now):
            raise Unauthenticated("the reset link is invalid or has expired", reason="INVALID_RESET_TOKEN")
        users = Users(uow.session)
        user = await users.get(record.user_id, for_update=True)
        if user is None:
            raise Unauthenticated("the reset link is invalid or has expired", reason="INVALID_RESET_TOKEN")
        user.set_password_hash(new_hash)
        await users.save(user)
        await resets.use_all(user.id, now)
        ended = await RefreshTokens(uow.session).revoke_all(user.id, now)
        await record_ended_sessions(uow.session, deps, ended, now)
        await uow.commit()
    await end_sessions(deps, ended)
    await deps.redis.delete(failures_key(user.id))
