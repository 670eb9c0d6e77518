"""Payment domain events as the event payloads of the contract (marketplace.events.v1)."""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message

from marketplace.common.v1 import money_pb2
from marketplace.events.v1 import events_pb2
from services.payment import domain


def _money(units: int, currency: str) -> money_pb2.Money:
    return money_pb2.Money(currency_code=currency, units=units)


def event_payload(event: Any) -> tuple[str, Message]:
    """Domain event -> (subject: the payment id, payload message) for the outbox."""
    if isinstance(event, domain.Succeeded):
        return event.payment_id, events_pb2.PaymentSucceeded(
            payment_id=event.payment_id,
            order_id=event.order_id,
            buyer_id=event.buyer_id,
            amount=_money(event.amount_units, event.currency),
            provider=event.provider,
        )
    if isinstance(event, domain.Failed):
        return event.payment_id, events_pb2.PaymentFailed(
            payment_id=event.payment_id,
            order_id=event.order_id,
            buyer_id=event.buyer_id,
            amount=_money(event.amount_units, event.currency),
            reason=event.reason,
        )
    if isinstance(event, domain.Refunded):
        return event.payment_id, events_pb2.PaymentRefunded(
            payment_id=event.payment_id,
            order_id=event.order_id,
            buyer_id=event.buyer_id,
            amount=_money(event.amount_units, event.currency),
        )
    raise TypeError(f"no payload for {type(event).__name__}")
