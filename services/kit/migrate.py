"""Alembic migrations without alembic.ini: each service keeps `migrations/` (env.py + versions/).

A service's `migrations/env.py` is two lines::

    from services.kit.migrate import run_env
    from services.<svc>.store import metadata
    run_env(metadata)

and its first revision creates the kit tables with `create_kit_tables()` (and drops them with `drop_kit_tables()`).
"""

from __future__ import annotations

import asyncio
import threading
import zlib
from pathlib import Path

from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection

from services.kit.db import create_engine
from services.kit.outbox import (
    INBOX_TABLE,
    OUTBOX_TABLE,
    UNPUBLISHED_INDEX,
    UNPUBLISHED_SUBJECT_INDEX,
    inbox_columns,
    outbox_columns,
    outbox_indexes,
)

DATABASE_URL_ATTRIBUTE = "database_url"
# Serialises migrations of one database when several processes of a service start at once.
MIGRATION_LOCK_KEY = zlib.crc32(b"marketplace-mesh migrations")
# Alembic keeps its running environment in module globals (`context`, `op`): one migration at a time per process.
_process_lock = threading.Lock()


def _config(migrations_dir: Path, database_url: str) -> Config:
    config = Config()
    # Config values go through ConfigParser interpolation: a literal % must be doubled.
    config.set_main_option("script_location", str(migrations_dir.resolve()).replace("%", "%%"))
    config.attributes[DATABASE_URL_ATTRIBUTE] = database_url
    return config


def upgrade(migrations_dir: Path, database_url: str, revision: str = "head") -> None:
    """Applies the migrations in `migrations_dir` up to `revision`. Blocking; from async code use `migrate`."""
    with _process_lock:
        command.upgrade(_config(migrations_dir, database_url), revision)


def downgrade(migrations_dir: Path, database_url: str, revision: str) -> None:
    with _process_lock:
        command.downgrade(_config(migrations_dir, database_url), revision)


async def migrate(migrations_dir: Path, database_url: str) -> None:
    """`upgrade` to head in a worker thread (env.py runs its own event loop there)."""
    await asyncio.to_thread(upgrade, migrations_dir, database_url)


def run_env(target_metadata: MetaData) -> None:
    """The body of a service's `migrations/env.py`: online migrations on an async engine."""
    if context.is_offline_mode():
        raise RuntimeError("offline (--sql) migrations are not supported")
    url = context.config.attributes.get(DATABASE_URL_ATTRIBUTE) or context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: call services.kit.migrate.upgrade(migrations_dir, database_url)")
    asyncio.run(_run_online(str(url), target_metadata))


async def _run_online(url: str, target_metadata: MetaData) -> None:
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_migrations, target_metadata)
    finally:
        await engine.dispose()


def _run_migrations(connection: Connection, target_metadata: MetaData) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        context.run_migrations()


def create_kit_tables() -> None:
    """Creates `outbox` and `inbox` (and the outbox's indexes); call it from a service's first migration."""
    outbox = op.create_table(OUTBOX_TABLE, *outbox_columns())
    for index in outbox_indexes(outbox):
        op.create_index(
            index.name or "",
            OUTBOX_TABLE,
            [column.name for column in index.columns],
            postgresql_where=index.dialect_options["postgresql"]["where"],
        )
    op.create_table(INBOX_TABLE, *inbox_columns())


def drop_kit_tables() -> None:
    op.drop_table(INBOX_TABLE)
    op.drop_index(UNPUBLISHED_SUBJECT_INDEX, table_name=OUTBOX_TABLE)
    op.drop_index(UNPUBLISHED_INDEX, table_name=OUTBOX_TABLE)
    op.drop_table(OUTBOX_TABLE)
