"""Order events -> the cart: the units of a paid order leave the buyer's cart."""

from __future__ import annotations

import uuid
from typing import Any

from redis.asyncio import Redis

from marketplace.events.v1 import events_pb2
from services.cart.handlers import orders
from services.cart.handlers.deps import Deps
from services.kit.bus import StreamConsumer
from services.kit.outbox import stream_for
from services.kit.uow import UnitOfWork

GROUP = "cart"


def order_events_consumer(deps: Deps, redis: Redis) -> StreamConsumer:
    """The cart's member of the `cart` group on `events.order` (each event is handled once per group)."""

    async def on_paid(uow: UnitOfWork, envelope: Any, paid: events_pb2.OrderPaid) -> None:
        await orders.drop_purchased(
            deps, uow, paid.buyer_id, [(line.variant_id, line.quantity) for line in paid.lines if line.variant_id]
        )

    return StreamConsumer(
        redis,
        deps.uow,
        stream=stream_for("order"),
        group=GROUP,
        consumer=f"cart-{uuid.uuid4().hex[:12]}",
        # Orders are independent: each handler locks the rows it changes (in id order).
        concurrency=8,
        handlers={events_pb2.OrderPaid: on_paid},
    )
