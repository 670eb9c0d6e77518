"""The payment service's events, as the order takes them: paid, declined (still payable) and refunded. Each runs
in the consumer's unit of work, so the order's change, its events and the inbox row commit together."""

from __future__ import annotations

from services.kit.uow import UnitOfWork
from services.order.handlers.deps import Deps
from services.order.store import Orders


async def payment_succeeded(
    deps: Deps, uow: UnitOfWork, *, order_id: str, payment_id: str, amount: int, currency: str
) -> None:
    """The order is PAID, or the payment refused (to be refunded) when the order cannot take it any more."""
    orders = Orders(uow.session)
    order = await orders.get(order_id, for_update=True)
    if order is None:
        return
    uow.track(order).pay(payment_id, amount, currency, deps.clock())
    if order.events:
        await orders.save(order)


async def payment_failed(deps: Deps, uow: UnitOfWork, *, order_id: str, payment_id: str) -> None:
    orders = Orders(uow.session)
    order = await orders.get(order_id, for_update=True)
    if order is None:
        return
    before = order.payment_id
    order.payment_failed(payment_id, deps.clock())
    if order.payment_id != before:
        await orders.save(order)


async def payment_refunded(deps: Deps, uow: UnitOfWork, *, order_id: str, payment_id: str) -> None:
    orders = Orders(uow.session)
    order = await orders.get(order_id, for_update=True)
    if order is None:
        return
    if uow.track(order).refunded(payment_id, deps.clock()):
        await orders.save(order)
