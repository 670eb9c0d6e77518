"""Order events through payment's consumer (group "payment" on the real `events.order`, which the real order
service publishes to): a cancelled order's PENDING payment is cancelled, a paid one refunded, a payment the order
refused refunded; each event handled once."""

from __future__ import annotations

import uuid

from marketplace.events.v1 import events_pb2
from marketplace.order.v1 import order_pb2
from marketplace.payment.v1 import payment_pb2
from tests.payment.conftest import Metadata, PaymentService
from tests.support.polling import eventually


async def pending_payment(payment: PaymentService, units: int = 3000) -> tuple[Metadata, str, payment_pb2.Payment]:
    """A new buyer's real order and its PENDING payment."""
    me, _ = await payment.buyer()
    order_id = (await payment.place(me, units=units)).id
    created = await payment.stub.CreatePayment(
        payment_pb2.CreatePaymentRequest(order_id=order_id, request_id=str(uuid.uuid4())), metadata=me
    )
    return me, order_id, created.payment


async def paid_payment(payment: PaymentService, units: int = 3000) -> tuple[Metadata, str, payment_pb2.Payment]:
    """A new buyer's real order, PAID by its payment."""
    me, _ = await payment.buyer()
    order_id = (await payment.place(me, units=units)).id
    return me, order_id, await payment.pay(order_id, me)


async def status_of(payment: PaymentService, payment_id: str) -> str:
    rows = await payment.sql("SELECT status FROM payments WHERE id = :id", id=payment_id)
    return str(rows[0][0])


async def becomes(payment: PaymentService, payment_id: str, status: str) -> None:
    async def reached() -> bool:
        return await status_of(payment, payment_id) == status

    await eventually(reached, timeout=10.0, message=f"the payment never became {status}")


async def test_a_cancelled_orders_pending_payment_is_cancelled_once(payment: PaymentService) -> None:
    me, order_id, created = await pending_payment(payment)
    await payment.cancel_order(order_id, me)
    cancelled = await payment.order_event(order_id, "OrderCancelled")
    await payment.redeliver(cancelled)  # delivered twice
    assert await payment.handled(cancelled.id) == [cancelled.id]
    await becomes(payment, created.id, "CANCELLED")
    # Once a later event is handled, the duplicate before it in the stream was too.
    other_me, other_order, _ = await pending_payment(payment)
    await payment.cancel_order(other_order, other_me)
    later = await payment.order_event(other_order, "OrderCancelled")
    assert await payment.handled(cancelled.id, later.id) == [cancelled.id, later.id]
    assert await status_of(payment, created.id) == "CANCELLED"
    assert await payment.events() == []  # cancelling a payment is no news to anyone


async def test_a_cancelled_paid_order_is_refunded_once(payment: PaymentService) -> None:
    me, order_id, paid = await paid_payment(payment, units=4200)
    await payment.cancel_order(order_id, me)
    envelope = await payment.order_event(order_id, "OrderCancelled")
    sent = events_pb2.OrderCancelled()
    envelope.payload.Unpack(sent)
    assert (sent.was_paid, sent.payment_id, sent.total.units) == (True, paid.id, 4200)
    await payment.redeliver(envelope)
    # The same fact as a new event (a producer's retry): still one refund.
    retried = await payment.publish(sent)
    await payment.handled(envelope.id, retried.id)
    assert await status_of(payment, paid.id) == "REFUNDED"
    events = await payment.events()
    assert [kind for kind, _ in events] == ["PaymentSucceeded", "PaymentRefunded"]
    refunded = events[1][1]
    assert (refunded.payment_id, refunded.order_id, refunded.amount.units) == (paid.id, order_id, 4200)
    assert (await payment.sql("SELECT refund_reason FROM payments"))[0][0] == "order cancelled: cancelled by buyer"
    # The order service takes the refund: the cancelled paid order is REFUNDED.
    await payment.order_becomes(order_id, me, order_pb2.ORDER_STATUS_REFUNDED)


async def test_a_payment_the_order_refused_is_refunded_once(payment: PaymentService) -> None:
    _, order_id, paid = await paid_payment(payment)
    refused = events_pb2.OrderPaymentRefused(
        order_id=order_id, payment_id=paid.id, buyer_id=paid.buyer_id, reason="order cancelled"
    )
    envelope = await payment.publish(refused)
    await payment.publish(refused, envelope=envelope)
    assert await payment.handled(envelope.id) == [envelope.id]
    await becomes(payment, paid.id, "REFUNDED")
    later = await payment.publish(
        events_pb2.OrderPaymentRefused(order_id=str(uuid.uuid4()), payment_id=str(uuid.uuid4()))
    )
    assert await payment.handled(envelope.id, later.id) == [envelope.id, later.id]
    assert [kind for kind, _ in await payment.events()] == ["PaymentSucceeded", "PaymentRefunded"]
    assert (await payment.sql("SELECT refund_reason FROM payments"))[0][0] == "refused by the order: order cancelled"


async def test_a_refusal_naming_another_orders_payment_changes_nothing(payment: PaymentService) -> None:
    _, _, paid = await paid_payment(payment)
    other_me, _ = await payment.buyer()
    other_order = await payment.place(other_me)
    refusal = await payment.publish(events_pb2.OrderPaymentRefused(order_id=other_order.id, payment_id=paid.id))
    await payment.handled(refusal.id)
    assert await status_of(payment, paid.id) == "SUCCEEDED"
    assert [kind for kind, _ in await payment.events()] == ["PaymentSucceeded"]
