"""What every order use case works with: its dependencies, a unit of work, and who may see an order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.kit.errors import FieldViolation, InvalidArgument, NotFound, PermissionDenied
from services.kit.principal import Principal
from services.kit.uow import UnitOfWork
from services.order.domain import Order
from services.order.handlers.events import event_payload
from services.order.settings import OrderSettings
from services.order.upstream import CartClient, CatalogClient


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Deps:
    settings: OrderSettings
    sessions: async_sessionmaker[AsyncSession]
    # One-statement reads, outside a transaction (`db.read_session_factory`).
    reads: async_sessionmaker[AsyncSession]
    catalog: CatalogClient
    cart: CartClient
    clock: Callable[[], datetime] = field(default=_now)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, source="order", events=event_payload)


def not_found(order_id: str) -> NotFound:
    return NotFound("order not found", metadata={"order_id": order_id})


def refused() -> PermissionDenied:
    # Nothing about the order: not whose it is, not its status.
    return PermissionDenied("not your order")


def seen_by(order: Order, principal: Principal) -> Order:
    """The order as `principal` may see it: whole to its buyer and admins; to a seller of it, only their own
    fulfilment and lines, with their lines' sum as the total and no payment; anyone else is refused."""
    if principal.is_admin or order.buyer_id == principal.subject:
        return order
    part = order.fulfilment_of(principal.subject)
    if part is None:
        raise refused()
    return replace(order, lines=order.lines_of(principal.subject), fulfilments=[part], payment_id="", events=[])


def own_part(order: Order, principal: Principal, seller_id: str) -> str:
    """The seller whose part a ShipOrder/MarkDelivered acts on: the caller's own, or the one an admin names."""
    if principal.is_admin and seller_id:
        if not order.sells(seller_id):
            raise NotFound("the order has no part of this seller", metadata={"seller_id": seller_id})
        return seller_id
    if principal.is_admin:
        raise InvalidArgument(
            "an admin names the seller whose part changes",
            violations=[FieldViolation("seller_id", "required when an admin ships or delivers a part")],
        )
    if seller_id and seller_id != principal.subject:
        raise refused()
    if not order.sells(principal.subject):
        raise refused()
    return principal.subject
