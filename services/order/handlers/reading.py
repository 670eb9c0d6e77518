"""GetOrder, ListOrders, GetOrderSummary and WatchOrder: each order as its reader may see it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from services.kit.pages import decode_page_token, encode_page_token, list_fingerprint
from services.kit.principal import Principal
from services.kit.watch import SubjectWatchers
from services.order.domain import Order
from services.order.handlers.deps import Deps, not_found, seen_by
from services.order.store import Orders

DEFAULT_PAGE_SIZE = 20


async def load(deps: Deps, order_id: str) -> Order | None:
    async with deps.reads() as session:  # `Orders.get` is one statement
        return await Orders(session).get(order_id)


async def get_order(deps: Deps, principal: Principal, order_id: str) -> Order:
    order = await load(deps, order_id)
    if order is None:
        raise not_found(order_id)
    return seen_by(order, principal)


async def order_summary(deps: Deps, order_id: str) -> Order:
    """For the payment service (internal): the whole order."""
    order = await load(deps, order_id)
    if order is None:
        raise not_found(order_id)
    return order


async def list_orders(
    deps: Deps, principal: Principal, *, status: str | None, page_size: int, page_token: str
) -> tuple[list[Order], str]:
    """The caller's own orders as a buyer, newest first: (one page, the next page's token or "")."""
    size = page_size or DEFAULT_PAGE_SIZE
    fingerprint = list_fingerprint("order.ListOrders", principal.subject, status)
    after = decode_page_token(page_token, fingerprint, datetime, str)
    async with deps.sessions() as session:
        found = await Orders(session).of_buyer(
            principal.subject, status, size + 1, (after[0], after[1]) if after else None
        )
    page = found[:size]
    token = encode_page_token(fingerprint, page[-1].created_at, page[-1].id) if len(found) > size else ""
    return page, token


async def watch_order(
    deps: Deps, watchers: SubjectWatchers[Order], principal: Principal, order_id: str
) -> AsyncIterator[Order]:
    """The order now, then after each change, until it can change no more (or the caller goes away)."""
    async with watchers.subscription(order_id) as next_state:
        order = await load(deps, order_id)
        if order is None:
            raise not_found(order_id)
        last = seen_by(order, principal)
        yield last
        while not order.watch_ends:
            order = await next_state()
            view = seen_by(order, principal)
            if view != last:
                last = view
                yield view
