"""CreatePayment, GetPayment and ConfirmPayment: the buyer's own payments (an admin may read any)."""

from __future__ import annotations

from services.kit.errors import Conflict, FailedPrecondition, NotFound
from services.kit.ids import new_id
from services.kit.principal import Principal
from services.payment.domain import CARD_DECLINED, LOCAL, PENDING, Payment, ensure_payable, not_yours
from services.payment.handlers.deps import Deps, buyer_of
from services.payment.store import Payments


def _not_found(payment_id: str) -> NotFound:
    return NotFound("payment not found", metadata={"payment_id": payment_id})


async def create_payment(deps: Deps, principal: Principal, *, order_id: str, request_id: str) -> Payment:
    """A PENDING payment of the order's total: the one this request id made before, else the order's PENDING one,
    else a new one, started with the provider."""
    buyer_id = buyer_of(principal)
    async with deps.reads() as session:
        earlier = await Payments(session).of_request(order_id, request_id)
    if earlier is not None:
        if not earlier.owned_by(buyer_id):
            raise not_yours()
        return await _started(deps, earlier)
    order = await deps.orders.summary(order_id)
    now = deps.clock()
    ensure_payable(order, buyer_id, now)
    payment = Payment.start(new_id(), order, request_id=request_id, provider=deps.provider, now=now)
    async with deps.uow() as uow:
        payments = Payments(uow.session)
        if await payments.add_unless_taken(payment):
            await uow.commit()
        else:
            # This request id raced itself, or the order already has a PENDING payment: that one it is.
            taken = await payments.of_request(order_id, request_id) or await payments.pending_of_order(order_id)
            if taken is None:
                raise Conflict("the order's payments changed meanwhile; try again", metadata={"order_id": order_id})
            if not taken.owned_by(buyer_id):
                raise not_yours()
            payment = taken
    return await _started(deps, payment)


async def _started(deps: Deps, payment: Payment) -> Payment:
    """The payment, started with its provider if a call before stopped short of it (the provider's idempotency
    key, derived from the payment's id, gives the same intent again)."""
    if payment.status != PENDING or payment.started_with_provider:
        return payment
    intent = await deps.provider_of(payment).start(payment)
    async with deps.uow() as uow:
        payments = Payments(uow.session)
        current = await payments.get(payment.id, for_update=True)
        if current is None:
            raise _not_found(payment.id)
        if not current.started_with_provider:
            uow.track(current).attach(intent, deps.clock())
            await payments.save(current)
            await uow.commit()
    return current


async def get_payment(deps: Deps, principal: Principal, payment_id: str) -> Payment:
    async with deps.reads() as session:
        payment = await Payments(session).get(payment_id)
    if payment is None:
        raise _not_found(payment_id)
    if not (payment.owned_by(principal.subject) or principal.is_admin):
        raise not_yours()
    return payment


async def confirm_payment(deps: Deps, principal: Principal, payment_id: str, *, approve: bool) -> Payment:
    """Approves or declines a PENDING local payment; asking for the outcome it already has changes nothing."""
    buyer_id = buyer_of(principal)
    async with deps.uow() as uow:
        payments = Payments(uow.session)
        payment = await payments.get(payment_id, for_update=True)
        if payment is None:
            raise _not_found(payment_id)
        if not payment.owned_by(buyer_id):
            raise not_yours()
        if payment.provider != LOCAL:
            raise FailedPrecondition(
                "only local payments are confirmed here",
                reason="PROVIDER_MISMATCH",
                metadata={"payment_id": payment.id, "provider": payment.provider},
            )
        now = deps.clock()
        changed = payment.succeed(now) if approve else payment.fail(CARD_DECLINED, now)
        if changed:
            uow.track(payment)
            await payments.save(payment)
            await uow.commit()
    return payment
