"""What the order service asks of the cart (its lines, to order them) and what a paid order does to it (the
purchased units leave)."""

from __future__ import annotations

from collections.abc import Sequence

from services.cart.domain import Actor, CartLine
from services.cart.handlers.deps import Deps
from services.cart.store import Carts
from services.kit.uow import UnitOfWork

# Recorded as the service acting for the buyer when a paid order empties their cart.
ORDER_ACTOR = "order"


async def cart_lines(deps: Deps, buyer_id: str) -> list[CartLine]:
    """The buyer's lines as stored, oldest first; empty for a cart never used."""
    async with deps.reads() as session:
        cart = await Carts(session).read(buyer_id)
    return cart.lines if cart is not None else []


async def drop_purchased(deps: Deps, uow: UnitOfWork, buyer_id: str, purchased: Sequence[tuple[str, int]]) -> None:
    """Inside the consumer's unit of work (its inbox row commits with the change): (variant id, units) paid."""
    carts = Carts(uow.session)
    cart = await carts.of_buyer(buyer_id, for_update=True)
    if cart is None:
        return
    uow.track(cart)
    by, now = Actor(buyer_id, ORDER_ACTOR), deps.clock()
    for variant_id, quantity in purchased:
        cart.drop_purchased(variant_id, quantity, by, now)
    if cart.events:
        await carts.save(cart)
