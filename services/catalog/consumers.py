"""Order events -> reservations: a paid order's reservation is committed; a cancelled order's is released, or its
sold units go back to stock when it had been paid."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from redis.asyncio import Redis

from marketplace.events.v1 import events_pb2
from services.catalog.handlers import reservations
from services.catalog.handlers.deps import Deps
from services.kit.bus import StreamConsumer
from services.kit.errors import DomainError
from services.kit.uow import UnitOfWork

log = logging.getLogger(__name__)


def order_events_consumer(deps: Deps, redis: Redis) -> StreamConsumer:
    """The catalog's member of the `catalog` group on `events.order` (each event is handled once per group)."""

    async def on_paid(uow: UnitOfWork, envelope: Any, paid: events_pb2.OrderPaid) -> None:
        try:
            await reservations.commit_in(uow, deps, paid.reservation_id)
        except DomainError as error:
            # Retrying cannot help (e.g. paid after the reservation expired): record it for people to act on.
            _refused("OrderPaid", paid.order_id, paid.reservation_id, error)

    async def on_cancelled(uow: UnitOfWork, envelope: Any, cancelled: events_pb2.OrderCancelled) -> None:
        try:
            await reservations.cancel_in(uow, deps, cancelled.reservation_id)
        except DomainError as error:
            _refused("OrderCancelled", cancelled.order_id, cancelled.reservation_id, error)

    settings = deps.settings
    return StreamConsumer(
        redis,
        deps.uow,
        stream=settings.catalog_order_events_stream,
        group=settings.catalog_order_events_group,
        consumer=f"catalog-{uuid.uuid4().hex[:12]}",
        # Orders are independent: each handler locks the rows it changes (in id order).
        concurrency=8,
        handlers={events_pb2.OrderPaid: on_paid, events_pb2.OrderCancelled: on_cancelled},
    )


def _refused(event: str, order_id: str, reservation_id: str, error: DomainError) -> None:
    log.error(
        "order event refused by the catalog",
        extra={
            "fields": {"event": event, "order_id": order_id, "reservation_id": reservation_id, "reason": error.reason}
        },
    )
