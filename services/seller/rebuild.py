"""`python -m services.seller rebuild`: the read model emptied and built again from the streams, from their
first entry (XRANGE), by the same appliers as the live consumers, in one transaction. Readers wait for it and
then see the rebuilt figures; each event applied is recorded in the inbox of the seller's group, so the live
consumers skip what the rebuild applied and apply what came after."""

from __future__ import annotations

import asyncio
import logging
import sys

from redis.asyncio import Redis
from sqlalchemy.exc import DBAPIError

from marketplace.events.v1.envelope_pb2 import Envelope
from services.kit import db
from services.kit.cli import CommandFailed, command_settings, database_failure
from services.kit.outbox import record_inbox
from services.seller import store
from services.seller.consumers import occurred_at, streams
from services.seller.handlers.deps import Deps
from services.seller.settings import SellerSettings

log = logging.getLogger(__name__)

ENVELOPE_FIELD = b"envelope"
PAGE = 1000


async def rebuild(deps: Deps, redis: Redis) -> dict[str, int]:
    """Rebuilds the read model; how many events of each stream were applied."""
    group = deps.settings.seller_events_group
    applied: dict[str, int] = {}
    async with deps.uow() as uow:
        session = uow.session
        await store.truncate(session, group)
        # The order stream first: a payment's refund finds the payment that paid the order.
        for stream, appliers in streams(deps).items():
            by_name = {
                payload_type.DESCRIPTOR.full_name: (payload_type, apply) for payload_type, apply in appliers.items()
            }
            count, start = 0, "-"
            while True:
                entries = await redis.xrange(stream, min=start, max="+", count=PAGE)
                for entry_id, fields in entries:
                    envelope = Envelope()
                    try:
                        envelope.ParseFromString(fields.get(ENVELOPE_FIELD, b""))
                    except Exception:  # a malformed entry is the dead-letter path's business, not ours
                        log.warning("skipping malformed entry %s of %s", entry_id, stream)
                        continue
                    known = by_name.get(envelope.payload.TypeName())
                    if known is None or not await record_inbox(session, envelope.id, group):
                        continue
                    payload_type, apply = known
                    payload = payload_type()
                    envelope.payload.Unpack(payload)
                    await apply(session, occurred_at(envelope), payload)
                    count += 1
                if len(entries) < PAGE:
                    break
                start = "(" + entries[-1][0].decode()
            applied[stream] = count
        await uow.commit()
    return applied


async def _run(settings: SellerSettings) -> dict[str, int]:
    engine = db.create_engine(settings.service_database_url)
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=2)
    try:
        return await rebuild(Deps(settings=settings, sessions=db.session_factory(engine)), redis)
    except (OSError, TimeoutError, DBAPIError) as error:
        failure = database_failure(error, settings.service_database_url)
        if failure is None:
            raise CommandFailed(f"cannot read the streams at {settings.redis_url}: {error}") from error
        raise failure from error
    finally:
        await redis.aclose()
        await engine.dispose()


def main() -> int:
    settings = command_settings(SellerSettings)
    try:
        applied = asyncio.run(_run(settings))
    except CommandFailed as failure:
        print(f"nothing rebuilt: {failure}", file=sys.stderr)
        return 1
    for stream, count in applied.items():
        print(f"{stream}: {count} events applied")
    return 0
