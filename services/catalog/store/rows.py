"""Catalog rows as domain objects: the columns a product is read with, and its product, variants and images
made of rows (also of a page's one statement, which reads a product's images and variants as arrays of rows)."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from typing import Any

from services.catalog.domain import Product, ProductImage
from services.catalog.store.tables import product_images, product_variants, products
from services.catalog.variants import ProductOption, Variant

# What a product and a variant are read with: not the columns kept for search and filters (the full-text
# document, the embedding, a variant's lower-cased option values).
PRODUCT_COLUMNS = [column for column in products.c if column.name not in ("search_document", "embedding")]
VARIANT_COLUMNS = [column for column in product_variants.c if column.name != "option_key"]


# A page of products in one statement (the search page's one round trip instead of three queries): each
# product's columns with its images and variants as arrays of rows, in position order, beside whatever else the
# statement reads. For a hand-written statement over `products AS p`; `product_of_page_row` reads a row of it.
_IMAGE_NAMES = [column.name for column in product_images.c]
_VARIANT_NAMES = [column.name for column in VARIANT_COLUMNS]
_IMAGE_ROW_SQL = ", ".join(f"i.{name}" for name in _IMAGE_NAMES)
_VARIANT_ROW_SQL = ", ".join(f"v.{name}" for name in _VARIANT_NAMES)
PAGE_PRODUCT_COLUMNS_SQL = ", ".join(
    [
        *(f"p.{column.name}" for column in PRODUCT_COLUMNS),
        f"ARRAY(SELECT ROW({_IMAGE_ROW_SQL}) FROM product_images AS i "  # noqa: S608 - column names only
        "WHERE i.product_id = p.id ORDER BY i.position) AS page_images",
        f"ARRAY(SELECT ROW({_VARIANT_ROW_SQL}) FROM product_variants AS v "  # noqa: S608 - column names only
        "WHERE v.product_id = p.id ORDER BY v.position) AS page_variants",
    ]
)
# The arrays' rows come positional: named here so `image_of_row` and `variant_of_row` read them as they read
# table rows.
_ImageRow = namedtuple("_ImageRow", _IMAGE_NAMES)  # type: ignore[misc]  # names known only at run time
_VariantRow = namedtuple("_VariantRow", _VARIANT_NAMES)  # type: ignore[misc]


def product_of_page_row(row: Any) -> Product:
    """The product of a row of a statement reading PAGE_PRODUCT_COLUMNS_SQL."""
    images = [image_of_row(_ImageRow._make(image)) for image in row.page_images]
    variants = [variant_of_row(_VariantRow._make(variant)) for variant in row.page_variants]
    return product_of_row(row, images, variants)


def options_json(options: Sequence[ProductOption]) -> list[dict[str, Any]]:
    return [{"name": option.name, "values": list(option.values)} for option in options]


def _options(value: Any) -> list[ProductOption]:
    return [ProductOption(item["name"], tuple(item["values"])) for item in value or ()]


def variant_of_row(row: Any) -> Variant:
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


def product_of_row(row: Any, images: Sequence[ProductImage] = (), variants: Sequence[Variant] = ()) -> Product:
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


def image_of_row(row: Any) -> ProductImage:
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
