"""HandleStripeWebhook: Stripe's reports of its PaymentIntents and charges, each handled once by its event id.

The event id is recorded in the same transaction as the payment's change and its outbox event: a replayed or
redelivered event finds its id taken and changes nothing. Event types this service does not act on are
acknowledged (recorded too, so Stripe stops sending them).
"""

from __future__ import annotations

import logging
from typing import Any

from services.kit.errors import FailedPrecondition
from services.kit.uow import UnitOfWork
from services.payment.domain import REFUNDED, STRIPE, SUCCEEDED, Payment
from services.payment.handlers.deps import Deps
from services.payment.providers.stripe import WebhookEvent, verify_webhook
from services.payment.store import Payments, record_stripe_event

log = logging.getLogger(__name__)

REFUNDED_WITH_STRIPE = "refunded with Stripe"


async def handle_stripe_webhook(deps: Deps, body: bytes, signature: str) -> None:
    config = deps.stripe_webhook
    if config is None:
        raise FailedPrecondition("Stripe is not configured", reason="STRIPE_NOT_CONFIGURED")
    event = verify_webhook(body, signature, config.secret, tolerance_seconds=config.tolerance_seconds)
    async with deps.uow() as uow:
        if not await record_stripe_event(uow.session, event.id, event.type, deps.clock()):
            log.info("stripe event already handled", extra={"fields": {"event_id": event.id}})
            return
        await _apply(uow, deps, event)
        await uow.commit()


def _intent_id(event: WebhookEvent) -> str:
    if event.type.startswith("charge."):
        return str(event.object.get("payment_intent") or "")
    return str(event.object.get("id") or "")


async def _payment_of(payments: Payments, event: WebhookEvent) -> Payment | None:
    """The payment the event is about: by its intent id, else by the payment id the intent carries."""
    intent_id = _intent_id(event)
    payment = await payments.of_provider(intent_id, for_update=True) if intent_id else None
    if payment is None:
        metadata: dict[str, Any] = event.object.get("metadata") or {}
        payment_id = str(metadata.get("payment_id") or "")
        payment = await payments.get(payment_id, for_update=True) if payment_id else None
        if payment is not None and (payment.provider != STRIPE or payment.provider_payment_id not in ("", intent_id)):
            payment = None
        if payment is not None and intent_id and event.type.startswith("payment_intent."):
            payment.provider_payment_id = intent_id
    return payment


def _failure_code(intent: dict[str, Any]) -> str:
    """Stripe's error code ("card_declined"), not its decline code: some of those ("stolen_card") are not for
    the buyer's eyes."""
    error: dict[str, Any] = intent.get("last_payment_error") or {}
    return str(error.get("code") or "payment_failed")


async def _apply(uow: UnitOfWork, deps: Deps, event: WebhookEvent) -> None:
    if event.type not in (
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
        "charge.refunded",
    ):
        log.debug("stripe event ignored", extra={"fields": {"event_id": event.id, "type": event.type}})
        return
    payments = Payments(uow.session)
    payment = await _payment_of(payments, event)
    if payment is None:
        log.warning(
            "stripe event about no payment of ours",
            extra={"fields": {"event_id": event.id, "type": event.type, "intent": _intent_id(event)}},
        )
        return
    now = deps.clock()
    uow.track(payment)
    if event.type == "payment_intent.succeeded":
        payment.succeed(now, reported_by_provider=True)
    elif event.type == "payment_intent.payment_failed":
        payment.fail(_failure_code(event.object), now, reported_by_provider=True)
    elif event.type == "payment_intent.canceled":
        payment.cancel(now)
    elif event.object.get("refunded") and payment.status in (SUCCEEDED, REFUNDED):
        # charge.refunded for the whole amount (a partial refund leaves the payment SUCCEEDED).
        payment.refund(REFUNDED_WITH_STRIPE, now)
    await payments.save(payment)
