"""Starting a real service for a test: a fresh migrated database, the kit's server on a free port, a channel."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import grpc

from services.kit.migrate import migrate
from services.kit.server import RunningService, ServiceDefinition, started
from services.kit.settings import ServiceSettings


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
