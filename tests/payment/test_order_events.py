"""Order events through payment's consumer (group "payment" on the order stream): a cancelled order's PENDING
payment is cancelled, a paid one refunded, a payment the order refused refunded; each event handled once."""

from __future__ import annotations

import uuid

from marketplace.common.v1 import money_pb2
from marketplace.events.v1 import events_pb2
from marketplace.payment.v1 import payment_pb2
from tests.payment.conftest import Metadata, PaymentService
from tests.support.polling import eventually


async def pending_payment(payment: PaymentService, units: int = 3000) -> tuple[Metadata, str, payment_pb2.Payment]:
    me, buyer_id = await payment.buyer()
    order_id = payment.orders.add(buyer_id, units=units)
    created = await payment.stub.CreatePayment(
        payment_pb2.CreatePaymentRequest(order_id=order_id, request_id=str(uuid.uuid4())), metadata=me
    )
    return me, order_id, created.payment


async def paid_payment(payment: PaymentService, units: int = 3000) -> tuple[Metadata, str, payment_pb2.Payment]:
    me, order_id, created = await pending_payment(payment, units)
    confirmed = await payment.stub.ConfirmPayment(payment_pb2.ConfirmPaymentRequest(id=created.id), metadata=me)
    return me, order_id, confirmed.payment


async def status_of(payment: PaymentService, payment_id: str) -> str:
    rows = await payment.sql("SELECT status FROM payments WHERE id = :id", id=payment_id)
    return str(rows[0][0])


async def handled(payment: PaymentService, count: int) -> None:
    async def done() -> bool:
        rows = await payment.sql("SELECT count(*) FROM inbox WHERE consumer_group = 'payment'")
        return bool(rows[0][0] >= count)

    await eventually(done, message=f"payment's consumer did not handle {count} events")


async def test_a_cancelled_orders_pending_payment_is_cancelled_once(payment: PaymentService) -> None:
    _, order_id, created = await pending_payment(payment)
    cancelled = events_pb2.OrderCancelled(order_id=order_id, buyer_id=created.buyer_id, reason="cancelled by buyer")
    envelope = await payment.publish(cancelled)
    await payment.publish(cancelled, envelope=envelope)  # delivered twice
    await handled(payment, 1)
    await eventually(lambda: _is(payment, created.id, "CANCELLED"))
    # Once a later event is handled, the duplicate before it in the stream was too.
    later = await payment.publish(events_pb2.OrderCancelled(order_id=str(uuid.uuid4())))
    await handled(payment, 2)
    inbox = await payment.sql("SELECT event_id FROM inbox ORDER BY handled_at")
    assert [row[0] for row in inbox] == [envelope.id, later.id]
    assert await payment.events() == []  # cancelling a payment is no news to anyone


async def _is(payment: PaymentService, payment_id: str, status: str) -> bool:
    return await status_of(payment, payment_id) == status


async def test_a_cancelled_paid_order_is_refunded_once(payment: PaymentService) -> None:
    _, order_id, paid = await paid_payment(payment, units=4200)
    cancelled = events_pb2.OrderCancelled(
        order_id=order_id,
        buyer_id=paid.buyer_id,
        total=money_pb2.Money(currency_code="USD", units=4200),
        reason="cancelled by buyer",
        was_paid=True,
        payment_id=paid.id,
    )
    envelope = await payment.publish(cancelled)
    await payment.publish(cancelled, envelope=envelope)
    # The same fact as a new event (a producer's retry): still one refund.
    await payment.publish(cancelled)
    await handled(payment, 2)
    assert await status_of(payment, paid.id) == "REFUNDED"
    events = await payment.events()
    assert [kind for kind, _ in events] == ["PaymentSucceeded", "PaymentRefunded"]
    refunded = events[1][1]
    assert (refunded.payment_id, refunded.order_id, refunded.amount.units) == (paid.id, order_id, 4200)
    assert (await payment.sql("SELECT refund_reason FROM payments"))[0][0] == "order cancelled: cancelled by buyer"


async def test_a_payment_the_order_refused_is_refunded_once(payment: PaymentService) -> None:
    _, order_id, paid = await paid_payment(payment)
    refused = events_pb2.OrderPaymentRefused(
        order_id=order_id, payment_id=paid.id, buyer_id=paid.buyer_id, reason="order cancelled"
    )
    envelope = await payment.publish(refused)
    await payment.publish(refused, envelope=envelope)
    await handled(payment, 1)
    await eventually(lambda: _is(payment, paid.id, "REFUNDED"))
    await payment.publish(events_pb2.OrderPaymentRefused(order_id=str(uuid.uuid4()), payment_id=str(uuid.uuid4())))
    await handled(payment, 2)
    assert [kind for kind, _ in await payment.events()] == ["PaymentSucceeded", "PaymentRefunded"]


async def test_a_refusal_naming_another_orders_payment_changes_nothing(payment: PaymentService) -> None:
    _, _, paid = await paid_payment(payment)
    await payment.publish(events_pb2.OrderPaymentRefused(order_id=str(uuid.uuid4()), payment_id=paid.id))
    await handled(payment, 1)
    assert await status_of(payment, paid.id) == "SUCCEEDED"
    assert [kind for kind, _ in await payment.events()] == ["PaymentSucceeded"]
