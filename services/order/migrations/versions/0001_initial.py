"""Orders, their lines and fulfilments (one per seller), and the kit's outbox/inbox.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from services.kit.migrate import create_kit_tables, drop_kit_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("buyer_id", sa.String(36), nullable=False),
        sa.Column("request_id", sa.String(36), nullable=False),
        sa.Column("request_fingerprint", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("total_units", sa.BigInteger, nullable=False),
        sa.Column("address", JSONB, nullable=False),
        sa.Column("reservation_id", sa.String(36), nullable=False),
        sa.Column("payment_id", sa.String(36), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("payment_due_at", TS, nullable=False),
        sa.Column("paid_at", TS),
        sa.Column("cancelled_at", TS),
        sa.Column("cancellation_reason", sa.String(20), nullable=False),
        sa.Column("cancellation_note", sa.Text, nullable=False),
    )
    op.create_index("uq_orders_buyer_request", "orders", ["buyer_id", "request_id"], unique=True)
    op.create_index("ix_orders_buyer_created", "orders", ["buyer_id", "created_at", "id"])
    op.create_index(
        "ix_orders_pending_due", "orders", ["payment_due_at"], postgresql_where=sa.text("status = 'PENDING_PAYMENT'")
    )
    op.create_table(
        "order_lines",
        sa.Column("order_id", sa.String(36), sa.ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("product_id", sa.String(36), nullable=False),
        sa.Column("variant_id", sa.String(36), nullable=False),
        sa.Column("seller_id", sa.String(36), nullable=False),
        sa.Column("sku", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("option_values", JSONB, nullable=False),
        sa.Column("unit_price", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("image_url", sa.Text, nullable=False),
    )
    op.create_table(
        "fulfilments",
        sa.Column("order_id", sa.String(36), sa.ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("seller_id", sa.String(36), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("carrier", sa.Text, nullable=False),
        sa.Column("tracking_number", sa.Text, nullable=False),
        sa.Column("shipped_at", TS),
        sa.Column("delivered_at", TS),
    )
    op.create_index("ix_fulfilments_seller", "fulfilments", ["seller_id", "order_id"])
    create_kit_tables()


def downgrade() -> None:
    drop_kit_tables()
    op.drop_table("fulfilments")
    op.drop_table("order_lines")
    op.drop_table("orders")
