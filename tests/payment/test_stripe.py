"""Payments with Stripe: the real payment service and the real Stripe SDK against the local Stripe stand-in
(tests/stubs/stripe.py), and webhooks signed here with Stripe's scheme (t=<ts>,v1=HMAC-SHA256("<ts>.<body>"))."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import grpc
import pytest
from google.api import httpbody_pb2

from marketplace.events.v1 import events_pb2
from marketplace.order.v1 import order_pb2
from marketplace.payment.v1 import payment_pb2
from services.payment.domain import OrderSummary, Payment
from services.payment.providers.stripe import StripeProvider
from tests.kit.rpc.support import error_info
from tests.payment.conftest import WEBHOOK_SECRET, Metadata, PaymentService, StartPayment
from tests.payment.test_order_events import status_of
from tests.stubs.stripe import StripeStub
from tests.support.polling import eventually


@pytest.fixture
async def stripe_payment(start_payment: StartPayment) -> PaymentService:
    return await start_payment(stripe=True)


def stub_of(payment: PaymentService) -> StripeStub:
    assert payment.stripe is not None
    return payment.stripe


def signature(body: bytes, *, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    timestamp = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def stripe_event(kind: str, data: dict[str, Any], event_id: str = "") -> bytes:
    event = {
        "id": event_id or "evt_" + uuid.uuid4().hex[:24],
        "object": "event",
        "api_version": "2025-01-27",
        "created": int(time.time()),
        "type": kind,
        "livemode": False,
        "pending_webhooks": 1,
        "data": {"object": data},
    }
    return json.dumps(event).encode()


async def deliver(payment: PaymentService, body: bytes, header: str | None = "") -> None:
    """Sends `body` as Stripe would, signed correctly unless `header` is given (None: no signature header)."""
    request = payment_pb2.HandleStripeWebhookRequest(
        body=httpbody_pb2.HttpBody(content_type="application/json", data=body)
    )
    metadata: tuple[tuple[str, str], ...] = ()
    if header is not None:
        metadata = (("stripe-signature", header or signature(body)),)
    await payment.stub.HandleStripeWebhook(request, metadata=metadata)


async def refused(call: Any, code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert caught.value.code() == code, caught.value.details()
    return caught.value


async def stripe_payment_of(payment: PaymentService, units: int = 1999) -> tuple[Metadata, payment_pb2.Payment]:
    me, _ = await payment.buyer()
    order_id = (await payment.place(me, units=units, currency="EUR")).id
    created = await payment.stub.CreatePayment(
        payment_pb2.CreatePaymentRequest(order_id=order_id, request_id=str(uuid.uuid4())), metadata=me
    )
    return me, created.payment


async def test_a_payment_is_a_payment_intent_made_once(stripe_payment: PaymentService) -> None:
    stub = stub_of(stripe_payment)
    me, _ = await stripe_payment.buyer()
    order_id = (await stripe_payment.place(me, units=1999, currency="EUR")).id
    request = payment_pb2.CreatePaymentRequest(order_id=order_id, request_id=str(uuid.uuid4()))
    created = (await stripe_payment.stub.CreatePayment(request, metadata=me)).payment

    assert (created.provider, created.status) == (
        payment_pb2.PAYMENT_PROVIDER_STRIPE,
        payment_pb2.PAYMENT_STATUS_PENDING,
    )
    intent = stub.intents[created.provider_payment_id]
    assert (intent["amount"], intent["currency"], intent["metadata"]) == (
        1999,
        "eur",
        {"order_id": order_id, "payment_id": created.id},
    )
    # The buyer gets the client secret Stripe.js confirms with; an admin reading the payment does not.
    assert created.client_secret == intent["client_secret"]
    seen = await stripe_payment.stub.GetPayment(
        payment_pb2.GetPaymentRequest(id=created.id), metadata=await stripe_payment.admin()
    )
    assert (seen.payment.provider_payment_id, seen.payment.client_secret) == (created.provider_payment_id, "")

    again = (await stripe_payment.stub.CreatePayment(request, metadata=me)).payment
    assert again == created
    (call,) = stub.calls("POST", "/v1/payment_intents")
    assert call.idempotency_key == f"payment-{created.id}"

    # Stripe payments are confirmed with Stripe, not here.
    error = await refused(
        stripe_payment.stub.ConfirmPayment(payment_pb2.ConfirmPaymentRequest(id=created.id), metadata=me),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert error_info(error).reason == "PROVIDER_MISMATCH"


async def test_concurrent_creates_make_one_intent(stripe_payment: PaymentService) -> None:
    me, _ = await stripe_payment.buyer()
    order_id = (await stripe_payment.place(me)).id
    request = payment_pb2.CreatePaymentRequest(order_id=order_id, request_id=str(uuid.uuid4()))
    answers = await asyncio.gather(*(stripe_payment.stub.CreatePayment(request, metadata=me) for _ in range(6)))
    assert len({(answer.payment.id, answer.payment.provider_payment_id) for answer in answers}) == 1
    assert list(stub_of(stripe_payment).intents) == [answers[0].payment.provider_payment_id]


async def test_stripe_unreachable_then_the_retry_makes_the_intent(stripe_payment: PaymentService) -> None:
    stub = stub_of(stripe_payment)
    me, _ = await stripe_payment.buyer()
    order_id = (await stripe_payment.place(me)).id
    request = payment_pb2.CreatePaymentRequest(order_id=order_id, request_id=str(uuid.uuid4()))
    stub.fail_next = 1
    await refused(stripe_payment.stub.CreatePayment(request, metadata=me), grpc.StatusCode.UNAVAILABLE)
    assert stub.intents == {}

    created = (await stripe_payment.stub.CreatePayment(request, metadata=me)).payment
    assert created.provider_payment_id in stub.intents
    keys = {call.idempotency_key for call in stub.calls("POST", "/v1/payment_intents")}
    assert keys == {f"payment-{created.id}"}  # both tries asked for the same intent
    assert await stripe_payment.sql("SELECT count(*) FROM payments") == [(1,)]


async def test_webhooks_settle_the_payment_once_per_event(stripe_payment: PaymentService) -> None:
    stub = stub_of(stripe_payment)
    me, created = await stripe_payment_of(stripe_payment, units=1999)
    succeeded = stripe_event("payment_intent.succeeded", stub.succeed(created.provider_payment_id))

    await deliver(stripe_payment, succeeded)
    await deliver(stripe_payment, succeeded)  # Stripe retries, or someone replays it
    assert await status_of(stripe_payment, created.id) == "SUCCEEDED"
    ((kind, event),) = await stripe_payment.events()
    assert (kind, event.payment_id, event.amount.units, event.amount.currency_code, event.provider) == (
        "PaymentSucceeded",
        created.id,
        1999,
        "EUR",
        "stripe",
    )
    assert await stripe_payment.sql("SELECT count(*) FROM stripe_events") == [(1,)]
    # The order service takes it.
    await stripe_payment.order_becomes(created.order_id, me, order_pb2.ORDER_STATUS_PAID)

    charge = {
        "id": "ch_" + uuid.uuid4().hex[:24],
        "object": "charge",
        "amount": 1999,
        "amount_refunded": 1999,
        "refunded": True,
        "payment_intent": created.provider_payment_id,
    }
    await deliver(stripe_payment, stripe_event("charge.refunded", charge))
    assert await status_of(stripe_payment, created.id) == "REFUNDED"
    # Stripe does not promise order: a success reported late, as a new event, changes nothing now.
    await deliver(stripe_payment, stripe_event("payment_intent.succeeded", stub.intents[created.provider_payment_id]))
    assert await status_of(stripe_payment, created.id) == "REFUNDED"
    assert [kind for kind, _ in await stripe_payment.events()] == ["PaymentSucceeded", "PaymentRefunded"]


async def test_an_event_id_seen_before_is_not_handled_again(stripe_payment: PaymentService) -> None:
    stub = stub_of(stripe_payment)
    _, first = await stripe_payment_of(stripe_payment)
    _, second = await stripe_payment_of(stripe_payment)
    event_id = "evt_" + uuid.uuid4().hex[:24]
    await deliver(
        stripe_payment, stripe_event("payment_intent.succeeded", stub.succeed(first.provider_payment_id), event_id)
    )
    # The same event id again, whatever it says, was handled already.
    replayed = stripe_event("payment_intent.succeeded", stub.succeed(second.provider_payment_id), event_id)
    await deliver(stripe_payment, replayed)
    assert await status_of(stripe_payment, first.id) == "SUCCEEDED"
    assert await status_of(stripe_payment, second.id) == "PENDING"
    assert [event.payment_id for _, event in await stripe_payment.events()] == [first.id]
    assert await stripe_payment.sql("SELECT id FROM stripe_events") == [(event_id,)]


async def test_a_failed_intent_fails_the_payment(stripe_payment: PaymentService) -> None:
    stub = stub_of(stripe_payment)
    _, created = await stripe_payment_of(stripe_payment)
    # Still pending while Stripe waits for the buyer or processes.
    for state in ("requires_action", "processing"):
        data = dict(stub.intents[created.provider_payment_id], status=state)
        await deliver(stripe_payment, stripe_event(f"payment_intent.{state}", data))
    assert await status_of(stripe_payment, created.id) == "PENDING"

    await deliver(
        stripe_payment, stripe_event("payment_intent.payment_failed", stub.decline(created.provider_payment_id))
    )
    rows = await stripe_payment.sql("SELECT status, failure_reason FROM payments")
    assert rows == [("FAILED", "card_declined")]
    ((kind, event),) = await stripe_payment.events()
    assert (kind, event.payment_id, event.reason) == ("PaymentFailed", created.id, "card declined")


async def test_an_intent_cancelled_with_stripe_cancels_the_payment(stripe_payment: PaymentService) -> None:
    _, created = await stripe_payment_of(stripe_payment)
    data = dict(stub_of(stripe_payment).intents[created.provider_payment_id], status="canceled")
    await deliver(stripe_payment, stripe_event("payment_intent.canceled", data))
    assert await status_of(stripe_payment, created.id) == "CANCELLED"
    assert await stripe_payment.events() == []


async def test_unknown_event_types_are_acknowledged(stripe_payment: PaymentService) -> None:
    await deliver(stripe_payment, stripe_event("customer.created", {"id": "cus_1", "object": "customer"}))
    assert await stripe_payment.events() == []


async def test_bad_stale_forged_or_missing_signatures_are_refused(stripe_payment: PaymentService) -> None:
    stub = stub_of(stripe_payment)
    _, created = await stripe_payment_of(stripe_payment)
    body = stripe_event("payment_intent.succeeded", stub.succeed(created.provider_payment_id))
    for header in (
        signature(body, at=int(time.time()) - 301),  # older than five minutes
        signature(body, secret="whsec_someone_else"),  # forged
        signature(body + b" "),  # for another body
        "t=1,v1=",
        None,  # no header at all
    ):
        error = await refused(deliver(stripe_payment, body, header), grpc.StatusCode.UNAUTHENTICATED)
        assert error_info(error).reason == "BAD_SIGNATURE"
    assert await status_of(stripe_payment, created.id) == "PENDING"
    assert await stripe_payment.sql("SELECT count(*) FROM stripe_events") == [(0,)]
    # Within the tolerance it is accepted.
    await deliver(stripe_payment, body, signature(body, at=int(time.time()) - 240))
    assert await status_of(stripe_payment, created.id) == "SUCCEEDED"


async def test_refunds_go_through_stripe_once(stripe_payment: PaymentService) -> None:
    stub = stub_of(stripe_payment)
    _, created = await stripe_payment_of(stripe_payment)
    await deliver(stripe_payment, stripe_event("payment_intent.succeeded", stub.succeed(created.provider_payment_id)))
    admin = await stripe_payment.admin()
    request = payment_pb2.RefundPaymentRequest(id=created.id, reason="goodwill")
    refunded = (await stripe_payment.stub.RefundPayment(request, metadata=admin)).payment
    assert refunded.status == payment_pb2.PAYMENT_STATUS_REFUNDED
    await stripe_payment.stub.RefundPayment(request, metadata=admin)
    (refund,) = stub.refunds.values()
    assert (refund["payment_intent"], refund["amount"]) == (created.provider_payment_id, created.amount.units)
    assert [call.idempotency_key for call in stub.calls("POST", "/v1/refunds")] == [f"refund-{created.id}"]


async def test_a_cancelled_order_cancels_the_intent_and_refunds_a_paid_one(stripe_payment: PaymentService) -> None:
    stub = stub_of(stripe_payment)
    pending_buyer, pending = await stripe_payment_of(stripe_payment)
    paid_buyer, paid = await stripe_payment_of(stripe_payment)
    await deliver(stripe_payment, stripe_event("payment_intent.succeeded", stub.succeed(paid.provider_payment_id)))
    await stripe_payment.order_becomes(paid.order_id, paid_buyer, order_pb2.ORDER_STATUS_PAID)

    await stripe_payment.cancel_order(pending.order_id, pending_buyer)
    await stripe_payment.cancel_order(paid.order_id, paid_buyer)
    await stripe_payment.handled(
        (await stripe_payment.order_event(pending.order_id, "OrderCancelled")).id,
        (await stripe_payment.order_event(paid.order_id, "OrderCancelled")).id,
    )
    assert await status_of(stripe_payment, pending.id) == "CANCELLED"
    assert stub.intents[pending.provider_payment_id]["status"] == "canceled"
    assert await status_of(stripe_payment, paid.id) == "REFUNDED"
    (refund,) = stub.refunds.values()
    assert refund["payment_intent"] == paid.provider_payment_id
    # The order service takes the refund.
    await stripe_payment.order_becomes(paid.order_id, paid_buyer, order_pb2.ORDER_STATUS_REFUNDED)


async def test_an_intent_that_succeeded_before_its_cancellation_is_kept_as_paid(stripe_payment: PaymentService) -> None:
    """The buyer paid just as the order was cancelled: the payment SUCCEEDED, the order refuses it, and the
    refusal refunds it."""
    stub = stub_of(stripe_payment)
    me, created = await stripe_payment_of(stripe_payment)
    stub.succeed(created.provider_payment_id)  # Stripe took the money; its webhook has not come yet
    await stripe_payment.cancel_order(created.order_id, me)
    cancelled = await stripe_payment.order_event(created.order_id, "OrderCancelled")
    await stripe_payment.handled(cancelled.id)
    # Not cancelled with Stripe: kept as paid, and its success told to the order service ...
    assert stub.intents[created.provider_payment_id]["status"] == "succeeded"
    (kind, succeeded), *_ = await stripe_payment.events()
    assert (kind, succeeded.payment_id) == ("PaymentSucceeded", created.id)
    # ... which refuses it: the order was cancelled ...
    refusal = await stripe_payment.order_event(created.order_id, "OrderPaymentRefused")
    refused_payment = events_pb2.OrderPaymentRefused()
    refusal.payload.Unpack(refused_payment)
    assert (refused_payment.payment_id, refused_payment.reason) == (created.id, "order cancelled")
    # ... and the refusal refunds it, once.
    await stripe_payment.handled(cancelled.id, refusal.id)
    await eventually(lambda: _refunded(stripe_payment, created.id))
    assert len(stub.refunds) == 1
    assert [kind for kind, _ in await stripe_payment.events()] == ["PaymentSucceeded", "PaymentRefunded"]


async def _refunded(payment: PaymentService, payment_id: str) -> bool:
    return await status_of(payment, payment_id) == "REFUNDED"


async def test_a_refund_asked_again_after_a_crash_is_made_once(stripe_stub: StripeStub) -> None:
    """What a consumer redelivered after dying between Stripe's answer and its commit does: ask again with the
    same key. Stripe answers with the first refund."""
    provider = StripeProvider(stripe_stub.api_key, api_base=stripe_stub.base_url, max_network_retries=0)
    try:
        order = OrderSummary("order-1", "buyer-1", "PENDING_PAYMENT", 500, "USD", None)
        paying = Payment.start(str(uuid.uuid4()), order, request_id="r", provider="stripe", now=_now())
        paying.attach(await provider.start(paying), _now())
        stripe_stub.succeed(paying.provider_payment_id)
        await provider.refund(paying)
        await provider.refund(paying)
        assert len(stripe_stub.refunds) == 1
        assert len(stripe_stub.calls("POST", "/v1/refunds")) == 2
    finally:
        await provider.close()


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)
