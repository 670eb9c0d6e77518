"""Writes of the read model. Every statement is idempotent: rows are inserted once (a conflict changes nothing
but the earliest placement time), a moment is set only while unset, and stock only moves forward in time."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.seller.domain import PartLine
from services.seller.store import part_lines, parts, payment_refunds, variants

MOMENTS = ("paid_at", "shipped_at", "delivered_at", "cancelled_at", "refunded_at")


async def ensure_parts(
    session: AsyncSession, order_id: str, buyer_id: str, lines: Sequence[tuple[str, PartLine]], at: datetime
) -> None:
    """The order's parts (one per seller of `lines`) and their lines, unless known already. Any order event
    carries lines, so the first one to arrive creates the parts; OrderCreated's time is the placement time."""
    by_seller: dict[str, list[PartLine]] = defaultdict(list)
    for seller_id, line in lines:
        by_seller[seller_id].append(line)
    for seller_id, own in sorted(by_seller.items()):
        statement = pg_insert(parts).values(
            order_id=order_id,
            seller_id=seller_id,
            buyer_id=buyer_id,
            currency=own[0].currency,
            subtotal=sum(line.unit_price * line.quantity for line in own),
            units=sum(line.quantity for line in own),
            created_at=at,
        )
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[parts.c.order_id, parts.c.seller_id],
                set_={"created_at": func.least(parts.c.created_at, statement.excluded.created_at)},
                where=statement.excluded.created_at < parts.c.created_at,
            )
        )
        rows = [
            {
                "order_id": order_id,
                "seller_id": seller_id,
                "position": position,
                "product_id": line.product_id,
                "variant_id": line.variant_id,
                "sku": line.sku,
                "title": line.title,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "currency": line.currency,
            }
            for position, line in enumerate(own)
        ]
        await session.execute(pg_insert(part_lines).values(rows).on_conflict_do_nothing())


async def set_moment(
    session: AsyncSession,
    order_id: str,
    moment: str,
    at: datetime,
    *,
    seller_id: str = "",
    payment_id: str = "",
    paid_by: str = "",
    shipment: tuple[str, str] | None = None,
) -> None:
    """Sets `moment` of the order's parts (of one seller when `seller_id` is given) where it is still unset.
    `payment_id` is recorded with the payment; `paid_by` limits the change to parts paid by that payment."""
    if moment not in MOMENTS:
        raise ValueError(moment)
    column = parts.c[moment]
    values: dict[str, object] = {moment: func.coalesce(column, at)}
    if payment_id:
        values["payment_id"] = func.coalesce(func.nullif(parts.c.payment_id, ""), payment_id)
    if shipment is not None:
        values["carrier"], values["tracking_number"] = shipment
    statement = update(parts).where(parts.c.order_id == order_id, column.is_(None)).values(values)
    if seller_id:
        statement = statement.where(parts.c.seller_id == seller_id)
    if paid_by:
        statement = statement.where(parts.c.payment_id == paid_by)
    await session.execute(statement)
    await _copy_to_lines(session, order_id)


async def _copy_to_lines(session: AsyncSession, order_id: str) -> None:
    """The parts' payment moment and voiding, copied onto their lines (only rows that differ are written)."""
    voided = or_(parts.c.cancelled_at.is_not(None), parts.c.refunded_at.is_not(None))
    await session.execute(
        update(part_lines)
        .where(
            part_lines.c.order_id == order_id,
            part_lines.c.order_id == parts.c.order_id,
            part_lines.c.seller_id == parts.c.seller_id,
            or_(
                part_lines.c.paid_at.is_distinct_from(parts.c.paid_at),
                part_lines.c.voided.is_distinct_from(voided),
            ),
        )
        .values(paid_at=parts.c.paid_at, voided=voided)
    )


async def payment_refunded(session: AsyncSession, order_id: str, payment_id: str, at: datetime) -> None:
    """Records the refund, and refunds the order's parts if that payment paid them (now or once it is known)."""
    await session.execute(
        pg_insert(payment_refunds)
        .values(order_id=order_id, payment_id=payment_id, refunded_at=at)
        .on_conflict_do_nothing()
    )
    await set_moment(session, order_id, "refunded_at", at, paid_by=payment_id)


async def refund_of(session: AsyncSession, order_id: str, payment_id: str) -> datetime | None:
    """When the payment was refunded, if a refund of it was reported already."""
    found = await session.execute(
        select(payment_refunds.c.refunded_at).where(
            payment_refunds.c.order_id == order_id, payment_refunds.c.payment_id == payment_id
        )
    )
    moment: datetime | None = found.scalar()
    return moment


async def product_seen(
    session: AsyncSession,
    *,
    product_id: str,
    seller_id: str,
    title: str,
    variant_rows: Sequence[tuple[str, str, bool, int | None]],
    at: datetime,
    retire_others: bool,
) -> None:
    """A product's snapshot: each variant's SKU, title and status (id, sku, active, stock when new). A newer
    snapshot already applied wins. `retire_others`: variants the snapshot no longer lists are inactive."""
    for variant_id, sku, active, stock in variant_rows:
        statement = pg_insert(variants).values(
            variant_id=variant_id,
            product_id=product_id,
            seller_id=seller_id,
            sku=sku,
            title=title,
            active=active,
            available=stock,
            product_at=at,
        )
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[variants.c.variant_id],
                set_={"sku": sku, "title": title, "active": active, "product_at": at},
                where=or_(variants.c.product_at.is_(None), variants.c.product_at <= at),
            )
        )
    if retire_others:
        listed = [row[0] for row in variant_rows]
        await session.execute(
            update(variants)
            .where(
                variants.c.product_id == product_id,
                variants.c.variant_id.not_in(listed),
                or_(variants.c.product_at.is_(None), variants.c.product_at <= at),
            )
            .values(active=False, product_at=at)
        )


async def product_deleted(session: AsyncSession, product_id: str, at: datetime) -> None:
    await session.execute(
        update(variants)
        .where(variants.c.product_id == product_id, or_(variants.c.product_at.is_(None), variants.c.product_at <= at))
        .values(active=False, product_at=at)
    )


async def stock_changed(
    session: AsyncSession,
    *,
    product_id: str,
    seller_id: str,
    variant_id: str,
    sku: str,
    available: int,
    low_stock: bool,
    at: datetime,
) -> None:
    """The variant's stock as of `at`; a StockChanged older than the one applied changes nothing."""
    statement = pg_insert(variants).values(
        variant_id=variant_id,
        product_id=product_id,
        seller_id=seller_id,
        sku=sku,
        available=available,
        low_stock=low_stock,
        stock_at=at,
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[variants.c.variant_id],
            set_={"available": available, "low_stock": low_stock, "stock_at": at},
            where=or_(variants.c.stock_at.is_(None), variants.c.stock_at <= at),
        )
    )
