"""Reading what a service under test wrote to its outbox."""

from __future__ import annotations

from typing import Any

from google.protobuf import symbol_database
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.events.v1 import envelope_pb2
from tests.support.sql import run_sql


async def outbox_events(sessions: async_sessionmaker[AsyncSession] | None) -> list[tuple[str, Any]]:
    """Every event in the service's outbox, oldest first: (type's short name, unpacked payload)."""
    found = []
    for (raw,) in await run_sql(sessions, "SELECT envelope FROM outbox ORDER BY position"):
        envelope = envelope_pb2.Envelope.FromString(raw)
        payload = symbol_database.Default().GetSymbol(envelope.type)()
        envelope.payload.Unpack(payload)
        found.append((envelope.type.rsplit(".", 1)[-1], payload))
    return found
