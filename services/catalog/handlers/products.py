"""Products: create, read, change, archive, and adjust stock (the seller's writes and everyone's reads)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from services.catalog import domain
from services.catalog.domain import Caller, Product
from services.catalog.handlers.deps import Deps, require_own_product, require_product
from services.catalog.handlers.product_images import remove_image_files
from services.catalog.search import ProductSearch
from services.catalog.store.products import Products
from services.catalog.store.tables import SKU_CONSTRAINT, VARIANT_SKU_CONSTRAINT
from services.catalog.variants import ProductOption, VariantSpec
from services.kit.errors import AlreadyExists, FieldViolation, InvalidArgument
from services.kit.ids import new_id
from services.kit.uow import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewProduct:
    sku: str
    title: str
    description: str
    category: str
    brand: str
    attributes: Mapping[str, str]
    price_units: int
    currency: str
    stock: int
    options: Sequence[ProductOption] = ()
    # Empty: the variants the options make (every combination), or the default variant without options.
    variants: Sequence[VariantSpec] = ()

    def new_product(self, *, product_id: str, seller_id: str, now: datetime) -> Product:
        """The product these values make (only this class's fields: a subclass may carry more, e.g. a line)."""
        values = {item.name: getattr(self, item.name) for item in fields(NewProduct)}
        values["variant_specs"] = values.pop("variants")
        return Product.create(id=product_id, seller_id=seller_id, now=now, new_id=new_id, **values)


def _sku_taken(sku: str) -> AlreadyExists:
    return AlreadyExists("the seller already has a product with this SKU", reason="SKU_TAKEN", metadata={"sku": sku})


def _variant_sku_taken(sku: str) -> AlreadyExists:
    return AlreadyExists("the seller already has a variant with this SKU", reason="SKU_TAKEN", metadata={"sku": sku})


async def ensure_variant_skus_free(products: Products, product: Product) -> None:
    taken = await products.variant_skus_taken(product.seller_id, product.variants)
    if taken:
        raise _variant_sku_taken(taken[0])


def taken_sku_of(error: IntegrityError, product: Product) -> AlreadyExists | None:
    """The SKU_TAKEN error a unique violation of a concurrent writer means, if it is one."""
    if SKU_CONSTRAINT in str(error.orig):
        return _sku_taken(product.sku)
    if VARIANT_SKU_CONSTRAINT in str(error.orig):
        return AlreadyExists("the seller already has a variant with one of these SKUs", reason="SKU_TAKEN")
    return None


async def embedding_of(deps: Deps, product: Product) -> bytes:
    return await deps.search.embed_document(ProductSearch.product_text(product))


def require_seller(caller: Caller) -> str:
    """The caller's user id: only a user (a seller, or an admin) owns products."""
    if caller.user_id is None:
        raise InvalidArgument("a product needs a seller", violations=[FieldViolation("product", "no seller")])
    return caller.user_id


async def create_product(deps: Deps, caller: Caller, new: NewProduct, *, request_id: str = "") -> Product:
    seller_id = require_seller(caller)
    if request_id:
        async with deps.sessions() as session:
            earlier = await Products(session).by_request(seller_id, request_id)
        if earlier is not None:
            return earlier
    now = deps.clock()
    product = new.new_product(product_id=new_id(), seller_id=seller_id, now=now)
    embedding = await embedding_of(deps, product)
    try:
        async with deps.uow() as uow:
            products = Products(uow.session)
            if await products.sku_taken(seller_id, product.sku):
                raise _sku_taken(product.sku)
            await ensure_variant_skus_free(products, product)
            await products.add(uow.track(product), request_id=request_id or None, embedding=embedding)
            await uow.commit()
    except IntegrityError as error:
        # A concurrent twin won the race: the same request (return its product) or the same SKU.
        taken = taken_sku_of(error, product)
        if taken is not None:
            raise taken from None
        if request_id:
            async with deps.sessions() as session:
                earlier = await Products(session).by_request(seller_id, request_id)
            if earlier is not None:
                return earlier
        raise
    return product


async def get_product(deps: Deps, caller: Caller, product_id: str) -> Product:
    async with deps.sessions() as session:
        product = await require_product(Products(session), product_id)
    product.ensure_visible_to(caller)
    return product


async def update_product(deps: Deps, caller: Caller, product_id: str, changes: Mapping[str, Any]) -> Product:
    async with deps.uow() as uow:
        products = Products(uow.session)
        product = await require_own_product(products, caller, product_id)
        changed = uow.track(product).update(changes, deps.clock())
        if not changed:
            return product
        if "sku" in changed:
            if await products.sku_taken(product.seller_id, product.sku, other_than=product.id):
                raise _sku_taken(product.sku)
            await ensure_variant_skus_free(products, product)
        embedding = await embedding_of(deps, product) if domain.TEXT_FIELDS.intersection(changed) else None
        await save_product(uow, products, product, embedding=embedding)
    return product


async def save_product(uow: UnitOfWork, products: Products, product: Product, *, embedding: bytes | None) -> None:
    """Writes a changed product and commits; a concurrent writer's SKU is SKU_TAKEN."""
    try:
        await products.save(product, embedding=embedding)
        await uow.commit()
    except IntegrityError as error:
        taken = taken_sku_of(error, product)
        if taken is not None:
            raise taken from None
        raise


async def delete_product(deps: Deps, caller: Caller, product_id: str) -> Product:
    async with deps.uow() as uow:
        products = Products(uow.session)
        product = await require_own_product(products, caller, product_id)
        removed = list(product.images)
        if uow.track(product).archive(deps.clock()):
            await products.save(product)
        await products.delete_images(product.id)
        product.images = []
        await uow.commit()
    await remove_image_files(deps, removed)
    return product


async def adjust_stock(
    deps: Deps, caller: Caller, product_id: str, delta: int, reason: str, *, variant_id: str = ""
) -> Product:
    async with deps.uow() as uow:
        products = Products(uow.session)
        product = await require_own_product(products, caller, product_id)
        variant = uow.track(product).adjust_stock(
            delta, deps.clock(), low_stock_threshold=deps.low_stock_threshold, variant_id=variant_id
        )
        await products.save(product)
        await uow.commit()
    log.info(
        "stock adjusted",
        extra={"fields": {"product_id": product_id, "variant_id": variant.id, "delta": delta, "reason": reason}},
    )
    return product
