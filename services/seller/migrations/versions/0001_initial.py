"""The seller's read model (parts of orders, their lines, variants' stock) and the kit's outbox/inbox.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from services.kit.migrate import create_kit_tables, drop_kit_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
_TO_SHIP = (
    "paid_at IS NOT NULL AND shipped_at IS NULL AND delivered_at IS NULL AND cancelled_at IS NULL"
    " AND refunded_at IS NULL"
)


def upgrade() -> None:
    op.create_table(
        "seller_parts",
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("seller_id", sa.String(36), primary_key=True),
        sa.Column("buyer_id", sa.String(36), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("subtotal", sa.BigInteger, nullable=False),
        sa.Column("units", sa.BigInteger, nullable=False),
        sa.Column("payment_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("carrier", sa.Text, nullable=False, server_default=""),
        sa.Column("tracking_number", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("paid_at", TS),
        sa.Column("shipped_at", TS),
        sa.Column("delivered_at", TS),
        sa.Column("cancelled_at", TS),
        sa.Column("refunded_at", TS),
    )
    op.create_index("ix_seller_parts_seller_created", "seller_parts", ["seller_id", "created_at", "order_id"])
    # Covering: the period's figures are read from the index alone.
    op.create_index(
        "ix_seller_parts_seller_paid",
        "seller_parts",
        ["seller_id", "paid_at"],
        postgresql_include=["currency", "subtotal", "units", "cancelled_at", "refunded_at"],
    )
    op.create_index(
        "ix_seller_parts_to_ship",
        "seller_parts",
        ["seller_id"],
        postgresql_where=sa.text(_TO_SHIP),
    )
    op.create_table(
        "seller_part_lines",
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("seller_id", sa.String(36), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("product_id", sa.String(36), nullable=False),
        sa.Column("variant_id", sa.String(36), nullable=False),
        sa.Column("sku", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("quantity", sa.BigInteger, nullable=False),
        sa.Column("unit_price", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("paid_at", TS),
        sa.Column("voided", sa.Boolean, nullable=False, server_default=sa.text("false")),
    )
    op.create_index(
        "ix_seller_part_lines_seller_paid",
        "seller_part_lines",
        ["seller_id", "paid_at"],
        postgresql_include=["product_id", "quantity", "unit_price", "currency", "voided"],
    )
    op.create_table(
        "seller_variants",
        sa.Column("variant_id", sa.String(36), primary_key=True),
        sa.Column("product_id", sa.String(36), nullable=False),
        sa.Column("seller_id", sa.String(36), nullable=False),
        sa.Column("sku", sa.Text, nullable=False, server_default=""),
        sa.Column("title", sa.Text, nullable=False, server_default=""),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.text("true")),
        sa.Column("available", sa.BigInteger),
        sa.Column("low_stock", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("stock_at", TS),
        sa.Column("product_at", TS),
    )
    op.create_index("ix_seller_variants_product", "seller_variants", ["product_id"])
    op.create_index(
        "ix_seller_variants_low",
        "seller_variants",
        ["seller_id", "available"],
        postgresql_where=sa.text("low_stock AND active"),
    )
    op.create_table(
        "seller_payment_refunds",
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column("payment_id", sa.String(64), primary_key=True),
        sa.Column("refunded_at", TS, nullable=False),
    )
    create_kit_tables()


def downgrade() -> None:
    drop_kit_tables()
    op.drop_table("seller_payment_refunds")
    op.drop_table("seller_variants")
    op.drop_table("seller_part_lines")
    op.drop_table("seller_parts")
