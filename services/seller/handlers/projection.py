"""Order, catalog and payment events -> the read model. Each function runs in the consumer's unit of work (the
change and the inbox row commit together) or in a rebuild's; each is idempotent on its own (see `domain`), so
an event that arrives twice, late or out of order cannot count twice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.seller import projection_store as store
from services.seller.domain import PartLine


async def order_placed(
    session: AsyncSession, *, order_id: str, buyer_id: str, lines: Sequence[tuple[str, PartLine]], at: datetime
) -> None:
    await store.ensure_parts(session, order_id, buyer_id, lines, at)


async def order_paid(
    session: AsyncSession,
    *,
    order_id: str,
    buyer_id: str,
    lines: Sequence[tuple[str, PartLine]],
    payment_id: str,
    at: datetime,
) -> None:
    await store.ensure_parts(session, order_id, buyer_id, lines, at)
    await store.set_moment(session, order_id, "paid_at", at, payment_id=payment_id)
    # The payment's refund may have been read first (the payment stream is consumed apart from the order's).
    refunded_at = await store.refund_of(session, order_id, payment_id)
    if refunded_at is not None:
        await store.set_moment(session, order_id, "refunded_at", refunded_at, paid_by=payment_id)


async def order_cancelled(
    session: AsyncSession,
    *,
    order_id: str,
    buyer_id: str,
    lines: Sequence[tuple[str, PartLine]],
    payment_id: str,
    at: datetime,
) -> None:
    """A cancellation of a paid order is a refund of the seller's part from the seller's side: the goods stay
    and the money goes back (payment refunds it)."""
    await store.ensure_parts(session, order_id, buyer_id, lines, at)
    await store.set_moment(session, order_id, "cancelled_at", at, payment_id=payment_id)


async def part_shipped(
    session: AsyncSession,
    *,
    order_id: str,
    buyer_id: str,
    seller_id: str,
    lines: Sequence[tuple[str, PartLine]],
    carrier: str,
    tracking_number: str,
    at: datetime,
) -> None:
    await store.ensure_parts(session, order_id, buyer_id, lines, at)
    await store.set_moment(
        session, order_id, "shipped_at", at, seller_id=seller_id, shipment=(carrier, tracking_number)
    )


async def part_delivered(
    session: AsyncSession,
    *,
    order_id: str,
    buyer_id: str,
    seller_id: str,
    lines: Sequence[tuple[str, PartLine]],
    at: datetime,
) -> None:
    await store.ensure_parts(session, order_id, buyer_id, lines, at)
    await store.set_moment(session, order_id, "delivered_at", at, seller_id=seller_id)


async def order_refunded(session: AsyncSession, *, order_id: str, payment_id: str, at: datetime) -> None:
    """The order service's OrderRefunded (a cancelled paid order got its money back)."""
    await store.set_moment(session, order_id, "refunded_at", at, payment_id=payment_id)


async def payment_refunded(session: AsyncSession, *, order_id: str, payment_id: str, at: datetime) -> None:
    """The payment's own record of a refund, which also covers orders that had shipped (they keep their status
    at the order service). Only the payment that paid the order refunds its parts: a refused second payment's
    refund is not the seller's money. A refund read before the order's payment applies once the payment is."""
    await store.payment_refunded(session, order_id, payment_id, at)


async def product_seen(
    session: AsyncSession,
    *,
    product_id: str,
    seller_id: str,
    title: str,
    variant_rows: Sequence[tuple[str, str, bool, int | None]],
    at: datetime,
    created: bool,
) -> None:
    await store.product_seen(
        session,
        product_id=product_id,
        seller_id=seller_id,
        title=title,
        variant_rows=variant_rows,
        at=at,
        retire_others=not created,
    )


async def product_deleted(session: AsyncSession, *, product_id: str, at: datetime) -> None:
    await store.product_deleted(session, product_id, at)


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
    await store.stock_changed(
        session,
        product_id=product_id,
        seller_id=seller_id,
        variant_id=variant_id,
        sku=sku,
        available=available,
        low_stock=low_stock,
        at=at,
    )
