"""Registration and sign-in: Register, Login (with its throttle), RefreshToken and Logout."""

from __future__ import annotations

import asyncio

from services.auth import domain
from services.auth.domain import RefreshVerdict, User
from services.auth.handlers.deps import Deps
from services.auth.handlers.sessions import (
    SessionTokens,
    end_sessions,
    issue_refresh,
    own_user_id,
    record_ended_sessions,
    start_session,
)
from services.auth.store import RefreshTokens, Users
from services.kit.errors import AlreadyExists, RateLimited, Unauthenticated
from services.kit.ids import new_id
from services.kit.principal import Principal

LOGIN_FAILURES_PREFIX = "auth:login-failures:"


# --- registration and sign-in -------------------------------------------------------------------------------


async def register(
    deps: Deps, *, email: str, username: str, password: str, display_name: str, role: str, store_name: str
) -> tuple[User, SessionTokens]:
    password_hash = await deps.passwords.hash(password)
    now = deps.clock()
    async with deps.uow() as uow:
        users = Users(uow.session)
        user = User.register(
            id=new_id(),
            email=email,
            username=username,
            password_hash=password_hash,
            role=role,
            display_name=display_name,
            store_name=store_name,
            now=now,
        )
        if await users.by_email(user.email) is not None:
            raise AlreadyExists("the email address is already registered", metadata={"field": "email"})
        if await users.by_username(user.username) is not None:
            raise AlreadyExists("the username is taken", metadata={"field": "username"})
        await users.add(uow.track(user))
        tokens = await start_session(uow.session, deps, user, now)
        await uow.commit()
    return user, tokens


def failures_key(key: str) -> str:
    return LOGIN_FAILURES_PREFIX + key


async def check_not_locked(deps: Deps, key: str) -> None:
    raw = await deps.redis.get(failures_key(key))
    failures = int(raw) if raw else 0
    if deps.throttle.is_locked(failures):
        retry_after = max(1, int(await deps.redis.ttl(failures_key(key))))
        raise RateLimited("too many failed attempts; try again later", retry_after_seconds=retry_after)


async def record_failure(deps: Deps, key: str) -> None:
    """Counts a failure and answers after the growing delay."""
    async with deps.redis.pipeline(transaction=True) as pipe:
        pipe.incr(failures_key(key))
        pipe.expire(failures_key(key), deps.settings.auth_login_lockout_seconds)
        failures, _ = await pipe.execute()
    await asyncio.sleep(deps.throttle.delay_after(int(failures)))


async def login(deps: Deps, *, login: str, password: str) -> tuple[User, SessionTokens]:
    name = domain.normalize_login(login)
    async with deps.sessions() as session:
        users = Users(session)
        user = await (users.by_email(name) if domain.is_email(name) else users.by_username(name))
    key = domain.throttle_key(user.id if user else None, name)
    await check_not_locked(deps, key)
    # An unknown login verifies a dummy hash: the same work, the same answer, the same time.
    if not await deps.passwords.verify(user.password_hash if user else None, password) or user is None:
        await record_failure(deps, key)
        raise Unauthenticated("wrong login or password", reason="INVALID_CREDENTIALS")
    await deps.redis.delete(failures_key(key))
    now = deps.clock()
    async with deps.uow() as uow:
        if deps.passwords.needs_rehash(user.password_hash):
            user.set_password_hash(await deps.passwords.hash(password))
            await Users(uow.session).save(user)
        tokens = await start_session(uow.session, deps, user, now)
        await uow.commit()
    return user, tokens


async def refresh(deps: Deps, *, refresh_token: str) -> SessionTokens:
    now = deps.clock()
    async with deps.uow() as uow:
        tokens = RefreshTokens(uow.session)
        found = await tokens.find(domain.hash_token(refresh_token))
        record, family_revoked = found if found is not None else (None, False)
        verdict = domain.judge_refresh(record, family_revoked=family_revoked, now=now)
        if verdict is RefreshVerdict.REUSED and record is not None:
            # A rotated token came back: someone holds a copy. End the whole session, for both holders.
            await tokens.revoke_family(record.family_id, now)
            await record_ended_sessions(uow.session, deps, [record.family_id], now)
            await uow.commit()
            await end_sessions(deps, [record.family_id])
            raise Unauthenticated("the refresh token was already used; sign in again", reason="REFRESH_TOKEN_REUSED")
        if verdict is not RefreshVerdict.ROTATE or record is None:
            raise Unauthenticated("invalid refresh token", reason="INVALID_REFRESH_TOKEN")
        user = await Users(uow.session).get(record.user_id)
        if user is None:
            raise Unauthenticated("invalid refresh token", reason="INVALID_REFRESH_TOKEN")
        await tokens.mark_rotated(record.token_hash, now)
        issued = await issue_refresh(uow.session, deps, user, record.family_id, now)
        await uow.commit()
    return issued


async def logout(deps: Deps, principal: Principal, *, refresh_token: str) -> None:
    user_id = own_user_id(principal)
    now = deps.clock()
    async with deps.uow() as uow:
        tokens = RefreshTokens(uow.session)
        found = await tokens.find(domain.hash_token(refresh_token))
        ended = [principal.session_id]
        # Someone else's refresh token is left alone; signing out is idempotent.
        if found is not None and found[0].user_id == user_id:
            await tokens.revoke_family(found[0].family_id, now)
            ended.append(found[0].family_id)
        await record_ended_sessions(uow.session, deps, ended, now, token=principal)
        await uow.commit()
    await deps.revocations.revoke(principal.token_id, principal.expires_at)
    await end_sessions(deps, ended)
