"""Starting a real service for a test: a fresh migrated database, the kit's server on a free port, a channel."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import grpc

from services.kit.migrate import migrate
from services.kit.server import RunningService, ServiceDefinition, started
from services.kit.settings import ServiceSettings

SettingsType = TypeVar("SettingsType", bound=ServiceSettings)


def settings_under_test(
    settings_type: type[SettingsType], database_url: str, redis_url: str, service_database_url: str, **values: Any
) -> SettingsType:
    """Settings of a service under test: the test's servers, the service's own fresh database, a free port, a
    short drain and quiet logs; `values` add the service's own and override these."""
    common: dict[str, Any] = {
        "database_url": database_url,
        "redis_url": redis_url,
        "service_database_url": service_database_url,
        "port": 0,
        "drain_grace_seconds": 0.5,
        "log_format": "text",
        "log_level": "WARNING",
    }
    return settings_type(**(common | values))


async def migrate_service(definition: ServiceDefinition, url: str) -> None:
    """Applies `definition`'s migrations to the database at `url`."""
    if definition.migrations is not None:
        await migrate(definition.migrations, url)


@asynccontextmanager
async def serving(
    definition: ServiceDefinition, settings: ServiceSettings, *, channel_options: Sequence[tuple[str, Any]] = ()
) -> AsyncIterator[tuple[RunningService, grpc.aio.Channel]]:
    """The running service and an insecure channel to it; both closed on exit."""
    async with started(definition, settings) as running:
        channel = grpc.aio.insecure_channel(running.address, options=list(channel_options))
        try:
            yield running, channel
        finally:
            await channel.close(None)
