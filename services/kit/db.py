"""Database: SQLAlchemy 2 async engines on asyncpg, one database per service."""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession

from services.kit.settings import DEFAULT_POOL_SIZE

_SAFE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def async_url(url: str) -> URL:
    """`url` with the asyncpg driver (accepts plain postgresql:// URLs, including unix-socket ones)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    # No pre-ping: SQLAlchemy's asyncpg ping is BEGIN, `;`, ROLLBACK, three round trips on every checkout of a
    # pooled connection, more than most of the services' transactions themselves. A connection found broken
    # instead fails its one call (UNAVAILABLE, see `connection_lost`) and makes the pool replace every connection
    # older than the failure; connections are also replaced after half an hour, before idle-connection
    # timeouts of proxies in between cut them.
    #
    # No overflow by default: a connection beyond the pool's size is closed when it is returned to a full pool,
    # so under load a pool with overflow opens and closes connections all the time, and each new one is a
    # backend PostgreSQL forks and initialises (bench/README.md, "Checkout": 93 connections in 20 s in the cart
    # alone, PostgreSQL's CPU per checkout halved without them). Past its size, a transaction waits for a
    # connection instead (`pool_timeout`, 30 s).
    kwargs.setdefault("pool_pre_ping", False)
    kwargs.setdefault("pool_recycle", 1800)
    kwargs.setdefault("pool_size", DEFAULT_POOL_SIZE)
    kwargs.setdefault("max_overflow", 0)
    return create_async_engine(async_url(url), **kwargs)


def connection_lost(error: BaseException) -> bool:
    """Whether `error` is the database connection breaking or refused (a restart, a failover, a killed backend)
    rather than something the statement itself did."""
    if isinstance(error, DBAPIError):
        return bool(error.connection_invalidated)
    return isinstance(error, ConnectionError)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def read_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for reads that are one statement, on the same pool: in autocommit, so a read is one round trip
    instead of three (a session otherwise sends BEGIN before its first statement and ROLLBACK at the end).

    Each statement sees its own snapshot. A read of several statements that must agree with each other (a row
    and its children read apart) takes a `session_factory` session; nothing is ever written through these.
    """
    return async_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False)


async def ping(engine: AsyncEngine, timeout: float = 2.0) -> None:
    """Raises when the database does not answer `SELECT 1` within `timeout` seconds."""
    async with asyncio.timeout(timeout), engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


def _asyncpg_kwargs(url: URL) -> dict[str, Any]:
    host = url.query.get("host") or url.host
    if isinstance(host, tuple):
        host = host[0]
    return {
        "host": host,
        "port": url.port,
        "user": url.username,
        "password": url.password or None,
        "database": url.database,
    }


async def ensure_database(server_url: str, name: str) -> str:
    """Creates database `name` on the server of `server_url` unless it exists; returns its URL."""
    if not _SAFE_NAME.match(name):
        raise ValueError(f"unsafe database name {name!r}")
    url = async_url(server_url)
    connection = await asyncpg.connect(**_asyncpg_kwargs(url.set(database="postgres")))
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            # Another process may create it at the same moment.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return url.set(database=name).render_as_string(hide_password=False)


async def drop_database(server_url: str, name: str) -> None:
    if not _SAFE_NAME.match(name):
        raise ValueError(f"unsafe database name {name!r}")
    url = async_url(server_url)
    connection = await asyncpg.connect(**_asyncpg_kwargs(url.set(database="postgres")))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()
