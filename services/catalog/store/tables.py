"""The catalog's tables on the service's own MetaData (the migrations' model): products, their variants and
images, reservations and their items, and the kit's outbox and inbox."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR

from services.kit.outbox import add_kit_tables

metadata = MetaData()

# The weighted full-text document: title (A), brand, category and option values (B), description (C),
# attribute values (D).
SEARCH_DOCUMENT_SQL = (
    "setweight(to_tsvector('english'::regconfig, title), 'A') || "
    "setweight(to_tsvector('english'::regconfig, brand || ' ' || category), 'B') || "
    "setweight(jsonb_to_tsvector('english'::regconfig, options, '[\"string\"]'::jsonb), 'B') || "
    "setweight(to_tsvector('english'::regconfig, description), 'C') || "
    "setweight(jsonb_to_tsvector('english'::regconfig, attributes, '[\"string\"]'::jsonb), 'D')"
)
# A variant's option values lower-cased, for the case-insensitive `options` filter.
OPTION_KEY_SQL = "lower(option_values::text)::jsonb"
SKU_CONSTRAINT = "products_seller_sku"
VARIANT_SKU_CONSTRAINT = "product_variants_seller_sku"
REQUEST_CONSTRAINT = "products_seller_request"

products = Table(
    "products",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("seller_id", String(36), nullable=False),
    Column("sku", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("brand", Text, nullable=False),
    Column("attributes", JSONB, nullable=False),
    # [{"name": "size", "values": ["S", "M"]}, ...] in display order.
    Column("options", JSONB, nullable=False),
    Column("price_units", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    # The sums over the ACTIVE variants (kept with every variant change, in the same transaction): what the
    # product-level filters (in stock) read.
    Column("stock", Integer, nullable=False),
    Column("reserved", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # The CreateProduct request that made the product (idempotency); null for imported products.
    Column("request_id", String(36), nullable=True),
    Column("search_document", TSVECTOR, Computed(SEARCH_DOCUMENT_SQL, persisted=True)),
    Column("embedding", LargeBinary, nullable=True),
    UniqueConstraint("seller_id", "sku", name=SKU_CONSTRAINT),
    UniqueConstraint("seller_id", "request_id", name=REQUEST_CONSTRAINT),
    CheckConstraint("stock >= 0 AND reserved >= 0 AND reserved <= stock", name="products_stock_bounds"),
    # No pending list on the full-text indexes (migration 0002): a bulk load must not slow every search after it.
    Index(
        "ix_products_search_document", "search_document", postgresql_using="gin", postgresql_with={"fastupdate": "off"}
    ),
    # The title's words alone, for the lexical search's "every word in the title" candidates.
    Index(
        "ix_products_title_words",
        text("to_tsvector('english'::regconfig, title)"),
        postgresql_using="gin",
        postgresql_with={"fastupdate": "off"},
    ),
    Index("ix_products_status_category_price", "status", "category", "price_units"),
    Index("ix_products_seller", "seller_id", "created_at"),
    Index("ix_products_status_created", "status", "created_at", "id"),
)

product_variants = Table(
    "product_variants",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("product_id", String(36), ForeignKey("products.id", ondelete="CASCADE"), nullable=False),
    Column("seller_id", String(36), nullable=False),
    Column("sku", Text, nullable=False),
    Column("option_values", JSONB, nullable=False),
    Column("option_key", JSONB, Computed(OPTION_KEY_SQL, persisted=True)),
    # Null: the product's price.
    Column("price_units", BigInteger, nullable=True),
    Column("stock", Integer, nullable=False),
    Column("reserved", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("position", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("seller_id", "sku", name=VARIANT_SKU_CONSTRAINT),
    CheckConstraint("stock >= 0 AND reserved >= 0 AND reserved <= stock", name="product_variants_stock_bounds"),
    Index("ix_product_variants_product", "product_id", "position"),
    Index("ix_product_variants_option_key", "option_key", postgresql_using="gin"),
)

product_images = Table(
    "product_images",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("product_id", String(36), ForeignKey("products.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("url", Text, nullable=False),
    Column("thumbnail_url", Text, nullable=False),
    Column("content_key", Text, nullable=False),
    Column("content_file_id", Text, nullable=False),
    Column("thumbnail_key", Text, nullable=False),
    Column("thumbnail_file_id", Text, nullable=False),
    Column("content_type", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_product_images_product", "product_id", "position"),
)

reservations = Table(
    "reservations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("order_id", String(36), nullable=False),
    Column("status", String(16), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_reservations_held_expiry", "expires_at", postgresql_where=text("status = 'HELD'")),
)

reservation_items = Table(
    "reservation_items",
    metadata,
    Column("reservation_id", String(36), ForeignKey("reservations.id", ondelete="CASCADE"), primary_key=True),
    Column("variant_id", String(36), primary_key=True),
    Column("product_id", String(36), nullable=False),
    Column("quantity", Integer, nullable=False),
)

add_kit_tables(metadata)
