"""The PaymentService servicer: protobuf <-> domain translation only. Errors are mapped by the kit's interceptor."""

from __future__ import annotations

from typing import Any

import grpc

from marketplace.common.v1 import money_pb2
from marketplace.payment.v1 import payment_pb2, payment_pb2_grpc
from services.kit.principal import current_principal
from services.kit.protos import timestamp
from services.payment import domain
from services.payment.domain import Payment
from services.payment.handlers import paying, refunds, stripe_webhooks
from services.payment.handlers.deps import Deps

Context = grpc.aio.ServicerContext[Any, Any]

_STATUSES = {
    domain.PENDING: payment_pb2.PAYMENT_STATUS_PENDING,
    domain.SUCCEEDED: payment_pb2.PAYMENT_STATUS_SUCCEEDED,
    domain.FAILED: payment_pb2.PAYMENT_STATUS_FAILED,
    domain.REFUNDED: payment_pb2.PAYMENT_STATUS_REFUNDED,
    domain.CANCELLED: payment_pb2.PAYMENT_STATUS_CANCELLED,
}
_PROVIDERS = {domain.LOCAL: payment_pb2.PAYMENT_PROVIDER_LOCAL, domain.STRIPE: payment_pb2.PAYMENT_PROVIDER_STRIPE}


def _payment(payment: Payment, viewer_id: str) -> payment_pb2.Payment:
    message = payment_pb2.Payment(
        id=payment.id,
        order_id=payment.order_id,
        buyer_id=payment.buyer_id,
        amount=money_pb2.Money(currency_code=payment.currency, units=payment.amount_units),
        status=_STATUSES[payment.status],
        provider=_PROVIDERS[payment.provider],
        provider_payment_id=payment.provider_payment_id,
        # Only the buyer confirms a payment in the browser.
        client_secret=payment.client_secret if payment.owned_by(viewer_id) else "",
        failure_reason=payment.failure_reason,
        create_time=timestamp(payment.created_at),
        update_time=timestamp(payment.updated_at),
    )
    if payment.succeeded_at is not None:
        message.succeed_time.CopyFrom(timestamp(payment.succeeded_at))
    if payment.refunded_at is not None:
        message.refund_time.CopyFrom(timestamp(payment.refunded_at))
    return message


def _metadata_value(context: Context, key: str) -> str:
    for name, value in context.invocation_metadata() or ():
        if name == key:
            return value if isinstance(value, str) else value.decode("latin-1")
    return ""


class PaymentApi(payment_pb2_grpc.PaymentServiceServicer):  # type: ignore[misc]  # generated base is untyped
    def __init__(self, deps: Deps):
        self._deps = deps

    async def CreatePayment(
        self, request: payment_pb2.CreatePaymentRequest, context: Context
    ) -> payment_pb2.CreatePaymentResponse:
        principal = current_principal()
        payment = await paying.create_payment(
            self._deps, principal, order_id=request.order_id, request_id=request.request_id
        )
        return payment_pb2.CreatePaymentResponse(payment=_payment(payment, principal.subject))

    async def GetPayment(
        self, request: payment_pb2.GetPaymentRequest, context: Context
    ) -> payment_pb2.GetPaymentResponse:
        principal = current_principal()
        payment = await paying.get_payment(self._deps, principal, request.id)
        return payment_pb2.GetPaymentResponse(payment=_payment(payment, principal.subject))

    async def ConfirmPayment(
        self, request: payment_pb2.ConfirmPaymentRequest, context: Context
    ) -> payment_pb2.ConfirmPaymentResponse:
        principal = current_principal()
        approve = request.outcome != payment_pb2.LOCAL_OUTCOME_DECLINE
        payment = await paying.confirm_payment(self._deps, principal, request.id, approve=approve)
        return payment_pb2.ConfirmPaymentResponse(payment=_payment(payment, principal.subject))

    async def RefundPayment(
        self, request: payment_pb2.RefundPaymentRequest, context: Context
    ) -> payment_pb2.RefundPaymentResponse:
        principal = current_principal()
        payment = await refunds.refund_payment(self._deps, request.id, request.reason)
        return payment_pb2.RefundPaymentResponse(payment=_payment(payment, principal.subject))

    async def HandleStripeWebhook(
        self, request: payment_pb2.HandleStripeWebhookRequest, context: Context
    ) -> payment_pb2.HandleStripeWebhookResponse:
        await stripe_webhooks.handle_stripe_webhook(
            self._deps, request.body.data, _metadata_value(context, "stripe-signature")
        )
        return payment_pb2.HandleStripeWebhookResponse()
