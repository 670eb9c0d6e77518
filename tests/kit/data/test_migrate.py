from __future__ import annotations

import asyncio

from sqlalchemy import text

from services.kit.db import create_engine
from services.kit.migrate import MIGRATION_LOCK_KEY, migrate
from tests.kit.data.example import MIGRATIONS


async def schema(url: str) -> tuple[set[str], set[str], list[str]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            tables = set(
                (
                    await connection.execute(
                        text("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
                    )
                ).scalars()
            )
            indexes = set(
                (
                    await connection.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'outbox'"))
                ).scalars()
            )
            versions = list((await connection.execute(text("SELECT version_num FROM alembic_version"))).scalars())
    finally:
        await engine.dispose()
    return tables, indexes, versions


async def test_upgrade_creates_the_tables_on_a_fresh_database(fresh_database):
    url = await fresh_database("migrate")
    await migrate(MIGRATIONS, url)
    tables, indexes, versions = await schema(url)
    assert tables == {"alembic_version", "widgets", "outbox", "inbox"}
    assert {"ix_outbox_unpublished", "ix_outbox_unpublished_subject"} <= indexes
    assert versions == ["0001"]


async def test_upgrade_twice_is_a_no_op(fresh_database):
    url = await fresh_database("migrate")
    await migrate(MIGRATIONS, url)
    await migrate(MIGRATIONS, url)
    tables, _indexes, versions = await schema(url)
    assert tables == {"alembic_version", "widgets", "outbox", "inbox"}
    assert versions == ["0001"]


async def test_concurrent_upgrades_of_one_database_do_not_collide(fresh_database):
    url = await fresh_database("migrate")
    await asyncio.gather(migrate(MIGRATIONS, url), migrate(MIGRATIONS, url))
    _tables, _indexes, versions = await schema(url)
    assert versions == ["0001"]


async def test_upgrade_waits_for_another_process_holding_the_migration_lock(fresh_database):
    url = await fresh_database("migrate")
    engine = create_engine(url)
    try:
        async with engine.connect() as other_process:
            await other_process.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            upgrading = asyncio.create_task(migrate(MIGRATIONS, url))
            await asyncio.sleep(0.3)
            assert not upgrading.done()
            await other_process.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            async with asyncio.timeout(10):
                await upgrading
    finally:
        await engine.dispose()
    _tables, _indexes, versions = await schema(url)
    assert versions == ["0001"]


async def test_migrated_kit_tables_match_the_kit_table_definitions(fresh_database, redis):
    """The relay and a unit of work work on tables made by migrations (not by metadata.create_all)."""
    from google.protobuf.wrappers_pb2 import StringValue

    from services.kit.db import session_factory
    from services.kit.outbox import OutboxRelay, dedupe_key, stream_for
    from services.kit.uow import UnitOfWork

    url = await fresh_database("migrate")
    await migrate(MIGRATIONS, url)
    engine = create_engine(url)
    source = "migrated" + url.rsplit("_", 1)[-1]
    try:
        async with UnitOfWork(session_factory(engine), source=source) as uow:
            uow.emit("s", StringValue(value="v"))
            await uow.commit()
        assert await OutboxRelay(engine, redis).publish_batch() == 1
        entries = await redis.xrange(stream_for(source))
        assert len(entries) == 1
    finally:
        await engine.dispose()
        async with engine.connect() as connection:
            ids = (await connection.execute(text("SELECT id FROM outbox"))).scalars().all()
        await redis.delete(stream_for(source), *[dedupe_key(i) for i in ids])
