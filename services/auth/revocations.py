"""Revocations that survive a loss of Redis.

Verifiers read revocations from Redis (`services.kit.tokens.RevocationList`). Each use case that revokes
(logout, password change, password reset, refresh token reuse) also records what it revoked in auth's database,
in the same transaction as the change that causes it (`record`). At start, auth gives Redis every revocation
that still matters (`restore`): a Redis restarted without its data, or flushed, refuses the same tokens again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.auth import domain
from services.auth.store import Revocations
from services.kit.tokens import RevocationList

log = logging.getLogger("services.auth.revocations")


async def record(
    session: AsyncSession,
    now: datetime,
    session_ids: Iterable[str],
    session_seconds: int,
    *,
    token_id: str = "",
    token_expires_at: int = 0,
) -> None:
    """Records, in the caller's open transaction, the end of these sessions (and of one access token)."""
    revoked = domain.revocations_for(
        session_ids, now, session_seconds, token_id=token_id, token_expires_at=token_expires_at
    )
    await Revocations(session).record(revoked, now)


async def restore(
    sessions: async_sessionmaker[AsyncSession], revocation_list: RevocationList, clock: Callable[[], datetime]
) -> int:
    """Writes every revocation that has not expired yet to Redis again, each with its remaining lifetime, and
    forgets the expired ones. Returns how many were restored."""
    now = clock()
    async with sessions() as session, session.begin():
        await Revocations(session).forget_expired(now)
        active = await Revocations(session).active(now)
    session_ttls = [
        (r.id, domain.seconds_until(r.expires_at, now) + 1) for r in active if r.kind == domain.SESSION_REVOCATION
    ]
    token_ttls = [
        (r.id, domain.seconds_until(r.expires_at, now) + 1) for r in active if r.kind == domain.TOKEN_REVOCATION
    ]
    await revocation_list.restore(sessions=session_ttls, tokens=token_ttls)
    log.info(
        "revocations restored to Redis", extra={"fields": {"sessions": len(session_ttls), "tokens": len(token_ttls)}}
    )
    return len(active)
