"""What happens to an order after it is placed: the buyer cancels it or changes its address, each seller ships
and delivers their part, and unpaid orders expire."""

from __future__ import annotations

from services.kit.principal import Principal
from services.kit.uow import UnitOfWork
from services.order.domain import BY_BUYER, Address, Order
from services.order.handlers.deps import Deps, not_found, own_part, refused, seen_by
from services.order.store import Orders


async def _locked(uow: UnitOfWork, order_id: str) -> Order:
    order = await Orders(uow.session).get(order_id, for_update=True)
    if order is None:
        raise not_found(order_id)
    return uow.track(order)


def _own(order: Order, principal: Principal) -> None:
    if order.buyer_id != principal.subject:
        raise refused()


async def cancel_order(deps: Deps, principal: Principal, order_id: str, note: str) -> Order:
    async with deps.uow() as uow:
        order = await _locked(uow, order_id)
        _own(order, principal)
        if order.cancel(BY_BUYER, note, deps.clock()):
            await Orders(uow.session).save(order)
            await uow.commit()
    return order


async def update_shipping_address(deps: Deps, principal: Principal, order_id: str, address: Address) -> Order:
    async with deps.uow() as uow:
        order = await _locked(uow, order_id)
        _own(order, principal)
        order.change_address(address, deps.clock())
        if order.events:
            await Orders(uow.session).save(order)
            await uow.commit()
    return order


async def ship(
    deps: Deps, principal: Principal, order_id: str, *, seller_id: str, carrier: str, tracking_number: str
) -> Order:
    async with deps.uow() as uow:
        order = await _locked(uow, order_id)
        seller = own_part(order, principal, seller_id)
        order.ship(seller, carrier, tracking_number, deps.clock())
        await Orders(uow.session).save(order)
        await uow.commit()
    return seen_by(order, principal)


async def mark_delivered(deps: Deps, principal: Principal, order_id: str, *, seller_id: str) -> Order:
    async with deps.uow() as uow:
        order = await _locked(uow, order_id)
        seller = own_part(order, principal, seller_id)
        if order.deliver(seller, deps.clock()):
            await Orders(uow.session).save(order)
            await uow.commit()
    return seen_by(order, principal)


async def expire_overdue(deps: Deps) -> int:
    """Cancels one batch of unpaid orders past their deadline (their stock goes back); returns how many."""
    async with deps.uow() as uow:
        orders = Orders(uow.session)
        now = deps.clock()
        overdue = await orders.lock_overdue(now, deps.settings.order_expiry_sweep_batch)
        for order_id in overdue:
            order = await orders.get(order_id)
            if order is not None and uow.track(order).expire(now):
                await orders.save(order)
        await uow.commit()
    return len(overdue)
