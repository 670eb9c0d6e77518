"""The kit's connection pool under more concurrent transactions than it has connections: they wait for one of
its connections instead of opening (and, once done, closing) connections of their own."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from services.kit.db import create_engine
from services.kit.settings import DEFAULT_POOL_SIZE, CommonSettings


async def test_more_transactions_than_connections_reuse_the_pools_connections(fresh_database) -> None:
    url = await fresh_database("pool")
    engine = create_engine(url)
    backends: set[int] = set()

    async def transaction() -> None:
        async with engine.begin() as connection:
            backends.add(int(await connection.scalar(text("SELECT pg_backend_pid()"))))
            # Held for a moment, so that every task wants a connection at the same time.
            await connection.execute(text("SELECT pg_sleep(0.02)"))

    try:
        for _ in range(3):
            await asyncio.gather(*(transaction() for _ in range(5 * DEFAULT_POOL_SIZE)))
        # With overflow, each round would have opened connections beyond the pool's and closed them afterwards.
        assert len(backends) == DEFAULT_POOL_SIZE
    finally:
        await engine.dispose()


def test_the_pool_is_a_setting_without_overflow_by_default(monkeypatch) -> None:
    assert CommonSettings().database_max_overflow == 0
    monkeypatch.setenv("DATABASE_POOL_SIZE", "3")
    assert CommonSettings().database_pool_size == 3
