"""Money returned and payments abandoned: RefundPayment (operators), and what order events ask (a cancelled
order's PENDING payments cancelled, a paid one refunded; a payment the order refused refunded).

The provider is called before the payment is marked, with an idempotency key derived from the payment's id: a
crash between the two, and the event or call tried again, asks the provider again and gets the first refund
back, never a second one.
"""

from __future__ import annotations

import logging

from services.kit.errors import NotFound
from services.kit.uow import UnitOfWork
from services.payment.domain import PENDING, REFUNDED, SUCCEEDED, Payment
from services.payment.handlers.deps import Deps
from services.payment.store import Payments

log = logging.getLogger(__name__)


async def refund_payment(deps: Deps, payment_id: str, reason: str) -> Payment:
    async with deps.sessions() as session:
        payment = await Payments(session).get(payment_id)
    if payment is None:
        raise NotFound("payment not found", metadata={"payment_id": payment_id})
    if payment.status == REFUNDED:
        return payment
    payment.ensure_refundable()
    await deps.provider_of(payment).refund(payment)
    async with deps.uow() as uow:
        payments = Payments(uow.session)
        current = await payments.get(payment_id, for_update=True)
        assert current is not None  # payments are never deleted
        if uow.track(current).refund(reason, deps.clock()):
            await payments.save(current)
            await uow.commit()
    return current


async def cancel_pending_in(uow: UnitOfWork, deps: Deps, order_id: str) -> Payment | None:
    """Abandons the order's PENDING payment, if any, with its provider too. Inside the caller's unit of work.

    The provider may say the payment succeeded meanwhile: it is then SUCCEEDED (and the order refuses it)."""
    payments = Payments(uow.session)
    payment = await payments.pending_of_order(order_id, for_update=True)
    if payment is None:
        return None
    uow.track(payment)
    provider = deps.provider_of(payment)
    if not payment.started_with_provider:
        # A call stopped between asking for the intent and recording it: the same key gives it again.
        payment.attach(await provider.start(payment), deps.clock())
    if payment.status == PENDING:
        payment.apply_provider_state(await provider.cancel(payment), deps.clock())
    await payments.save(payment)
    return payment


async def refund_in(uow: UnitOfWork, deps: Deps, *, order_id: str, payment_id: str, reason: str) -> Payment | None:
    """Refunds the order's payment (`payment_id`, else its SUCCEEDED one). Inside the caller's unit of work.

    A payment that is not the order's, or was never taken, is logged and left alone: retrying cannot help."""
    payments = Payments(uow.session)
    if payment_id:
        payment = await payments.get(payment_id, for_update=True)
    else:
        payment = await payments.succeeded_of_order(order_id, for_update=True)
    if payment is None or payment.order_id != order_id:
        _left_alone("no such payment of the order", order_id, payment_id)
        return None
    if payment.status == REFUNDED:
        return payment
    if payment.status != SUCCEEDED:
        _left_alone(f"the payment is {payment.status}", order_id, payment.id)
        return payment
    await deps.provider_of(payment).refund(payment)
    uow.track(payment).refund(reason, deps.clock())
    await payments.save(payment)
    return payment


def _left_alone(why: str, order_id: str, payment_id: str) -> None:
    log.error(
        "refund asked for but not made",
        extra={"fields": {"why": why, "order_id": order_id, "payment_id": payment_id}},
    )
