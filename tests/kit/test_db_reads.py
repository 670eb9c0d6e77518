"""The kit's read sessions: statements outside any transaction, on the same pool as the transactional ones."""

from __future__ import annotations

from sqlalchemy import text

from services.kit.db import create_engine, read_session_factory, session_factory

# now() is the start of the statement's transaction: equal twice within one transaction, apart outside one.
_NOW_TWICE = [text("SELECT now()"), text("SELECT pg_sleep(0.01)"), text("SELECT now()")]


async def _now_twice(sessions) -> tuple[object, object]:
    async with sessions() as session:
        first = await session.scalar(_NOW_TWICE[0])
        await session.execute(_NOW_TWICE[1])
        second = await session.scalar(_NOW_TWICE[2])
    return first, second


async def test_a_read_session_runs_each_statement_on_its_own(fresh_database) -> None:
    engine = create_engine(await fresh_database("reads"))
    try:
        first, second = await _now_twice(read_session_factory(engine))
        assert first != second
        # The sessions for writes still wrap their statements in one transaction.
        first, second = await _now_twice(session_factory(engine))
        assert first == second
    finally:
        await engine.dispose()


async def test_a_read_session_leaves_its_connection_transactional_for_the_next_user(fresh_database) -> None:
    engine = create_engine(await fresh_database("reads_reset"), pool_size=1)
    try:
        async with read_session_factory(engine)() as session:
            await session.execute(text("SELECT 1"))
        # The pool's only connection, back from autocommit: a write session's transaction rolls back whole.
        async with session_factory(engine)() as session:
            await session.execute(text("CREATE TABLE t (x int)"))
            await session.rollback()
        async with read_session_factory(engine)() as session:
            exists = await session.scalar(text("SELECT to_regclass('t') IS NOT NULL"))
        assert exists is False
    finally:
        await engine.dispose()
