"""Cart domain events as the event payloads of the contract (marketplace.events.v1)."""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message

from marketplace.events.v1 import events_pb2
from services.cart import domain


def event_payload(event: Any) -> tuple[str, Message]:
    """Domain event -> (subject: the cart id, payload message) for the outbox."""
    if isinstance(event, domain.ItemAdded):
        return event.cart_id, events_pb2.CartItemAdded(
            cart_id=event.cart_id,
            buyer_id=event.buyer_id,
            product_id=event.product_id,
            variant_id=event.variant_id,
            quantity=event.quantity,
            line_quantity=event.line_quantity,
            added_by=event.by.user_id,
            actor=event.by.assistant,
        )
    if isinstance(event, domain.QuantityChanged):
        return event.cart_id, events_pb2.CartItemQuantityChanged(
            cart_id=event.cart_id,
            buyer_id=event.buyer_id,
            product_id=event.product_id,
            variant_id=event.variant_id,
            old_quantity=event.old_quantity,
            new_quantity=event.new_quantity,
            changed_by=event.by.user_id,
            actor=event.by.assistant,
        )
    if isinstance(event, domain.ItemRemoved):
        return event.cart_id, events_pb2.CartItemRemoved(
            cart_id=event.cart_id,
            buyer_id=event.buyer_id,
            product_id=event.product_id,
            variant_id=event.variant_id,
            quantity=event.quantity,
            removed_by=event.by.user_id,
            actor=event.by.assistant,
        )
    if isinstance(event, domain.Cleared):
        return event.cart_id, events_pb2.CartCleared(
            cart_id=event.cart_id,
            buyer_id=event.buyer_id,
            line_count=event.line_count,
            cleared_by=event.by.user_id,
            actor=event.by.assistant,
        )
    raise TypeError(f"no payload for {type(event).__name__}")
