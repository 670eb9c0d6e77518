"""Payment events -> orders: a succeeded payment pays its order, a declined one leaves it payable, a refund
closes a cancelled paid order."""

from __future__ import annotations

import uuid
from typing import Any

from redis.asyncio import Redis

from marketplace.events.v1 import events_pb2
from services.kit.bus import StreamConsumer
from services.kit.outbox import stream_for
from services.kit.uow import UnitOfWork
from services.order.handlers import payments
from services.order.handlers.deps import Deps

GROUP = "order"


def payment_events_consumer(deps: Deps, redis: Redis) -> StreamConsumer:
    """The order's member of the `order` group on `events.payment` (each event is handled once per group)."""

    async def on_succeeded(uow: UnitOfWork, envelope: Any, event: events_pb2.PaymentSucceeded) -> None:
        await payments.payment_succeeded(
            deps,
            uow,
            order_id=event.order_id,
            payment_id=event.payment_id,
            amount=event.amount.units,
            currency=event.amount.currency_code,
        )

    async def on_failed(uow: UnitOfWork, envelope: Any, event: events_pb2.PaymentFailed) -> None:
        await payments.payment_failed(deps, uow, order_id=event.order_id, payment_id=event.payment_id)

    async def on_refunded(uow: UnitOfWork, envelope: Any, event: events_pb2.PaymentRefunded) -> None:
        await payments.payment_refunded(deps, uow, order_id=event.order_id, payment_id=event.payment_id)

    return StreamConsumer(
        redis,
        deps.uow,
        stream=stream_for("payment"),
        group=GROUP,
        consumer=f"order-{uuid.uuid4().hex[:12]}",
        # Orders are independent: each handler locks the rows it changes (in id order).
        concurrency=8,
        handlers={
            events_pb2.PaymentSucceeded: on_succeeded,
            events_pb2.PaymentFailed: on_failed,
            events_pb2.PaymentRefunded: on_refunded,
        },
    )
