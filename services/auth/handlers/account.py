"""The caller's own account: GetMe, UpdateMe, ChangePassword."""

from __future__ import annotations

from collections.abc import Mapping

from services.auth.domain import User
from services.auth.handlers.deps import Deps
from services.auth.handlers.sessions import (
    SessionTokens,
    end_sessions,
    own_account,
    own_user_id,
    record_ended_sessions,
    start_session,
)
from services.auth.handlers.sign_in import check_not_locked, record_failure
from services.auth.store import PasswordResets, RefreshTokens, Users
from services.kit.errors import Unauthenticated
from services.kit.principal import Principal


async def get_me(deps: Deps, principal: Principal) -> User:
    async with deps.sessions() as session:
        return await own_account(session, principal)


async def update_me(deps: Deps, principal: Principal, changes: Mapping[str, str]) -> User:
    async with deps.uow() as uow:
        user = uow.track(await own_account(uow.session, principal, for_update=True))
        user.update_profile(changes)
        await Users(uow.session).save(user)
        await uow.commit()
    return user


async def change_password(
    deps: Deps, principal: Principal, *, current_password: str, new_password: str
) -> SessionTokens:
    user_id = own_user_id(principal)
    user = await get_me(deps, principal)
    await check_not_locked(deps, user_id)
    if not await deps.passwords.verify(user.password_hash, current_password):
        await record_failure(deps, user_id)
        raise Unauthenticated("the current password is wrong", reason="INVALID_CREDENTIALS")
    new_hash = await deps.passwords.hash(new_password)
    now = deps.clock()
    async with deps.uow() as uow:
        locked = await own_account(uow.session, principal, for_update=True)
        locked.set_password_hash(new_hash)
        await Users(uow.session).save(locked)
        # Every other session ends; the caller continues with the new tokens.
        ended = await RefreshTokens(uow.session).revoke_all(user_id, now)
        await PasswordResets(uow.session).use_all(user_id, now)
        tokens = await start_session(uow.session, deps, locked, now)
        await record_ended_sessions(uow.session, deps, [*ended, principal.session_id], now)
        await uow.commit()
    await end_sessions(deps, [*ended, principal.session_id])
    return tokens
