"""Order domain events as the event payloads of the contract (marketplace.events.v1)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from google.protobuf.message import Message

from marketplace.common.v1 import money_pb2
from marketplace.events.v1 import events_pb2
from services.kit.protos import timestamp
from services.order import domain
from services.order.domain import Order, OrderLine


def _money(units: int, currency: str) -> money_pb2.Money:
    return money_pb2.Money(currency_code=currency, units=units)


def _lines(lines: Sequence[OrderLine]) -> list[events_pb2.OrderLine]:
    return [
        events_pb2.OrderLine(
            product_id=line.product_id,
            seller_id=line.seller_id,
            quantity=line.quantity,
            unit_price=_money(line.unit_price, line.currency),
            variant_id=line.variant_id,
            sku=line.sku,
            title=line.title,
        )
        for line in lines
    ]


_CANCELLATIONS = {
    domain.BY_BUYER: "cancelled by buyer",
    domain.PAYMENT_EXPIRED: "payment expired",
    domain.BY_REFUND: "payment refunded",
}


def _cancellation(order: Order) -> str:
    return _CANCELLATIONS.get(order.cancellation_reason, "cancelled")


def event_payload(event: Any) -> tuple[str, Message]:
    """Domain event -> (subject: the order id, payload message) for the outbox."""
    order: Order = event.order
    total = _money(order.total, order.currency)
    if isinstance(event, domain.Created):
        return order.id, events_pb2.OrderCreated(
            order_id=order.id,
            buyer_id=order.buyer_id,
            lines=_lines(order.lines),
            total=total,
            reservation_id=order.reservation_id,
            payment_due_time=timestamp(order.payment_due_at),
        )
    if isinstance(event, domain.Paid):
        return order.id, events_pb2.OrderPaid(
            order_id=order.id,
            buyer_id=order.buyer_id,
            lines=_lines(order.lines),
            total=total,
            reservation_id=order.reservation_id,
            payment_id=order.payment_id,
        )
    if isinstance(event, domain.Cancelled):
        return order.id, events_pb2.OrderCancelled(
            order_id=order.id,
            buyer_id=order.buyer_id,
            lines=_lines(order.lines),
            total=total,
            reservation_id=order.reservation_id,
            reason=_cancellation(order),
            was_paid=event.was_paid,
            payment_id=order.payment_id if event.was_paid else "",
        )
    if isinstance(event, domain.PartShipped):
        part = order.fulfilment_of(event.seller_id)
        shipment = part.shipment if part is not None else None
        return order.id, events_pb2.OrderShipped(
            order_id=order.id,
            buyer_id=order.buyer_id,
            lines=_lines(order.lines_of(event.seller_id)),
            total=total,
            carrier=shipment.carrier if shipment else "",
            tracking_number=shipment.tracking_number if shipment else "",
            seller_id=event.seller_id,
            all_shipped=order.status in (domain.SHIPPED, domain.DELIVERED),
        )
    if isinstance(event, domain.PartDelivered):
        return order.id, events_pb2.OrderDelivered(
            order_id=order.id,
            buyer_id=order.buyer_id,
            lines=_lines(order.lines_of(event.seller_id)),
            total=total,
            seller_id=event.seller_id,
            all_delivered=order.status == domain.DELIVERED,
        )
    if isinstance(event, domain.PaymentRefused):
        return order.id, events_pb2.OrderPaymentRefused(
            order_id=order.id,
            payment_id=event.payment_id,
            buyer_id=order.buyer_id,
            amount=_money(event.amount, event.currency),
            reason=event.reason,
        )
    if isinstance(event, domain.Refunded):
        return order.id, events_pb2.OrderRefunded(
            order_id=order.id, buyer_id=order.buyer_id, total=total, payment_id=order.payment_id
        )
    if isinstance(event, domain.AddressChanged):
        return order.id, events_pb2.OrderShippingAddressChanged(order_id=order.id, buyer_id=order.buyer_id)
    raise TypeError(f"no payload for {type(event).__name__}")
