"""The products repository: products with their variants and images, read and written (SQLAlchemy Core)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.domain import ACTIVE, Product, ProductImage
from services.catalog.filters import ProductFilter
from services.catalog.store.listing import page_clauses
from services.catalog.store.rows import (
    PRODUCT_COLUMNS,
    VARIANT_COLUMNS,
    image_of_row,
    options_json,
    product_of_row,
    variant_of_row,
)
from services.catalog.store.tables import product_images, product_variants, products
from services.catalog.variants import Variant

# The reads of GetProduct and GetVariants (several per checkout), built once with bound parameters: SQLAlchemy
# then reuses each one's memoized cache key instead of building and hashing a statement per call (docs/kit.md).
_IMAGES_OF = (
    select(product_images)
    .where(product_images.c.product_id.in_(bindparam("product_ids", expanding=True)))
    .order_by(product_images.c.product_id, product_images.c.position)
)
_VARIANTS_OF = (
    select(*VARIANT_COLUMNS)
    .where(product_variants.c.product_id.in_(bindparam("product_ids", expanding=True)))
    .order_by(product_variants.c.product_id, product_variants.c.position)
)
_PRODUCT = select(*PRODUCT_COLUMNS).where(products.c.id == bindparam("product_id"))
_PRODUCT_FOR_UPDATE = _PRODUCT.with_for_update()
_PRODUCTS = select(*PRODUCT_COLUMNS).where(products.c.id.in_(bindparam("product_ids", expanding=True)))


def _variant_details() -> Any:
    v, p, i = product_variants.c, products.c, product_images.c
    thumbnail = select(i.thumbnail_url).where(i.product_id == p.id).order_by(i.position).limit(1).scalar_subquery()
    return (
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
        .where(v.id.in_(bindparam("variant_ids", expanding=True)))
    )


_VARIANT_DETAILS = _variant_details()


class Products:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _images_of(self, product_ids: Sequence[str]) -> dict[str, list[ProductImage]]:
        found: dict[str, list[ProductImage]] = {product_id: [] for product_id in product_ids}
        if not product_ids:
            return found
        rows = await self.session.execute(_IMAGES_OF, {"product_ids": list(product_ids)})
        for row in rows:
            found[row.product_id].append(image_of_row(row))
        return found

    async def _variants_of(self, product_ids: Sequence[str]) -> dict[str, list[Variant]]:
        found: dict[str, list[Variant]] = {product_id: [] for product_id in product_ids}
        if not product_ids:
            return found
        rows = await self.session.execute(_VARIANTS_OF, {"product_ids": list(product_ids)})
        for row in rows:
            found[row.product_id].append(variant_of_row(row))
        return found

    async def _products(self, rows: Sequence[Any]) -> list[Product]:
        ids = [row.id for row in rows]
        images, variants = await self._images_of(ids), await self._variants_of(ids)
        return [product_of_row(row, images[row.id], variants[row.id]) for row in rows]

    async def get(self, product_id: str, *, for_update: bool = False) -> Product | None:
        statement = _PRODUCT_FOR_UPDATE if for_update else _PRODUCT
        row = (await self.session.execute(statement, {"product_id": product_id})).first()
        if row is None:
            return None
        return (await self._products([row]))[0]

    async def many(self, product_ids: Sequence[str]) -> dict[str, Product]:
        if not product_ids:
            return {}
        rows = (await self.session.execute(_PRODUCTS, {"product_ids": list(product_ids)})).all()
        return {product.id: product for product in await self._products(rows)}

    async def variant_details(self, variant_ids: Sequence[str]) -> list[Any]:
        """Rows of (variant_id, product_id, seller_id, title, sku, option_values, price_units (its own or the
        product's), currency, available, status, product_status, thumbnail_url (the first image's, or None)) for
        the variants among `variant_ids` that exist."""
        if not variant_ids:
            return []
        return list((await self.session.execute(_VARIANT_DETAILS, {"variant_ids": list(variant_ids)})).all())

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
        conditions, ordering = page_clauses(query, order, page_token)
        rows = (
            await self.session.execute(
                select(*PRODUCT_COLUMNS).where(and_(*conditions)).order_by(*ordering).limit(page_size + 1)
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
