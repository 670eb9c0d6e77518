"""Carts, their lines, and the kit's outbox/inbox.

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
        "carts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("buyer_id", sa.String(36), nullable=False, unique=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "cart_lines",
        sa.Column("cart_id", sa.String(36), sa.ForeignKey("carts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("variant_id", sa.String(36), primary_key=True),
        sa.Column("product_id", sa.String(36), nullable=False),
        sa.Column("seller_id", sa.String(36), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("sku", sa.Text, nullable=False),
        sa.Column("option_values", JSONB, nullable=False),
        sa.Column("price_units", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("image_url", sa.Text, nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("added_by", sa.String(36), nullable=False),
        sa.Column("added_by_actor", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("quantity BETWEEN 1 AND 999", name="cart_lines_quantity"),
    )
    op.create_index("ix_cart_lines_cart_created", "cart_lines", ["cart_id", "created_at"])
    create_kit_tables()


def downgrade() -> None:
    drop_kit_tables()
    op.drop_table("cart_lines")
    op.drop_table("carts")
