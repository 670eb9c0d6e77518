"""Reads of the read model: a seller's figures, parts, product sales, stock running low and sales per day."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, and_, cast, func, or_, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.seller import domain
from services.seller.domain import LowStock, Moments, PartLine, Sales, SellerOrder, TopProduct
from services.seller.store import TO_SHIP, part_lines, parts, variants

_STANDING = and_(parts.c.paid_at.is_not(None), parts.c.cancelled_at.is_(None), parts.c.refunded_at.is_(None))
_VOIDED = or_(parts.c.cancelled_at.is_not(None), parts.c.refunded_at.is_not(None))


def _paid_since(start: datetime | None, end: datetime) -> ColumnElement[bool]:
    condition = and_(parts.c.paid_at.is_not(None), parts.c.paid_at < end)
    return condition if start is None else and_(condition, parts.c.paid_at >= start)


async def figures(
    session: AsyncSession, seller_id: str, currency: str, start: datetime | None, end: datetime
) -> tuple[Sales, int, int, int]:
    """(standing sales, gross sales, refunds, parts to ship) of the seller's parts paid in [start, end)."""
    waiting = parts.alias("waiting")
    to_ship = (
        select(func.count())
        .select_from(waiting)
        # Unqualified, the partial index's own words name the subquery's columns (the innermost scope).
        .where(waiting.c.seller_id == seller_id, text(TO_SHIP))
        .scalar_subquery()
    )
    statement = select(
        func.count().filter(_STANDING),
        func.coalesce(func.sum(parts.c.units).filter(_STANDING), 0),
        func.coalesce(func.sum(parts.c.subtotal).filter(_STANDING), 0),
        func.coalesce(func.sum(parts.c.subtotal), 0),
        func.coalesce(func.sum(parts.c.subtotal).filter(_VOIDED), 0),
        to_ship,
    ).where(parts.c.seller_id == seller_id, parts.c.currency == currency, _paid_since(start, end))
    # One round trip: the period's sums and the parts waiting to ship (any date).
    orders, units, revenue, gross, refunds, to_ship = (await session.execute(statement)).one()
    return Sales(int(orders), int(units), int(revenue)), int(gross), int(refunds), int(to_ship or 0)


async def top_products(
    session: AsyncSession, seller_id: str, currency: str, start: datetime | None, end: datetime, limit: int
) -> list[TopProduct]:
    lines = part_lines.c
    paid = and_(lines.paid_at.is_not(None), lines.paid_at < end)
    if start is not None:
        paid = and_(paid, lines.paid_at >= start)
    units = func.sum(lines.quantity).label("units")
    top = (
        select(lines.product_id, units, func.sum(lines.quantity * lines.unit_price).label("revenue"))
        .where(lines.seller_id == seller_id, lines.currency == currency, paid, lines.voided.is_(False))
        .group_by(lines.product_id)
        .order_by(units.desc(), lines.product_id)
        .limit(limit)
        .subquery()
    )
    # The current title (from the catalog's events), looked up for the few top products only: the sums come
    # from the lines' covering index alone.
    title = (
        select(func.max(variants.c.title))
        .where(variants.c.product_id == top.c.product_id, variants.c.title != "")
        .scalar_subquery()
    )
    statement = select(top.c.product_id, top.c.units, top.c.revenue, title).order_by(
        top.c.units.desc(), top.c.product_id
    )
    found = (await session.execute(statement)).all()
    missing = [row[0] for row in found if row[3] is None]
    remembered = await _remembered_titles(session, seller_id, missing) if missing else {}
    return [
        TopProduct(product_id, str(current or remembered.get(product_id, "")), int(sold), int(revenue))
        for product_id, sold, revenue, current in found
    ]


async def _remembered_titles(session: AsyncSession, seller_id: str, product_ids: list[str]) -> dict[str, str]:
    """The title an order line remembers, for products the catalog's events never named."""
    remembered = await session.execute(
        select(part_lines.c.product_id, part_lines.c.title)
        .distinct(part_lines.c.product_id)
        .where(part_lines.c.seller_id == seller_id, part_lines.c.product_id.in_(product_ids))
        .order_by(part_lines.c.product_id, part_lines.c.paid_at.desc().nulls_last())
    )
    return {str(product_id): str(title) for product_id, title in remembered}


async def low_stock(session: AsyncSession, seller_id: str, limit: int) -> list[LowStock]:
    found = await session.execute(
        select(variants.c.product_id, variants.c.variant_id, variants.c.sku, variants.c.title, variants.c.available)
        .where(variants.c.seller_id == seller_id, variants.c.low_stock, variants.c.active)
        .order_by(variants.c.available, variants.c.sku, variants.c.variant_id)
        .limit(limit)
    )
    return [LowStock(str(p), str(v), str(s), str(t), int(a or 0)) for p, v, s, t, a in found]


def _status_condition(status: str) -> ColumnElement[bool]:
    c = parts.c
    conditions: dict[str, ColumnElement[bool]] = {
        domain.REFUNDED: c.refunded_at.is_not(None),
        domain.CANCELLED: and_(c.refunded_at.is_(None), c.cancelled_at.is_not(None)),
        domain.DELIVERED: and_(c.refunded_at.is_(None), c.cancelled_at.is_(None), c.delivered_at.is_not(None)),
        domain.SHIPPED: and_(
            c.refunded_at.is_(None), c.cancelled_at.is_(None), c.delivered_at.is_(None), c.shipped_at.is_not(None)
        ),
        domain.PAID: and_(
            c.refunded_at.is_(None),
            c.cancelled_at.is_(None),
            c.delivered_at.is_(None),
            c.shipped_at.is_(None),
            c.paid_at.is_not(None),
        ),
        domain.PENDING_PAYMENT: and_(
            c.refunded_at.is_(None),
            c.cancelled_at.is_(None),
            c.delivered_at.is_(None),
            c.shipped_at.is_(None),
            c.paid_at.is_(None),
        ),
    }
    return conditions[status]


async def seller_orders(
    session: AsyncSession, seller_id: str, status: str | None, limit: int, after: tuple[datetime, str] | None
) -> list[SellerOrder]:
    """The seller's parts, newest first, with their lines."""
    statement = select(parts).where(parts.c.seller_id == seller_id)
    if status is not None:
        statement = statement.where(_status_condition(status))
    if after is not None:
        statement = statement.where(tuple_(parts.c.created_at, parts.c.order_id) < tuple_(after[0], after[1]))
    statement = statement.order_by(parts.c.created_at.desc(), parts.c.order_id.desc()).limit(limit)
    rows = (await session.execute(statement)).mappings().all()
    if not rows:
        return []
    lines: dict[str, list[PartLine]] = defaultdict(list)
    found = await session.execute(
        select(part_lines)
        .where(part_lines.c.seller_id == seller_id, part_lines.c.order_id.in_([row["order_id"] for row in rows]))
        .order_by(part_lines.c.order_id, part_lines.c.position)
    )
    for line in found.mappings():
        lines[line["order_id"]].append(_line(line))
    return [_part(row, lines[row["order_id"]]) for row in rows]


def _line(row: Any) -> PartLine:
    return PartLine(
        product_id=row["product_id"],
        variant_id=row["variant_id"],
        sku=row["sku"],
        title=row["title"],
        quantity=int(row["quantity"]),
        unit_price=int(row["unit_price"]),
        currency=row["currency"],
    )


def _part(row: Any, lines: list[PartLine]) -> SellerOrder:
    return SellerOrder(
        order_id=row["order_id"],
        buyer_id=row["buyer_id"],
        currency=row["currency"],
        moments=Moments(
            created_at=row["created_at"],
            paid_at=row["paid_at"],
            shipped_at=row["shipped_at"],
            delivered_at=row["delivered_at"],
            cancelled_at=row["cancelled_at"],
            refunded_at=row["refunded_at"],
        ),
        carrier=row["carrier"],
        tracking_number=row["tracking_number"],
        lines=lines,
    )


async def sales_by_day(
    session: AsyncSession, seller_id: str, currency: str, start: datetime, end: datetime
) -> dict[date, Sales]:
    """Standing sales of the seller's parts paid in [start, end), per UTC day of payment."""
    day = cast(func.timezone("UTC", parts.c.paid_at), Date)
    statement = (
        select(day, func.count(), func.sum(parts.c.units), func.sum(parts.c.subtotal))
        .where(
            parts.c.seller_id == seller_id,
            parts.c.currency == currency,
            _STANDING,
            parts.c.paid_at >= start,
            parts.c.paid_at < end,
        )
        .group_by(day)
    )
    return {
        paid_on: Sales(int(orders), int(units), int(revenue))
        for paid_on, orders, units, revenue in await session.execute(statement)
    }
