"""Sign-in sessions: the tokens a session gets, and ending sessions (revocations recorded in the database and
set in Redis, restored to Redis at start)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.auth import domain, revocations
from services.auth.domain import RefreshTokenRecord, User
from services.auth.handlers.deps import Deps
from services.auth.store import RefreshTokens, Users
from services.kit.errors import NotFound, PermissionDenied
from services.kit.ids import new_id
from services.kit.principal import Principal

# Session revocations outlive the access tokens they refuse by this much (clock leeway of verifiers).
SESSION_REVOCATION_MARGIN_SECONDS = 60


@dataclass(frozen=True)
class SessionTokens:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


def sign_token(deps: Deps, **claims: Any) -> str:
    settings = deps.settings
    return deps.keys.ring.sign(
        domain.token_claims(issuer=settings.jwt_issuer, audience=settings.jwt_audience, token_id=new_id(), **claims),
        deps.clock(),
    )


def user_access_token(deps: Deps, user: User, now: datetime, session_id: str) -> str:
    return sign_token(
        deps,
        subject=user.id,
        typ=domain.USER_TOKEN,
        roles=user.roles,
        now=now,
        ttl_seconds=deps.settings.auth_access_token_ttl_seconds,
        session_id=session_id,
    )


def _session_revocation_seconds(deps: Deps) -> int:
    return deps.settings.auth_access_token_ttl_seconds + SESSION_REVOCATION_MARGIN_SECONDS


async def record_ended_sessions(
    session: AsyncSession, deps: Deps, session_ids: Iterable[str], now: datetime, *, token: Principal | None = None
) -> None:
    """Records, in the open transaction, the sessions (and the token) about to end: auth gives them to Redis
    again at start, should Redis have lost them (revocations.py)."""
    await revocations.record(
        session,
        now,
        session_ids,
        _session_revocation_seconds(deps),
        token_id=token.token_id if token is not None else "",
        token_expires_at=token.expires_at if token is not None else 0,
    )


async def end_sessions(deps: Deps, session_ids: Iterable[str]) -> None:
    """Refuses, from now on, every access token of these sessions (refresh tokens end in the database)."""
    await deps.revocations.revoke_sessions(session_ids, _session_revocation_seconds(deps))


async def issue_refresh(session: AsyncSession, deps: Deps, user: User, family_id: str, now: datetime) -> SessionTokens:
    token = domain.new_opaque_token()
    ttl = deps.settings.auth_refresh_token_ttl_seconds
    await RefreshTokens(session).add(
        RefreshTokenRecord(
            token_hash=domain.hash_token(token),
            family_id=family_id,
            user_id=user.id,
            issued_at=now,
            expires_at=now + timedelta(seconds=ttl),
        )
    )
    return SessionTokens(
        access_token=user_access_token(deps, user, now, family_id),
        expires_in=deps.settings.auth_access_token_ttl_seconds,
        refresh_token=token,
        refresh_expires_in=ttl,
    )


async def start_session(session: AsyncSession, deps: Deps, user: User, now: datetime) -> SessionTokens:
    family_id = new_id()
    await RefreshTokens(session).start_family(family_id, user.id, now)
    return await issue_refresh(session, deps, user, family_id, now)


def own_user_id(principal: Principal) -> str:
    """The user id of a user's own (not delegated) token; account management never accepts anything else."""
    if principal.kind != domain.USER_TOKEN or principal.actor is not None or principal.scopes is not None:
        raise PermissionDenied("this call needs the user's own access token", reason="USER_TOKEN_REQUIRED")
    return principal.subject


async def own_account(session: AsyncSession, principal: Principal, *, for_update: bool = False) -> User:
    """The caller's own account (locked when `for_update`); NOT_FOUND when it no longer exists."""
    user = await Users(session).get(own_user_id(principal), for_update=for_update)
    if user is None:
        raise NotFound("the account no longer exists", reason="USER_NOT_FOUND")
    return user


async def restore_revocations(deps: Deps) -> int:
    """At start: every revocation that still matters, from the database to Redis (which may have lost them)."""
    return await revocations.restore(deps.sessions, deps.revocations, deps.clock)
