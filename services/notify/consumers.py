"""Events -> notification records: auth's, order's and payment's streams, each read by notify's group.
Protobuf is translated here; what to record is decided in `handlers.intake`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from redis.asyncio import Redis

from marketplace.events.v1 import events_pb2
from services.kit.bus import Handler, StreamConsumer
from services.kit.outbox import stream_for
from services.kit.uow import UnitOfWork
from services.notify.domain import Line, Recipient
from services.notify.handlers import intake
from services.notify.handlers.deps import Deps
from services.notify.handlers.intake import Amount, Event
from services.notify.settings import NotifySettings


def _event(envelope: Any) -> Event:
    occurred = envelope.occurred_at.ToDatetime(tzinfo=UTC) if envelope.HasField("occurred_at") else datetime.now(UTC)
    return Event(id=envelope.id, occurred_at=occurred)


def _time(value: Timestamp, present: bool) -> datetime | None:
    return value.ToDatetime(tzinfo=UTC) if present else None


def _amount(money: Any) -> Amount:
    return Amount(units=money.units, currency=money.currency_code or "USD")


def _lines(lines: Any) -> list[Line]:
    return [Line(line.title, line.quantity, line.unit_price.units, line.unit_price.currency_code) for line in lines]


async def on_registered(deps: Deps, uow: UnitOfWork, envelope: Any, event: events_pb2.UserRegistered) -> None:
    recipient = Recipient(event.user_id, event.email, event.display_name or event.username)
    await intake.user_registered(uow, deps, _event(envelope), recipient)


async def on_profile_changed(deps: Deps, uow: UnitOfWork, envelope: Any, event: events_pb2.UserProfileChanged) -> None:
    await intake.profile_changed(uow, deps, user_id=event.user_id, display_name=event.display_name or event.username)


async def on_reset(deps: Deps, uow: UnitOfWork, envelope: Any, event: events_pb2.PasswordResetRequested) -> None:
    await intake.password_reset_requested(
        uow,
        deps,
        _event(envelope),
        user_id=event.user_id,
        email=event.email,
        token=event.reset_token,
        expires_at=_time(event.expires_at, event.HasField("expires_at")),
    )


async def on_paid(deps: Deps, uow: UnitOfWork, envelope: Any, event: events_pb2.OrderPaid) -> None:
    lines = [
        (
            line.product_id,
            line.seller_id,
            Line(line.title, line.quantity, line.unit_price.units, line.unit_price.currency_code),
        )
        for line in event.lines
    ]
    await intake.order_paid(
        uow,
        deps,
        _event(envelope),
        order_id=event.order_id,
        buyer_id=event.buyer_id,
        total=_amount(event.total),
        lines=lines,
    )


async def on_shipped(deps: Deps, uow: UnitOfWork, envelope: Any, event: events_pb2.OrderShipped) -> None:
    await intake.order_shipped(
        uow,
        deps,
        _event(envelope),
        order_id=event.order_id,
        buyer_id=event.buyer_id,
        seller_id=event.seller_id,
        carrier=event.carrier,
        tracking_number=event.tracking_number,
        lines=_lines(event.lines),
        all_shipped=event.all_shipped,
    )


async def on_delivered(deps: Deps, uow: UnitOfWork, envelope: Any, event: events_pb2.OrderDelivered) -> None:
    await intake.order_delivered(
        uow,
        deps,
        _event(envelope),
        order_id=event.order_id,
        buyer_id=event.buyer_id,
        seller_id=event.seller_id,
        lines=_lines(event.lines),
        all_delivered=event.all_delivered,
    )


async def on_cancelled(deps: Deps, uow: UnitOfWork, envelope: Any, event: events_pb2.OrderCancelled) -> None:
    await intake.order_cancelled(
        uow,
        deps,
        _event(envelope),
        order_id=event.order_id,
        buyer_id=event.buyer_id,
        total=_amount(event.total),
        lines=_lines(event.lines),
        reason=event.reason,
        was_paid=event.was_paid,
    )


async def on_payment_failed(deps: Deps, uow: UnitOfWork, envelope: Any, event: events_pb2.PaymentFailed) -> None:
    await intake.payment_failed(
        uow,
        deps,
        _event(envelope),
        order_id=event.order_id,
        buyer_id=event.buyer_id,
        amount=_amount(event.amount),
        reason=event.reason,
    )


async def on_refunded(deps: Deps, uow: UnitOfWork, envelope: Any, event: events_pb2.PaymentRefunded) -> None:
    await intake.payment_refunded(
        uow, deps, _event(envelope), order_id=event.order_id, buyer_id=event.buyer_id, amount=_amount(event.amount)
    )


# Which events notify reads from each producer's stream.
SUBSCRIPTIONS: dict[str, dict[type, Any]] = {
    "auth": {
        events_pb2.UserRegistered: on_registered,
        events_pb2.UserProfileChanged: on_profile_changed,
        events_pb2.PasswordResetRequested: on_reset,
    },
    "order": {
        events_pb2.OrderPaid: on_paid,
        events_pb2.OrderShipped: on_shipped,
        events_pb2.OrderDelivered: on_delivered,
        events_pb2.OrderCancelled: on_cancelled,
    },
    "payment": {events_pb2.PaymentFailed: on_payment_failed, events_pb2.PaymentRefunded: on_refunded},
}


def _bound(deps: Deps, handler: Any) -> Handler:
    async def handle(uow: UnitOfWork, envelope: Any, payload: Any) -> None:
        await handler(deps, uow, envelope, payload)

    return handle


def event_consumers(deps: Deps, redis: Redis, settings: NotifySettings) -> dict[str, StreamConsumer]:
    """One consumer per stream (by producer name), all in the group `notify`."""
    member = uuid.uuid4().hex[:12]
    return {
        source: StreamConsumer(
            redis,
            deps.uow,
            stream=stream_for(source),
            group=settings.notify_events_group,
            consumer=f"notify-{member}",
            handlers={payload: _bound(deps, handler) for payload, handler in handlers.items()},
            claim_idle=settings.notify_claim_idle_seconds,
            max_deliveries=settings.notify_max_deliveries,
        )
        for source, handlers in SUBSCRIPTIONS.items()
    }
