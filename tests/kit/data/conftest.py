from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.kit.db import create_engine, session_factory
from services.kit.uow import UnitOfWork
from tests.kit.data.example import metadata, widget_event


@dataclass
class ExampleDb:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, source=self.source, events=widget_event)

    source: str = "example"


@pytest.fixture
async def example_db(fresh_database) -> AsyncIterator[ExampleDb]:
    """A fresh database with the example tables (widgets, outbox, inbox); events go to a unique source."""
    url = await fresh_database("kitdata")
    engine = create_engine(url, pool_size=5)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    try:
        yield ExampleDb(engine, session_factory(engine), source=f"example{uuid.uuid4().hex[:8]}")
    finally:
        await engine.dispose()


@pytest.fixture
async def redis(infra) -> AsyncIterator[Redis]:
    client = Redis.from_url(infra.redis_url)
    try:
        yield client
    finally:
        await client.aclose()
