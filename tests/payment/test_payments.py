"""Payments with the local provider through the real payment service, for real orders of the real order service
(with the real auth, catalog and cart services): creating (idempotent, one PENDING payment per order), who may pay
and read, confirming, refunding, and the events each change writes to the outbox."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import grpc
import pytest

from marketplace.auth.v1 import auth_pb2
from marketplace.events.v1 import envelope_pb2
from marketplace.order.v1 import order_pb2
from marketplace.payment.v1 import payment_pb2
from tests.kit.rpc.support import error_info
from tests.payment.conftest import Metadata, PaymentService, StartPayment
from tests.support.auth import bearer, service_token
from tests.support.polling import eventually

RPC_LOGGER = "services.kit.rpc"
SUMMARY_METHOD = "/marketplace.order.v1.OrderService/GetOrderSummary"


def create(order_id: str, request_id: str = "") -> payment_pb2.CreatePaymentRequest:
    return payment_pb2.CreatePaymentRequest(order_id=order_id, request_id=request_id or str(uuid.uuid4()))


def confirm(payment_id: str, decline: bool = False) -> payment_pb2.ConfirmPaymentRequest:
    outcome = payment_pb2.LOCAL_OUTCOME_DECLINE if decline else payment_pb2.LOCAL_OUTCOME_APPROVE
    return payment_pb2.ConfirmPaymentRequest(id=payment_id, outcome=outcome)


async def refused(call: Any, code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert caught.value.code() == code, caught.value.details()
    return caught.value


def summary_callers(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The subject of each call's token the order service logged for GetOrderSummary."""
    logged = [getattr(record, "fields", {}) for record in caplog.records if record.name == RPC_LOGGER]
    return [str(fields["subject"]) for fields in logged if fields.get("method") == SUMMARY_METHOD]


async def published(payment: PaymentService, event_id: str) -> bool:
    redis = payment.running.runtime.redis
    assert redis is not None
    for _, fields in await redis.xrevrange("events.payment", count=200):
        if envelope_pb2.Envelope.FromString(fields[b"envelope"]).id == event_id:
            return True
    return False


async def test_a_payment_is_created_once_per_request_and_the_pending_one_returned_again(
    payment: PaymentService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=RPC_LOGGER)
    me, buyer_id = await payment.buyer()
    order_id = (await payment.place(me, units=2599, currency="EUR")).id
    request = create(order_id)

    first = (await payment.stub.CreatePayment(request, metadata=me)).payment
    assert (first.order_id, first.buyer_id, first.amount.units, first.amount.currency_code) == (
        order_id,
        buyer_id,
        2599,
        "EUR",
    )
    assert (first.status, first.provider) == (payment_pb2.PAYMENT_STATUS_PENDING, payment_pb2.PAYMENT_PROVIDER_LOCAL)
    assert (first.provider_payment_id, first.client_secret, first.HasField("succeed_time")) == ("", "", False)
    # The order service was asked (its internal GetOrderSummary) with payment's own service token.
    assert summary_callers(caplog) == ["service:payment"]

    again = (await payment.stub.CreatePayment(request, metadata=me)).payment
    another_request = (await payment.stub.CreatePayment(create(order_id), metadata=me)).payment
    assert again.id == another_request.id == first.id
    assert (await payment.sql("SELECT count(*) FROM payments"))[0][0] == 1
    # Nothing happened yet that other services hear of.
    assert await payment.events() == []


async def test_concurrent_creates_make_one_payment(payment: PaymentService) -> None:
    me, _ = await payment.buyer()
    order_id = (await payment.place(me)).id
    request_id = str(uuid.uuid4())
    calls = [payment.stub.CreatePayment(create(order_id, request_id), metadata=me) for _ in range(8)]
    calls += [payment.stub.CreatePayment(create(order_id), metadata=me) for _ in range(8)]
    answers = await asyncio.gather(*calls)
    assert len({answer.payment.id for answer in answers}) == 1
    rows = await payment.sql("SELECT request_id, status FROM payments")
    assert len(rows) == 1 and rows[0][1] == "PENDING"


async def order_in(payment: PaymentService, status: int) -> tuple[Metadata, str]:
    """A new buyer's real order of two sellers, brought to `status` through the real RPCs and events."""
    me, _ = await payment.buyer()
    placed = await payment.place(me, sellers=2)
    if status == order_pb2.ORDER_STATUS_CANCELLED:
        await payment.cancel_order(placed.id, me)
    else:
        await payment.pay(placed.id, me)
    if status == order_pb2.ORDER_STATUS_PARTIALLY_SHIPPED:
        await payment.ship(placed.id, 1)
    elif status == order_pb2.ORDER_STATUS_DELIVERED:
        await payment.ship(placed.id, 2, deliver=True)
    elif status == order_pb2.ORDER_STATUS_REFUNDED:
        # Cancelled once paid: payment refunds it from the order's event, and the order takes the refund.
        await payment.cancel_order(placed.id, me)
        await payment.order_becomes(placed.id, me, order_pb2.ORDER_STATUS_REFUNDED)
    assert (await payment.get_order(placed.id, me)).status == status
    return me, placed.id


async def test_an_order_that_is_not_waiting_for_payment_is_refused(payment: PaymentService) -> None:
    for status, reason in [
        (order_pb2.ORDER_STATUS_PAID, "ORDER_ALREADY_PAID"),
        (order_pb2.ORDER_STATUS_PARTIALLY_SHIPPED, "ORDER_ALREADY_PAID"),
        (order_pb2.ORDER_STATUS_DELIVERED, "ORDER_ALREADY_PAID"),
        (order_pb2.ORDER_STATUS_CANCELLED, "ORDER_NOT_PAYABLE"),
        (order_pb2.ORDER_STATUS_REFUNDED, "ORDER_NOT_PAYABLE"),
    ]:
        me, order_id = await order_in(payment, status)
        before = await payment.sql("SELECT id, status FROM payments ORDER BY id")
        error = await refused(
            payment.stub.CreatePayment(create(order_id), metadata=me), grpc.StatusCode.FAILED_PRECONDITION
        )
        assert error_info(error).reason == reason, order_pb2.OrderStatus.Name(status)  # type: ignore[arg-type]
        assert await payment.sql("SELECT id, status FROM payments ORDER BY id") == before


async def test_an_expired_or_unknown_order_is_refused(start_payment: StartPayment) -> None:
    # Orders are payable for a second; the order service's sweep cancels them soon after.
    payment = await start_payment(order={"order_payment_timeout": 1, "order_expiry_sweep_seconds": 0.2})
    me, _ = await payment.buyer()
    expired = (await payment.place(me)).id
    await payment.order_becomes(expired, me, order_pb2.ORDER_STATUS_CANCELLED)
    assert (await payment.get_order(expired, me)).cancellation_reason == order_pb2.CANCELLATION_REASON_PAYMENT_EXPIRED
    error = await refused(payment.stub.CreatePayment(create(expired), metadata=me), grpc.StatusCode.FAILED_PRECONDITION)
    assert error_info(error).reason == "ORDER_NOT_PAYABLE"
    await refused(payment.stub.CreatePayment(create(str(uuid.uuid4())), metadata=me), grpc.StatusCode.NOT_FOUND)
    assert await payment.sql("SELECT id FROM payments") == []


async def test_another_buyers_order_or_payment_is_refused_revealing_nothing(payment: PaymentService) -> None:
    me, _ = await payment.buyer()
    stranger, _ = await payment.buyer()
    order_id = (await payment.place(me)).id
    request = create(order_id)
    mine = (await payment.stub.CreatePayment(request, metadata=me)).payment

    errors = [
        await refused(
            payment.stub.CreatePayment(create(order_id), metadata=stranger), grpc.StatusCode.PERMISSION_DENIED
        ),
        # The buyer's own request id does not show their payment either.
        await refused(payment.stub.CreatePayment(request, metadata=stranger), grpc.StatusCode.PERMISSION_DENIED),
        await refused(
            payment.stub.GetPayment(payment_pb2.GetPaymentRequest(id=mine.id), metadata=stranger),
            grpc.StatusCode.PERMISSION_DENIED,
        ),
        await refused(
            payment.stub.ConfirmPayment(confirm(mine.id), metadata=stranger), grpc.StatusCode.PERMISSION_DENIED
        ),
    ]
    for error in errors:
        assert (error.details(), dict(error_info(error).metadata)) == ("permission denied", {})
    assert (await payment.stub.GetPayment(payment_pb2.GetPaymentRequest(id=mine.id), metadata=me)).payment == mine
    # An admin reads any payment.
    seen = await payment.stub.GetPayment(payment_pb2.GetPaymentRequest(id=mine.id), metadata=await payment.admin())
    assert seen.payment.id == mine.id
    await refused(
        payment.stub.GetPayment(payment_pb2.GetPaymentRequest(id=str(uuid.uuid4())), metadata=me),
        grpc.StatusCode.NOT_FOUND,
    )
    assert (await payment.sql("SELECT status FROM payments"))[0][0] == "PENDING"


async def test_a_delegated_token_cannot_pay(payment: PaymentService) -> None:
    token, _ = await payment.auth.user_token()
    order_id = (await payment.place(bearer(token))).id
    mine = (await payment.stub.CreatePayment(create(order_id), metadata=bearer(token))).payment
    buddy = bearer(await service_token(payment.auth, "buddy"))
    exchanged = await payment.auth.stub.ExchangeToken(
        auth_pb2.ExchangeTokenRequest(subject_token=token, scopes=["cart:write"]), metadata=buddy
    )
    delegated = bearer(exchanged.access_token)
    await refused(payment.stub.CreatePayment(create(order_id), metadata=delegated), grpc.StatusCode.PERMISSION_DENIED)
    await refused(payment.stub.ConfirmPayment(confirm(mine.id), metadata=delegated), grpc.StatusCode.PERMISSION_DENIED)
    assert await payment.sql("SELECT status FROM payments") == [("PENDING",)]
    assert await payment.events() == []


async def test_an_approved_payment_succeeds_once_with_its_event(payment: PaymentService) -> None:
    me, buyer_id = await payment.buyer()
    order_id = (await payment.place(me, units=1250)).id
    created = (await payment.stub.CreatePayment(create(order_id), metadata=me)).payment

    approved = (await payment.stub.ConfirmPayment(confirm(created.id), metadata=me)).payment
    assert (approved.status, approved.HasField("succeed_time"), approved.failure_reason) == (
        payment_pb2.PAYMENT_STATUS_SUCCEEDED,
        True,
        "",
    )
    # The same outcome again changes nothing; the other one is refused.
    again = (await payment.stub.ConfirmPayment(confirm(created.id), metadata=me)).payment
    assert again == approved
    error = await refused(
        payment.stub.ConfirmPayment(confirm(created.id, decline=True), metadata=me), grpc.StatusCode.FAILED_PRECONDITION
    )
    assert error_info(error).reason == "PAYMENT_NOT_PENDING"
    ((kind, event),) = await payment.events()
    assert kind == "PaymentSucceeded"
    assert (event.payment_id, event.order_id, event.buyer_id, event.amount.units, event.provider) == (
        created.id,
        order_id,
        buyer_id,
        1250,
        "local",
    )
    # The relay publishes it to payment's stream.
    (event_id,) = (row[0] for row in await payment.sql("SELECT id FROM outbox"))
    await eventually(lambda: published(payment, event_id), message="PaymentSucceeded not published")

    # The order service takes it: the order is PAID, and no new payment starts.
    await payment.order_becomes(order_id, me, order_pb2.ORDER_STATUS_PAID)
    error = await refused(
        payment.stub.CreatePayment(create(order_id), metadata=me), grpc.StatusCode.FAILED_PRECONDITION
    )
    assert error_info(error).reason == "ORDER_ALREADY_PAID"


async def test_a_declined_payment_fails_and_a_new_one_can_succeed(payment: PaymentService) -> None:
    me, _ = await payment.buyer()
    order_id = (await payment.place(me)).id
    first = (await payment.stub.CreatePayment(create(order_id), metadata=me)).payment

    declined = (await payment.stub.ConfirmPayment(confirm(first.id, decline=True), metadata=me)).payment
    assert (declined.status, declined.failure_reason) == (payment_pb2.PAYMENT_STATUS_FAILED, "card_declined")
    assert (await payment.stub.ConfirmPayment(confirm(first.id, decline=True), metadata=me)).payment == declined
    error = await refused(
        payment.stub.ConfirmPayment(confirm(first.id), metadata=me), grpc.StatusCode.FAILED_PRECONDITION
    )
    assert error_info(error).reason == "PAYMENT_NOT_PENDING"

    second = (await payment.stub.CreatePayment(create(order_id), metadata=me)).payment
    assert second.id != first.id and second.status == payment_pb2.PAYMENT_STATUS_PENDING
    approved = (await payment.stub.ConfirmPayment(confirm(second.id), metadata=me)).payment
    assert approved.status == payment_pb2.PAYMENT_STATUS_SUCCEEDED

    events = await payment.events()
    assert [kind for kind, _ in events] == ["PaymentFailed", "PaymentSucceeded"]
    failed = events[0][1]
    assert (failed.payment_id, failed.order_id, failed.reason) == (first.id, order_id, "card declined")
    assert events[1][1].payment_id == second.id


async def test_only_an_admin_refunds_and_only_a_succeeded_payment(payment: PaymentService) -> None:
    me, buyer_id = await payment.buyer()
    admin = await payment.admin()
    order_id = (await payment.place(me, units=800)).id
    created = (await payment.stub.CreatePayment(create(order_id), metadata=me)).payment

    def refund(payment_id: str) -> payment_pb2.RefundPaymentRequest:
        return payment_pb2.RefundPaymentRequest(id=payment_id, reason="damaged in transit")

    await refused(payment.stub.RefundPayment(refund(created.id), metadata=me), grpc.StatusCode.PERMISSION_DENIED)
    error = await refused(
        payment.stub.RefundPayment(refund(created.id), metadata=admin), grpc.StatusCode.FAILED_PRECONDITION
    )
    assert error_info(error).reason == "PAYMENT_NOT_SUCCEEDED"
    await refused(payment.stub.RefundPayment(refund(str(uuid.uuid4())), metadata=admin), grpc.StatusCode.NOT_FOUND)

    await payment.stub.ConfirmPayment(confirm(created.id), metadata=me)
    await refused(payment.stub.RefundPayment(refund(created.id), metadata=me), grpc.StatusCode.PERMISSION_DENIED)
    refunded = (await payment.stub.RefundPayment(refund(created.id), metadata=admin)).payment
    assert (refunded.status, refunded.HasField("refund_time")) == (payment_pb2.PAYMENT_STATUS_REFUNDED, True)
    assert (await payment.stub.RefundPayment(refund(created.id), metadata=admin)).payment == refunded
    assert await payment.sql("SELECT refund_reason FROM payments") == [("damaged in transit",)]

    events = await payment.events()
    assert [kind for kind, _ in events] == ["PaymentSucceeded", "PaymentRefunded"]
    event = events[1][1]
    assert (event.payment_id, event.order_id, event.buyer_id, event.amount.units) == (
        created.id,
        order_id,
        buyer_id,
        800,
    )


async def test_the_stripe_webhook_is_refused_when_stripe_is_not_configured(payment: PaymentService) -> None:
    from google.api import httpbody_pb2

    request = payment_pb2.HandleStripeWebhookRequest(body=httpbody_pb2.HttpBody(data=b"{}"))
    error = await refused(
        payment.stub.HandleStripeWebhook(request, metadata=(("stripe-signature", "t=1,v1=00"),)),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert error_info(error).reason == "STRIPE_NOT_CONFIGURED"
