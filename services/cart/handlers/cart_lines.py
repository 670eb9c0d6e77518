"""GetCart, AddCartItem, UpdateCartItem, RemoveCartItem and ClearCart: the caller's own cart only (the owner is
the token's user, never a request field). Every answer is priced with one catalog call."""

from __future__ import annotations

from collections.abc import Sequence

from services.cart.domain import Actor, Cart, PricedCart, VariantOffer, price_cart
from services.cart.handlers.deps import Deps
from services.cart.store import Carts
from services.kit.ids import new_id


async def _priced(deps: Deps, cart: Cart | None, buyer_id: str, known: Sequence[VariantOffer] = ()) -> PricedCart:
    """The cart priced from the catalog's current offers: `known` ones (just read from the catalog), the rest in
    one GetVariants call (none when `known` covers every line)."""
    lines = cart.lines if cart is not None else []
    offers = {offer.variant_id: offer for offer in known}
    missing = [line.variant_id for line in lines if line.variant_id not in offers]
    if missing:
        offers.update(await deps.catalog.variants(missing))
    return price_cart(cart, buyer_id, offers)


async def get_cart(deps: Deps, buyer_id: str) -> PricedCart:
    async with deps.reads() as session:
        cart = await Carts(session).read(buyer_id)
    return await _priced(deps, cart, buyer_id)


async def add_item(
    deps: Deps, actor: Actor, *, product_id: str, variant_id: str, quantity: int
) -> tuple[PricedCart, str]:
    """(the cart after the change, the variant whose line was made or grown)."""
    product = await deps.catalog.product(product_id)
    offer = product.choose(variant_id)
    async with deps.uow() as uow:
        carts = Carts(uow.session)
        now = deps.clock()
        cart = uow.track(await carts.lock_or_create(actor.user_id, new_id(), now))
        cart.add(offer, quantity, actor, now)
        await carts.save(cart)
        await uow.commit()
    # The product's variants were just read: only the cart's other lines need the catalog again.
    return await _priced(deps, cart, actor.user_id, product.variants), offer.variant_id


async def update_item(deps: Deps, actor: Actor, *, variant_id: str, quantity: int) -> PricedCart:
    offers = await deps.catalog.variants([variant_id])
    async with deps.uow() as uow:
        carts = Carts(uow.session)
        cart = await carts.of_buyer(actor.user_id, for_update=True)
        if cart is None:
            cart = Cart(new_id(), actor.user_id, deps.clock(), None)
        uow.track(cart).set_quantity(variant_id, quantity, offers.get(variant_id), actor, deps.clock())
        if cart.events:
            await carts.save(cart)
        await uow.commit()
    return await _priced(deps, cart, actor.user_id)


async def remove_item(deps: Deps, actor: Actor, variant_id: str) -> PricedCart:
    async with deps.uow() as uow:
        carts = Carts(uow.session)
        cart = await carts.of_buyer(actor.user_id, for_update=True)
        if cart is not None and uow.track(cart).remove(variant_id, actor, deps.clock()):
            await carts.save(cart)
            await uow.commit()
    return await _priced(deps, cart, actor.user_id)


async def clear_cart(deps: Deps, actor: Actor) -> PricedCart:
    async with deps.uow() as uow:
        carts = Carts(uow.session)
        cart = await carts.of_buyer(actor.user_id, for_update=True)
        if cart is not None and uow.track(cart).clear(actor, deps.clock()):
            await carts.save(cart)
            await uow.commit()
    return await _priced(deps, cart, actor.user_id)
