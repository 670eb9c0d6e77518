"""Order events -> payments: a cancelled order's PENDING payment is cancelled (and its paid one refunded), a
payment the order refused is refunded. Each event is handled once per group (the kit's inbox)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from redis.asyncio import Redis

from marketplace.events.v1 import events_pb2
from services.kit.bus import StreamConsumer
from services.kit.errors import DomainError, Unavailable
from services.kit.uow import UnitOfWork
from services.payment.handlers import refunds
from services.payment.handlers.deps import Deps
from services.payment.settings import PaymentSettings

log = logging.getLogger(__name__)


def order_events_consumer(deps: Deps, redis: Redis, settings: PaymentSettings) -> StreamConsumer:
    """Payment's member of the `payment` group on `events.order`."""

    async def on_cancelled(uow: UnitOfWork, envelope: Any, cancelled: events_pb2.OrderCancelled) -> None:
        try:
            await refunds.cancel_pending_in(uow, deps, cancelled.order_id)
            if cancelled.was_paid:
                await refunds.refund_in(
                    uow,
                    deps,
                    order_id=cancelled.order_id,
                    payment_id=cancelled.payment_id,
                    reason=f"order cancelled: {cancelled.reason}" if cancelled.reason else "order cancelled",
                )
        except Unavailable:
            raise  # the provider is down: the event is tried again
        except DomainError as error:
            _refused("OrderCancelled", cancelled.order_id, error)

    async def on_refused(uow: UnitOfWork, envelope: Any, refused: events_pb2.OrderPaymentRefused) -> None:
        try:
            await refunds.refund_in(
                uow,
                deps,
                order_id=refused.order_id,
                payment_id=refused.payment_id,
                reason=f"refused by the order: {refused.reason}" if refused.reason else "refused by the order",
            )
        except Unavailable:
            raise
        except DomainError as error:
            _refused("OrderPaymentRefused", refused.order_id, error)

    return StreamConsumer(
        redis,
        deps.uow,
        stream=settings.payment_order_events_stream,
        group=settings.payment_order_events_group,
        consumer=f"payment-{uuid.uuid4().hex[:12]}",
        # Orders are independent: each handler locks the rows it changes (in id order).
        concurrency=8,
        handlers={events_pb2.OrderCancelled: on_cancelled, events_pb2.OrderPaymentRefused: on_refused},
    )


def _refused(event: str, order_id: str, error: DomainError) -> None:
    # Retrying cannot help: record it for people to act on.
    log.error(
        "order event refused by payment",
        extra={"fields": {"event": event, "order_id": order_id, "reason": error.reason, "error": error.message}},
    )
