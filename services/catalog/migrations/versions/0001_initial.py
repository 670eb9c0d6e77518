"""Products, their images, stock reservations, and the kit's outbox/inbox.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from services.kit.migrate import create_kit_tables, drop_kit_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)

# The weighted full-text document: title (A), brand and category (B), description (C), attribute values (D).
SEARCH_DOCUMENT_SQL = (
    "setweight(to_tsvector('english'::regconfig, title), 'A') || "
    "setweight(to_tsvector('english'::regconfig, brand || ' ' || category), 'B') || "
    "setweight(to_tsvector('english'::regconfig, description), 'C') || "
    "setweight(jsonb_to_tsvector('english'::regconfig, attributes, '[\"string\"]'::jsonb), 'D')"
)


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("seller_id", sa.String(36), nullable=False),
        sa.Column("sku", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("brand", sa.Text, nullable=False),
        sa.Column("attributes", postgresql.JSONB, nullable=False),
        sa.Column("price_units", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("stock", sa.Integer, nullable=False),
        sa.Column("reserved", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("request_id", sa.String(36), nullable=True),
        sa.Column("search_document", postgresql.TSVECTOR, sa.Computed(SEARCH_DOCUMENT_SQL, persisted=True)),
        sa.Column("embedding", sa.LargeBinary, nullable=True),
        sa.UniqueConstraint("seller_id", "sku", name="products_seller_sku"),
        sa.UniqueConstraint("seller_id", "request_id", name="products_seller_request"),
        sa.CheckConstraint("stock >= 0 AND reserved >= 0 AND reserved <= stock", name="products_stock_bounds"),
    )
    op.create_index("ix_products_search_document", "products", ["search_document"], postgresql_using="gin")
    op.create_index("ix_products_status_category_price", "products", ["status", "category", "price_units"])
    op.create_index("ix_products_seller", "products", ["seller_id", "created_at"])
    op.create_index("ix_products_status_created", "products", ["status", "created_at", "id"])
    op.create_table(
        "product_images",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("product_id", sa.String(36), sa.ForeignKey("products.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("thumbnail_url", sa.Text, nullable=False),
        sa.Column("content_key", sa.Text, nullable=False),
        sa.Column("content_file_id", sa.Text, nullable=False),
        sa.Column("thumbnail_key", sa.Text, nullable=False),
        sa.Column("thumbnail_file_id", sa.Text, nullable=False),
        sa.Column("content_type", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_product_images_product", "product_images", ["product_id", "position"])
    op.create_table(
        "reservations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("order_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index(
        "ix_reservations_held_expiry", "reservations", ["expires_at"], postgresql_where=sa.text("status = 'HELD'")
    )
    op.create_table(
        "reservation_items",
        sa.Column(
            "reservation_id",
            sa.String(36),
            sa.ForeignKey("reservations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("product_id", sa.String(36), primary_key=True),
        sa.Column("quantity", sa.Integer, nullable=False),
    )
    create_kit_tables()


def downgrade() -> None:
    drop_kit_tables()
    op.drop_table("reservation_items")
    op.drop_table("reservations")
    op.drop_table("product_images")
    op.drop_table("products")
