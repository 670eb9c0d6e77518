"""GetVariants: the current state of many variants at once, for services that price what buyers chose (the cart)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.catalog.handlers.deps import Deps
from services.catalog.store.products import Products


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
    """The variants the catalog knows among `variant_ids`, in that order, whatever their status: one statement
    (the cart prices every cart with this call, so it reads only the asked variants and their products' rows,
    never whole products)."""
    async with deps.reads() as session:
        rows = await Products(session).variant_details(variant_ids)
    by_id = {row.variant_id: row for row in rows}
    return [
        VariantDetails(
            variant_id=row.variant_id,
            product_id=row.product_id,
            seller_id=row.seller_id,
            title=row.title,
            sku=row.sku,
            option_values=dict(row.option_values),
            price_units=int(row.price_units),
            currency=row.currency,
            available=max(int(row.available), 0),
            status=row.status,
            product_status=row.product_status,
            thumbnail_url=row.thumbnail_url or "",
        )
        for variant_id in variant_ids
        if (row := by_id.get(variant_id)) is not None
    ]
