"""GetVariants: the current state of many variants at once, for services that price what buyers chose (the cart)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from services.catalog.handlers.deps import Deps
from services.catalog.store import Products, product_variants


@dataclass(frozen=True)
class VariantDetails:
    variant_id: str
    product_id: str
    seller_id: str
    title: str
    sku: str
    option_values: dict[str, str]
    price_units: int
    currency: str
    available: int
    status: str
    product_status: str
    thumbnail_url: str


async def get_variants(deps: Deps, variant_ids: Sequence[str]) -> list[VariantDetails]:
    """The variants the catalog knows among `variant_ids`, in that order, whatever their status (one query for the
    owners, one load of their products)."""
    async with deps.sessions() as session:
        v = product_variants.c
        rows = await session.execute(select(v.id, v.product_id).where(v.id.in_(list(variant_ids))))
        owners = {variant_id: product_id for variant_id, product_id in rows.all()}
        products = await Products(session).many(sorted(set(owners.values())))
    found = []
    for variant_id in variant_ids:
        product = products.get(owners.get(variant_id, ""))
        if product is None:
            continue
        variant = product.variant(variant_id)
        found.append(
            VariantDetails(
                variant_id=variant.id,
                product_id=product.id,
                seller_id=product.seller_id,
                title=product.title,
                sku=variant.sku,
                option_values=dict(variant.option_values),
                price_units=product.unit_price(variant),
                currency=product.currency,
                available=max(variant.available, 0),
                status=variant.status,
                product_status=product.status,
                thumbnail_url=product.images[0].thumbnail_url if product.images else "",
            )
        )
    return found
