"""Catalog storage: tables on the service's own MetaData and the queries over them (SQLAlchemy Core)."""

from __future__ import annotations

import functools
from collections import namedtuple
from collections.abc import Sequence
from datetime import datetime
from typing import Any

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
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.sql.expression import FromClause

from services.catalog.domain import ACTIVE, Product, ProductImage
from services.catalog.filters import ProductFilter
from services.catalog.stock_reservation import Reservation, ReservationLine
from services.catalog.variants import ProductOption, Variant
from services.kit.outbox import add_kit_tables
from services.kit.pages import Position, decode_page_token, encode_page_token, list_fingerprint

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

_PRODUCT_COLUMNS = [column for column in products.c if column.name not in ("search_document", "embedding")]
_VARIANT_COLUMNS = [column for column in product_variants.c if column.name != "option_key"]


# A page of products in one statement (the search page's one round trip instead of three queries): each
# product's columns with its images and variants as arrays of rows, in position order, beside whatever else the
# statement reads. For a hand-written statement over `products AS p`; `product_of_page_row` reads a row of it.
_IMAGE_NAMES = [column.name for column in product_images.c]
_VARIANT_NAMES = [column.name for column in _VARIANT_COLUMNS]
_IMAGE_ROW_SQL = ", ".join(f"i.{name}" for name in _IMAGE_NAMES)
_VARIANT_ROW_SQL = ", ".join(f"v.{name}" for name in _VARIANT_NAMES)
PAGE_PRODUCT_COLUMNS_SQL = ", ".join(
    [
        *(f"p.{column.name}" for column in _PRODUCT_COLUMNS),
        f"ARRAY(SELECT ROW({_IMAGE_ROW_SQL}) FROM product_images AS i "  # noqa: S608 - column names only
        "WHERE i.product_id = p.id ORDER BY i.position) AS page_images",
        f"ARRAY(SELECT ROW({_VARIANT_ROW_SQL}) FROM product_variants AS v "  # noqa: S608 - column names only
        "WHERE v.product_id = p.id ORDER BY v.position) AS page_variants",
    ]
)
# The arrays' rows come positional: named here so `_image` and `_variant` read them as they read table rows.
_ImageRow = namedtuple("_ImageRow", _IMAGE_NAMES)  # type: ignore[misc]  # names known only at run time
_VariantRow = namedtuple("_VariantRow", _VARIANT_NAMES)  # type: ignore[misc]


def product_of_page_row(row: Any) -> Product:
    """The product of a row of a statement reading PAGE_PRODUCT_COLUMNS_SQL."""
    images = [_image(_ImageRow._make(image)) for image in row.page_images]
    variants = [_variant(_VariantRow._make(variant)) for variant in row.page_variants]
    return _product(row, images, variants)


def options_json(options: Sequence[ProductOption]) -> list[dict[str, Any]]:
    return [{"name": option.name, "values": list(option.values)} for option in options]


def _options(value: Any) -> list[ProductOption]:
    return [ProductOption(item["name"], tuple(item["values"])) for item in value or ()]


def _variant(row: Any) -> Variant:
    return Variant(
        id=row.id,
        sku=row.sku,
        option_values=dict(row.option_values),
        own_price_units=row.price_units,
        stock=row.stock,
        reserved=row.reserved,
        status=row.status,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _product(row: Any, images: Sequence[ProductImage] = (), variants: Sequence[Variant] = ()) -> Product:
    return Product(
        id=row.id,
        seller_id=row.seller_id,
        sku=row.sku,
        title=row.title,
        description=row.description,
        category=row.category,
        brand=row.brand,
        attributes=dict(row.attributes),
        options=_options(row.options),
        price_units=row.price_units,
        currency=row.currency,
        status=row.status,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        variants=list(variants),
        images=list(images),
    )


def _image(row: Any) -> ProductImage:
    return ProductImage(
        id=row.id,
        position=row.position,
        url=row.url,
        thumbnail_url=row.thumbnail_url,
        content_key=row.content_key,
        content_file_id=row.content_file_id,
        thumbnail_key=row.thumbnail_key,
        thumbnail_file_id=row.thumbnail_file_id,
        content_type=row.content_type,
        created_at=row.created_at,
    )


# --- listing: filters, orders and page tokens ---------------------------------------------------------------


NEWEST = "newest"
PRICE_ASCENDING = "price_asc"
PRICE_DESCENDING = "price_desc"
TITLE = "title"

# Each order: its sort column and whether it runs descending; the id breaks ties the same way.
_ORDERS: dict[str, tuple[str, bool]] = {
    NEWEST: ("created_at", True),
    PRICE_ASCENDING: ("price_units", False),
    PRICE_DESCENDING: ("price_units", True),
    TITLE: ("title", False),
}


# The type of each order's sort key, as a page token holds it.
_KEY_TYPES: dict[str, type[Position]] = {"created_at": datetime, "price_units": int, "title": str}


def _page_fingerprint(query: ProductFilter, order: str) -> str:
    return list_fingerprint("catalog.products", query, order)


def next_page_token(query: ProductFilter, order: str, last: Product) -> str:
    """The token of the page after `last` in this list."""
    column, _ = _ORDERS[order]
    return encode_page_token(_page_fingerprint(query, order), getattr(last, column), last.id)


def filter_conditions(where: ProductFilter, table: FromClause = products) -> list[ColumnElement[bool]]:
    """The SQL conditions of `where` on `table` (the products table or an alias of it): only the set ones, so
    the planner sees plain predicates. Listing and every search query filter through this one function."""
    c = table.c
    statuses = list(where.statuses)
    conditions: list[ColumnElement[bool]] = [
        c.status == statuses[0] if len(statuses) == 1 else or_(*(c.status == status for status in statuses))
    ]
    if where.category is not None:
        conditions.append(c.category == where.category)
    if where.brand is not None:
        # The column lower-cased by the database, the filter by Python (they differ on a few letters, e.g. a
        # final sigma); the vector index compares the same way (brands are indexed as lower(brand)).
        conditions.append(func.lower(c.brand) == where.brand.lower())
    if where.seller_id is not None:
        conditions.append(c.seller_id == where.seller_id)
    if where.currency is not None:
        conditions.append(c.currency == where.currency)
    if where.min_price_units is not None:
        conditions.append(c.price_units >= where.min_price_units)
    if where.max_price_units is not None:
        conditions.append(c.price_units <= where.max_price_units)
    if where.in_stock_only:
        conditions.append(c.stock - c.reserved > 0)
    if where.attributes:
        conditions.append(c.attributes.contains(dict(where.attributes)))
    if where.options:
        v = product_variants.alias("fv")
        variant_conditions = [
            v.c.product_id == c.id,
            v.c.status == ACTIVE,
            v.c.option_key.contains({name: value.lower() for name, value in where.options.items()}),
        ]
        if where.in_stock_only:
            variant_conditions.append(v.c.stock - v.c.reserved > 0)
        conditions.append(select(v.c.id).where(*variant_conditions).exists())
    return conditions


# Named parameters, so a filter's SQL can be placed in a hand-written statement (see `filter_sql`).
_TEXT_DIALECT = PGDialect(paramstyle="named")  # type: ignore[no-untyped-call]


@functools.lru_cache(maxsize=1024)
def filter_sql(where: ProductFilter, alias: str) -> tuple[str, tuple[BindParameter[Any], ...]]:
    """`filter_conditions` for a hand-written statement over `products AS <alias>` (the search's queries): the
    SQL text and its typed parameters, for `text(...).bindparams(*parameters)`. Cached: compiling costs more
    than a tenth of a millisecond, and shoppers repeat the same few filters."""
    table = products.alias(alias)
    # Compiled as the WHERE of a SELECT over the alias: alone, a subquery on it (the options filter's EXISTS)
    # would get its own FROM of the alias instead of correlating with the statement's.
    compiled = select(table.c.id).where(*filter_conditions(where, table)).compile(dialect=_TEXT_DIALECT)
    head = f"{select(table.c.id).compile(dialect=_TEXT_DIALECT)} \nWHERE "
    sql = str(compiled)
    if not sql.startswith(head):
        raise AssertionError(f"unexpected filter SQL: {sql}")
    parameters = tuple(
        bindparam(name, compiled.params[name], type_=bind.type) for bind, name in compiled.bind_names.items()
    )
    # text() would read a cast's "::" (e.g. ":attributes_1::JSONB") as part of a parameter name: escaped for it.
    # Parenthesised: a lone OR of statuses must stay one condition beside the statement's own.
    return "(" + sql[len(head) :].replace("::", r"\:\:") + ")", parameters


# --- repositories -------------------------------------------------------------------------------------------


class Products:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _images_of(self, product_ids: Sequence[str]) -> dict[str, list[ProductImage]]:
        found: dict[str, list[ProductImage]] = {product_id: [] for product_id in product_ids}
        if not product_ids:
            return found
        rows = await self.session.execute(
            select(product_images)
            .where(product_images.c.product_id.in_(product_ids))
            .order_by(product_images.c.product_id, product_images.c.position)
        )
        for row in rows:
            found[row.product_id].append(_image(row))
        return found

    async def _variants_of(self, product_ids: Sequence[str]) -> dict[str, list[Variant]]:
        found: dict[str, list[Variant]] = {product_id: [] for product_id in product_ids}
        if not product_ids:
            return found
        rows = await self.session.execute(
            select(*_VARIANT_COLUMNS)
            .where(product_variants.c.product_id.in_(product_ids))
            .order_by(product_variants.c.product_id, product_variants.c.position)
        )
        for row in rows:
            found[row.product_id].append(_variant(row))
        return found

    async def _products(self, rows: Sequence[Any]) -> list[Product]:
        ids = [row.id for row in rows]
        images, variants = await self._images_of(ids), await self._variants_of(ids)
        return [_product(row, images[row.id], variants[row.id]) for row in rows]

    async def get(self, product_id: str, *, for_update: bool = False) -> Product | None:
        statement = select(*_PRODUCT_COLUMNS).where(products.c.id == product_id)
        if for_update:
            statement = statement.with_for_update()
        row = (await self.session.execute(statement)).first()
        if row is None:
            return None
        return (await self._products([row]))[0]

    async def many(self, product_ids: Sequence[str]) -> dict[str, Product]:
        if not product_ids:
            return {}
        rows = (await self.session.execute(select(*_PRODUCT_COLUMNS).where(products.c.id.in_(product_ids)))).all()
        return {product.id: product for product in await self._products(rows)}

    async def variant_details(self, variant_ids: Sequence[str]) -> list[Any]:
        """Rows of (variant_id, product_id, seller_id, title, sku, option_values, price_units (its own or the
        product's), currency, available, status, product_status, thumbnail_url (the first image's, or None)) for
        the variants among `variant_ids` that exist."""
        if not variant_ids:
            return []
        v, p, i = product_variants.c, products.c, product_images.c
        thumbnail = select(i.thumbnail_url).where(i.product_id == p.id).order_by(i.position).limit(1).scalar_subquery()
        statement = (
            select(
                v.id.label("variant_id"),
                v.product_id,
                p.seller_id,
                p.title,
                v.sku,
                v.option_values,
                func.coalesce(v.price_units, p.price_units).label("price_units"),
                p.currency,
                (v.stock - v.reserved).label("available"),
                v.status,
                p.status.label("product_status"),
                thumbnail.label("thumbnail_url"),
            )
            .select_from(product_variants.join(products, p.id == v.product_id))
            .where(v.id.in_(list(variant_ids)))
        )
        return list((await self.session.execute(statement)).all())

    async def by_skus(self, seller_id: str, skus: Sequence[str], *, for_update: bool = False) -> dict[str, Product]:
        """The seller's products with these SKUs, by SKU (locked when `for_update`)."""
        statement = select(products.c.id).where(products.c.seller_id == seller_id, products.c.sku.in_(skus))
        if for_update:
            statement = statement.with_for_update()
        found = await self.many(list((await self.session.execute(statement)).scalars()))
        return {product.sku: product for product in found.values()}

    async def seller_has_any(self, seller_id: str) -> bool:
        found = await self.session.scalar(select(products.c.id).where(products.c.seller_id == seller_id).limit(1))
        return found is not None

    async def by_request(self, seller_id: str, request_id: str) -> Product | None:
        product_id = await self.session.scalar(
            select(products.c.id).where(products.c.seller_id == seller_id, products.c.request_id == request_id)
        )
        return None if product_id is None else await self.get(product_id)

    async def sku_taken(self, seller_id: str, sku: str, *, other_than: str = "") -> bool:
        found = await self.session.scalar(
            select(products.c.id).where(
                products.c.seller_id == seller_id, products.c.sku == sku, products.c.id != other_than
            )
        )
        return found is not None

    async def variant_skus_taken(self, seller_id: str, variants: Sequence[Variant]) -> list[str]:
        """The SKUs of `variants` another variant of the seller already has."""
        by_sku = {variant.sku: variant.id for variant in variants}
        rows = await self.session.execute(
            select(product_variants.c.sku, product_variants.c.id).where(
                product_variants.c.seller_id == seller_id, product_variants.c.sku.in_(list(by_sku))
            )
        )
        return [row.sku for row in rows if by_sku[row.sku] != row.id]

    async def add(self, product: Product, *, request_id: str | None, embedding: bytes | None) -> None:
        await self.session.execute(
            insert(products).values(
                id=product.id,
                seller_id=product.seller_id,
                sku=product.sku,
                title=product.title,
                description=product.description,
                category=product.category,
                brand=product.brand,
                attributes=product.attributes,
                options=options_json(product.options),
                price_units=product.price_units,
                currency=product.currency,
                stock=product.stock,
                reserved=product.reserved,
                status=product.status,
                version=product.version,
                created_at=product.created_at,
                updated_at=product.updated_at,
                request_id=request_id,
                embedding=embedding,
            )
        )
        await self.save_variants(product)

    async def save_variants(self, product: Product) -> None:
        """Writes every variant of a locked product (a few hundred at most: one statement)."""
        rows = [
            {
                "id": variant.id,
                "product_id": product.id,
                "seller_id": product.seller_id,
                "sku": variant.sku,
                "option_values": variant.option_values,
                "price_units": variant.own_price_units,
                "stock": variant.stock,
                "reserved": variant.reserved,
                "status": variant.status,
                "position": position,
                "created_at": variant.created_at,
                "updated_at": variant.updated_at,
            }
            for position, variant in enumerate(product.variants)
        ]
        statement = pg_insert(product_variants)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["id"],
                set_={
                    name: statement.excluded[name]
                    for name in ("sku", "option_values", "price_units", "stock", "reserved", "status", "position")
                }
                | {"updated_at": statement.excluded.updated_at},
            ),
            rows,
        )

    async def save(self, product: Product, *, embedding: bytes | None = None) -> None:
        """Writes the fields a product's owner changes (the row is locked: stock and reserved are current)."""
        values: dict[str, Any] = {
            "sku": product.sku,
            "title": product.title,
            "description": product.description,
            "category": product.category,
            "brand": product.brand,
            "attributes": product.attributes,
            "options": options_json(product.options),
            "price_units": product.price_units,
            "currency": product.currency,
            "stock": product.stock,
            "reserved": product.reserved,
            "status": product.status,
            "version": product.version,
            "updated_at": product.updated_at,
        }
        if embedding is not None:
            values["embedding"] = embedding
        await self.session.execute(update(products).where(products.c.id == product.id).values(**values))
        await self.save_variants(product)

    async def add_image(self, product_id: str, image: ProductImage) -> None:
        await self.session.execute(
            insert(product_images).values(
                id=image.id,
                product_id=product_id,
                position=image.position,
                url=image.url,
                thumbnail_url=image.thumbnail_url,
                content_key=image.content_key,
                content_file_id=image.content_file_id,
                thumbnail_key=image.thumbnail_key,
                thumbnail_file_id=image.thumbnail_file_id,
                content_type=image.content_type,
                created_at=image.created_at,
            )
        )

    async def delete_image(self, image_id: str) -> None:
        await self.session.execute(delete(product_images).where(product_images.c.id == image_id))

    async def delete_images(self, product_id: str) -> None:
        await self.session.execute(delete(product_images).where(product_images.c.product_id == product_id))

    async def page(
        self, query: ProductFilter, order: str, page_size: int, page_token: str
    ) -> tuple[list[Product], Product | None]:
        """One page in `order` (keyset pagination) and the last product when another page follows."""
        column_name, descending = _ORDERS[order]
        column = products.c[column_name]
        conditions = filter_conditions(query)
        position = decode_page_token(page_token, _page_fingerprint(query, order), _KEY_TYPES[column_name], str)
        if position is not None:
            key, last_id = position
            after = tuple_(column, products.c.id)
            bound = tuple_(literal(key, column.type), literal(last_id))
            conditions.append(after < bound if descending else after > bound)
        ordering = [column.desc(), products.c.id.desc()] if descending else [column.asc(), products.c.id.asc()]
        rows = (
            await self.session.execute(
                select(*_PRODUCT_COLUMNS).where(and_(*conditions)).order_by(*ordering).limit(page_size + 1)
            )
        ).all()
        found = await self._products(rows[:page_size])
        return found, (found[-1] if len(rows) > page_size else None)

    async def categories(self) -> list[tuple[str, int]]:
        rows = await self.session.execute(
            select(products.c.category, func.count())
            .where(products.c.status == ACTIVE)
            .group_by(products.c.category)
            .order_by(products.c.category)
        )
        return [(row[0], int(row[1])) for row in rows]


class Reservations:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, reservation_id: str, order_id: str, expires_at: datetime, now: datetime) -> bool:
        """Inserts a HELD reservation; False when one with this id exists (a concurrent twin waits for ours)."""
        result = await self.session.execute(
            pg_insert(reservations)
            .values(
                id=reservation_id,
                order_id=order_id,
                status="HELD",
                expires_at=expires_at,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(reservations.c.id)
        )
        return result.first() is not None

    async def add_lines(self, reservation_id: str, lines: Sequence[ReservationLine]) -> None:
        await self.session.execute(
            insert(reservation_items),
            [
                {
                    "reservation_id": reservation_id,
                    "variant_id": line.variant_id,
                    "product_id": line.product_id,
                    "quantity": line.quantity,
                }
                for line in lines
            ],
        )

    async def get(self, reservation_id: str, *, for_update: bool = False) -> Reservation | None:
        statement = select(reservations).where(reservations.c.id == reservation_id)
        if for_update:
            statement = statement.with_for_update()
        row = (await self.session.execute(statement)).first()
        if row is None:
            return None
        lines = await self.session.execute(
            select(reservation_items.c.product_id, reservation_items.c.variant_id, reservation_items.c.quantity)
            .where(reservation_items.c.reservation_id == reservation_id)
            .order_by(reservation_items.c.product_id, reservation_items.c.variant_id)
        )
        return Reservation(
            id=row.id,
            order_id=row.order_id,
            status=row.status,
            expires_at=row.expires_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
            lines=[ReservationLine(line.product_id, line.variant_id, line.quantity) for line in lines],
        )

    async def save_status(self, reservation: Reservation) -> None:
        await self.session.execute(
            update(reservations)
            .where(reservations.c.id == reservation.id)
            .values(status=reservation.status, updated_at=reservation.updated_at)
        )

    async def lock_expired(self, now: datetime, limit: int) -> list[str]:
        """Ids of HELD reservations past their expiry, locked; rows another sweeper holds are skipped."""
        rows = await self.session.execute(
            select(reservations.c.id)
            .where(reservations.c.status == "HELD", reservations.c.expires_at <= now)
            .order_by(reservations.c.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [row[0] for row in rows]
