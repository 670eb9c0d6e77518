"""The seller's read model: its tables on the service's own MetaData (SQLAlchemy Core), and emptying them for
a rebuild. Writes are in `projection_store`, reads in `queries`.

- `seller_parts`: one row per (order, seller), the part's set-once moments and its sums (subtotal, units).
- `seller_part_lines`: the seller's lines of each part, with the part's payment moment and whether it was
  voided (cancelled or refunded) copied beside them, so product figures need no join.
- `seller_variants`: each variant's SKU, title and latest stock (the newest StockChanged wins).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.outbox import add_kit_tables

metadata = MetaData()
TS = DateTime(timezone=True)
# Paid parts waiting to ship (the partial index of the dashboard's count; `queries` says the same in SQLAlchemy).
TO_SHIP = (
    "paid_at IS NOT NULL AND shipped_at IS NULL AND delivered_at IS NULL AND cancelled_at IS NULL"
    " AND refunded_at IS NULL"
)

parts = Table(
    "seller_parts",
    metadata,
    Column("order_id", String(36), primary_key=True),
    Column("seller_id", String(36), primary_key=True),
    Column("buyer_id", String(36), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("subtotal", BigInteger, nullable=False),
    Column("units", BigInteger, nullable=False),
    Column("payment_id", String(64), nullable=False, server_default=""),
    Column("carrier", Text, nullable=False, server_default=""),
    Column("tracking_number", Text, nullable=False, server_default=""),
    Column("created_at", TS, nullable=False),
    Column("paid_at", TS),
    Column("shipped_at", TS),
    Column("delivered_at", TS),
    Column("cancelled_at", TS),
    Column("refunded_at", TS),
    Index("ix_seller_parts_seller_created", "seller_id", "created_at", "order_id"),
    Index(
        "ix_seller_parts_seller_paid",
        "seller_id",
        "paid_at",
        postgresql_include=["currency", "subtotal", "units", "cancelled_at", "refunded_at"],
    ),
    Index("ix_seller_parts_to_ship", "seller_id", postgresql_where=text(TO_SHIP)),
)

part_lines = Table(
    "seller_part_lines",
    metadata,
    Column("order_id", String(36), primary_key=True),
    Column("seller_id", String(36), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("product_id", String(36), nullable=False),
    Column("variant_id", String(36), nullable=False),
    Column("sku", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("unit_price", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("paid_at", TS),
    Column("voided", Boolean, nullable=False, server_default=text("false")),
    Index(
        "ix_seller_part_lines_seller_paid",
        "seller_id",
        "paid_at",
        postgresql_include=["product_id", "quantity", "unit_price", "currency", "voided"],
    ),
)

variants = Table(
    "seller_variants",
    metadata,
    Column("variant_id", String(36), primary_key=True),
    Column("product_id", String(36), nullable=False),
    Column("seller_id", String(36), nullable=False),
    Column("sku", Text, nullable=False, server_default=""),
    Column("title", Text, nullable=False, server_default=""),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("available", BigInteger),
    Column("low_stock", Boolean, nullable=False, server_default=text("false")),
    # The time of the StockChanged the stock figures come from: an older one changes nothing.
    Column("stock_at", TS),
    # The time of the product event the SKU, title and status come from.
    Column("product_at", TS),
    Index("ix_seller_variants_product", "product_id"),
    Index("ix_seller_variants_low", "seller_id", "available", postgresql_where=text("low_stock AND active")),
)

# Every refund payment reported (PaymentRefunded), kept so a refund read before its order's payment (the two
# streams are consumed apart) still applies once the payment is known.
payment_refunds = Table(
    "seller_payment_refunds",
    metadata,
    Column("order_id", String(36), primary_key=True),
    Column("payment_id", String(64), primary_key=True),
    Column("refunded_at", TS, nullable=False),
)

outbox, inbox = add_kit_tables(metadata)

PROJECTION_TABLES = ("seller_part_lines", "seller_parts", "seller_variants", "seller_payment_refunds")


async def truncate(session: AsyncSession, group: str) -> None:
    """Empties the read model and forgets which events `group` handled (a rebuild applies them all again).

    The inbox is locked first, with the projection: a live consumer's transaction then either finished before
    or waits for the rebuild's commit (never half of each, and no deadlock on an event both are applying)."""
    await session.execute(text(f"LOCK TABLE inbox, {', '.join(PROJECTION_TABLES)} IN ACCESS EXCLUSIVE MODE"))
    await session.execute(text(f"TRUNCATE {', '.join(PROJECTION_TABLES)}"))
    await session.execute(text("DELETE FROM inbox WHERE consumer_group = :group"), {"group": group})
