"""Product options and variants: every product gets its default variant with its stock; reservations name
variants; option values join the search document.

Existing products become single-variant products: one ACTIVE variant with the product's SKU, stock and
reserved units (so open reservations stay whole), and each reservation item names that variant.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from services.kit.ids import new_id

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
BATCH = 5000

SEARCH_DOCUMENT_SQL = (
    "setweight(to_tsvector('english'::regconfig, title), 'A') || "
    "setweight(to_tsvector('english'::regconfig, brand || ' ' || category), 'B') || "
    "setweight(jsonb_to_tsvector('english'::regconfig, options, '[\"string\"]'::jsonb), 'B') || "
    "setweight(to_tsvector('english'::regconfig, description), 'C') || "
    "setweight(jsonb_to_tsvector('english'::regconfig, attributes, '[\"string\"]'::jsonb), 'D')"
)
OLD_SEARCH_DOCUMENT_SQL = (
    "setweight(to_tsvector('english'::regconfig, title), 'A') || "
    "setweight(to_tsvector('english'::regconfig, brand || ' ' || category), 'B') || "
    "setweight(to_tsvector('english'::regconfig, description), 'C') || "
    "setweight(jsonb_to_tsvector('english'::regconfig, attributes, '[\"string\"]'::jsonb), 'D')"
)


def _search_document(expression: str) -> None:
    op.execute("ALTER TABLE products DROP COLUMN search_document")
    op.execute(f"ALTER TABLE products ADD COLUMN search_document tsvector GENERATED ALWAYS AS ({expression}) STORED")
    op.execute(
        "CREATE INDEX ix_products_search_document ON products USING gin (search_document) WITH (fastupdate = off)"
    )


def _default_variants() -> None:
    """One variant per product, ids made here (UUIDv7, as every id), in batches."""
    bind = op.get_bind()
    after = ""
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT id, seller_id, sku, stock, reserved, created_at, updated_at FROM products"
                " WHERE id > :after ORDER BY id LIMIT :limit"
            ),
            {"after": after, "limit": BATCH},
        ).all()
        if not rows:
            return
        bind.execute(
            sa.text(
                "INSERT INTO product_variants (id, product_id, seller_id, sku, option_values, price_units, stock,"
                " reserved, status, position, created_at, updated_at) VALUES (:id, :product_id, :seller_id, :sku,"
                " '{}'::jsonb, NULL, :stock, :reserved, 'ACTIVE', 0, :created_at, :updated_at)"
            ),
            [
                {
                    "id": new_id(),
                    "product_id": row.id,
                    "seller_id": row.seller_id,
                    "sku": row.sku,
                    "stock": row.stock,
                    "reserved": row.reserved,
                    "created_at": row.created_at,
                    "updated_at": row.updated_at,
                }
                for row in rows
            ],
        )
        after = rows[-1].id


def upgrade() -> None:
    op.add_column("products", sa.Column("options", postgresql.JSONB, nullable=False, server_default="[]"))
    op.alter_column("products", "options", server_default=None)
    op.create_table(
        "product_variants",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("product_id", sa.String(36), sa.ForeignKey("products.id", ondelete="CASCADE"), nullable=False),
        sa.Column("seller_id", sa.String(36), nullable=False),
        sa.Column("sku", sa.Text, nullable=False),
        sa.Column("option_values", postgresql.JSONB, nullable=False),
        sa.Column("option_key", postgresql.JSONB, sa.Computed("lower(option_values::text)::jsonb", persisted=True)),
        sa.Column("price_units", sa.BigInteger, nullable=True),
        sa.Column("stock", sa.Integer, nullable=False),
        sa.Column("reserved", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("seller_id", "sku", name="product_variants_seller_sku"),
        sa.CheckConstraint(
            "stock >= 0 AND reserved >= 0 AND reserved <= stock", name="product_variants_stock_bounds"
        ),
    )
    op.create_index("ix_product_variants_product", "product_variants", ["product_id", "position"])
    op.create_index("ix_product_variants_option_key", "product_variants", ["option_key"], postgresql_using="gin")
    _default_variants()

    op.add_column("reservation_items", sa.Column("variant_id", sa.String(36), nullable=True))
    op.execute(
        "UPDATE reservation_items AS i SET variant_id = v.id FROM product_variants AS v WHERE v.product_id = i.product_id"
    )
    # An item of a product that no longer exists keeps a made-up variant id: it can only ever be released.
    op.execute("UPDATE reservation_items SET variant_id = product_id WHERE variant_id IS NULL")
    op.alter_column("reservation_items", "variant_id", nullable=False)
    op.drop_constraint("reservation_items_pkey", "reservation_items", type_="primary")
    op.create_primary_key("reservation_items_pkey", "reservation_items", ["reservation_id", "variant_id"])

    _search_document(SEARCH_DOCUMENT_SQL)


def downgrade() -> None:
    # Back to one stock per product: the sums over its ACTIVE variants (the figures the products table holds).
    op.drop_constraint("reservation_items_pkey", "reservation_items", type_="primary")
    op.execute(
        "DELETE FROM reservation_items AS a USING reservation_items AS b WHERE a.reservation_id = b.reservation_id"
        " AND a.product_id = b.product_id AND a.variant_id > b.variant_id"
    )
    op.drop_column("reservation_items", "variant_id")
    op.create_primary_key("reservation_items_pkey", "reservation_items", ["reservation_id", "product_id"])
    op.drop_table("product_variants")
    _search_document(OLD_SEARCH_DOCUMENT_SQL)
    op.drop_column("products", "options")
