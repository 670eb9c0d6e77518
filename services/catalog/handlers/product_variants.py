"""A product's variants: the seller adds, changes and retires the forms a product is sold in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.catalog.domain import Caller, Product
from services.catalog.handlers.deps import Deps, require_own_product
from services.catalog.handlers.products import embedding_of, ensure_variant_skus_free, save_product
from services.catalog.store.products import Products
from services.catalog.variants import Variant, VariantSpec
from services.kit.ids import new_id


async def add_variant(deps: Deps, caller: Caller, product_id: str, spec: VariantSpec) -> tuple[Variant, Product]:
    async with deps.uow() as uow:
        products = Products(uow.session)
        product = await require_own_product(products, caller, product_id)
        variant = uow.track(product).add_variant(spec, new_id(), deps.clock())
        await ensure_variant_skus_free(products, product)
        # The variant's values are part of what search matches and embeds.
        await save_product(uow, products, product, embedding=await embedding_of(deps, product))
    return variant, product


async def update_variant(
    deps: Deps, caller: Caller, product_id: str, variant_id: str, changes: Mapping[str, Any]
) -> tuple[Variant, Product]:
    async with deps.uow() as uow:
        products = Products(uow.session)
        product = await require_own_product(products, caller, product_id)
        changed = uow.track(product).update_variant(variant_id, changes, deps.clock())
        if not changed:
            return product.variant(variant_id), product
        if "sku" in changed:
            await ensure_variant_skus_free(products, product)
        embedding = await embedding_of(deps, product) if "option_values" in changed else None
        await save_product(uow, products, product, embedding=embedding)
    return product.variant(variant_id), product


async def retire_variant(deps: Deps, caller: Caller, product_id: str, variant_id: str) -> Product:
    async with deps.uow() as uow:
        products = Products(uow.session)
        product = await require_own_product(products, caller, product_id)
        if uow.track(product).retire_variant(variant_id, deps.clock()):
            await save_product(uow, products, product, embedding=await embedding_of(deps, product))
    return product
