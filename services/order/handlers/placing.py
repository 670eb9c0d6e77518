"""CreateOrder: the buyer's cart becomes an order, its stock reserved, exactly once per request id."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select

from services.kit.errors import DomainError, FailedPrecondition, PermissionDenied
from services.kit.ids import new_id
from services.kit.principal import Principal
from services.order.domain import Address, Order
from services.order.handlers.deps import Deps
from services.order.store import Orders

# Reservation ids derive from (buyer, request id): a retry after a crash holds the same units, never more.
_RESERVATIONS = uuid.UUID("5d0c1f55-8a39-4c8e-9d63-0f3b3c7a2e41")


def reservation_for(buyer_id: str, request_id: str) -> str:
    return str(uuid.uuid5(_RESERVATIONS, f"{buyer_id}/{request_id}"))


def _reused(order: Order) -> FailedPrecondition:
    return FailedPrecondition(
        "this request id was used for another request", reason="REQUEST_ID_REUSED", metadata={"order_id": order.id}
    )


async def create_order(
    deps: Deps, principal: Principal, *, request_id: str, address: Address, fingerprint: str
) -> Order:
    """The order of this request: made now, or the one the first call with `request_id` made."""
    if principal.actor:
        raise PermissionDenied("an assistant cannot place orders for the buyer", reason="DELEGATED_TOKEN")
    buyer_id = principal.subject
    timeout = timedelta(seconds=deps.settings.order_payment_timeout)
    hold = timeout + timedelta(seconds=deps.settings.order_reservation_margin_seconds)
    async with deps.uow() as uow:
        # Calls with the same request id queue here, so concurrent retries make one order and one reservation.
        key = func.hashtextextended(f"order/{buyer_id}/{request_id}", 0)
        await uow.session.execute(select(func.pg_advisory_xact_lock(key)))
        orders = Orders(uow.session)
        found = await orders.by_request(buyer_id, request_id)
        if found is not None:
            order, first_fingerprint = found
            if first_fingerprint != fingerprint:
                raise _reused(order)
            return order
        items = await deps.cart.lines(buyer_id)
        if not items:
            raise FailedPrecondition("the cart is empty", reason="CART_EMPTY")
        order_id, reservation_id = new_id(), reservation_for(buyer_id, request_id)
        lines = await deps.catalog.reserve(reservation_id, order_id, items, hold)
        now = deps.clock()
        try:
            order = Order.place(
                order_id=order_id,
                buyer_id=buyer_id,
                request_id=request_id,
                lines=lines,
                address=address,
                reservation_id=reservation_id,
                now=now,
                payment_due_at=now + timeout,
            )
        except DomainError:
            await deps.catalog.release(reservation_id)
            raise
        uow.track(order)
        await orders.add(order, fingerprint)
        await uow.commit()
    return order
