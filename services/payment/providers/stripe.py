"""Stripe through its SDK: a PaymentIntent per payment, cancelled with its order, refunded with the Refunds API.

Calls use the SDK's `*_async` methods on its httpx client, so they never block the event loop. Each call carries
an idempotency key derived from the payment's id: a retry (by the SDK, by a caller repeating CreatePayment with
the same request id, by a consumer redelivered after a crash) gets Stripe's first answer, so an intent is made
once and a payment refunded once. An unreachable Stripe (connection errors, rate limits, its 5xx) is
`Unavailable`; anything else it refuses is this service's bug and surfaces as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import stripe

from services.kit.errors import Conflict, FieldViolation, InvalidArgument, Unauthenticated, Unavailable
from services.payment.domain import (
    PROVIDER_CANCELED,
    PROVIDER_PENDING,
    PROVIDER_SUCCEEDED,
    STRIPE,
    Payment,
    ProviderIntent,
)

_STATES = {"succeeded": PROVIDER_SUCCEEDED, "canceled": PROVIDER_CANCELED}
# requires_payment_method, requires_confirmation, requires_action, processing, requires_capture: still pending.


def intent_state(status: str) -> str:
    """A PaymentIntent's status as a provider state (domain.PROVIDER_*)."""
    return _STATES.get(status, PROVIDER_PENDING)


def _unavailable(error: stripe.StripeError) -> Unavailable:
    return Unavailable(
        "the payment provider cannot be reached",
        reason="PROVIDER_UNAVAILABLE",
        metadata={"provider": STRIPE, "error": type(error).__name__},
    )


def _in_progress(payment: Payment) -> Conflict:
    """Another call with the same idempotency key is still running at Stripe: retrying shortly gets its answer."""
    return Conflict("the payment is being started by another call; try again", metadata={"payment_id": payment.id})


_TRANSIENT = (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError)


class StripeProvider:
    name = STRIPE

    def __init__(
        self, api_key: str, *, api_base: str = "", timeout: float = 20.0, max_network_retries: int = 2
    ) -> None:
        self._http = stripe.HTTPXClient(timeout=timeout)
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            http_client=self._http,
            max_network_retries=max_network_retries,
        )

    async def start(self, payment: Payment) -> ProviderIntent:
        params: dict[str, Any] = {
            "amount": payment.amount_units,
            "currency": payment.currency.lower(),
            "metadata": {"order_id": payment.order_id, "payment_id": payment.id},
            "automatic_payment_methods": {"enabled": True},
        }
        try:
            intent = await self._client.v1.payment_intents.create_async(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": f"payment-{payment.id}"},
            )
        except _TRANSIENT as error:
            raise _unavailable(error) from error
        except stripe.IdempotencyError as error:
            raise _in_progress(payment) from error
        return ProviderIntent(intent.id, intent.client_secret or "", intent_state(intent.status))

    async def cancel(self, payment: Payment) -> str:
        intents = self._client.v1.payment_intents
        try:
            try:
                intent = await intents.cancel_async(
                    payment.provider_payment_id, options={"idempotency_key": f"cancel-{payment.id}"}
                )
            except stripe.InvalidRequestError as error:
                if error.code != "payment_intent_unexpected_state":
                    raise
                # Already succeeded or cancelled: say which.
                intent = await intents.retrieve_async(payment.provider_payment_id)
        except _TRANSIENT as error:
            raise _unavailable(error) from error
        return intent_state(intent.status)

    async def refund(self, payment: Payment) -> None:
        try:
            await self._client.v1.refunds.create_async(
                params={
                    "payment_intent": payment.provider_payment_id,
                    "metadata": {"order_id": payment.order_id, "payment_id": payment.id},
                },
                options={"idempotency_key": f"refund-{payment.id}"},
            )
        except stripe.InvalidRequestError as error:
            if error.code != "charge_already_refunded":
                raise
        except _TRANSIENT as error:
            raise _unavailable(error) from error
        except stripe.IdempotencyError as error:
            raise _in_progress(payment) from error

    async def close(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class WebhookEvent:
    """A verified Stripe event: its id, type (`payment_intent.succeeded`...) and the object it is about."""

    id: str
    type: str
    object: dict[str, Any]


def verify_webhook(body: bytes, signature: str, secret: str, *, tolerance_seconds: int) -> WebhookEvent:
    """The event Stripe signed; `Unauthenticated` (BAD_SIGNATURE) for a missing, wrong or stale signature."""
    try:
        event = stripe.Webhook.construct_event(body, signature or None, secret, tolerance=tolerance_seconds)
    except stripe.SignatureVerificationError:
        raise Unauthenticated("the webhook's signature does not verify", reason="BAD_SIGNATURE") from None
    except ValueError:
        # Signed, but not JSON: nothing Stripe sends.
        raise InvalidArgument(
            "the webhook body is not a JSON event",
            violations=[FieldViolation("body", "must be the JSON event Stripe signed")],
        ) from None
    found = event.data.object
    return WebhookEvent(id=str(event.id), type=str(event.type), object=found.to_dict() if found is not None else {})
