"""Reading and writing a service's database directly from a test (to check what a call stored, or to set up
a state no RPC makes)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.kit.db import create_engine, session_factory


async def run_sql(sessions: async_sessionmaker[AsyncSession] | None, statement: str, **params: Any) -> list[Any]:
    """Runs `statement` in its own transaction; the rows it returns (none for a statement without rows)."""
    assert sessions is not None, "the service has no database"
    async with sessions() as session, session.begin():
        result = await session.execute(text(statement), params)
        return list(result.all()) if result.returns_rows else []  # type: ignore[attr-defined]


async def run_sql_at(url: str, statement: str, **params: Any) -> list[Any]:
    """`run_sql` against the database at `url`, with a connection of its own (no running service needed)."""
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        return await run_sql(session_factory(engine), statement, **params)
    finally:
        await engine.dispose()
