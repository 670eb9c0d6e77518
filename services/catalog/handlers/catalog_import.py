"""Importing a seller's catalog: products upserted by SKU in batches, through the same domain, store, unit of
work and events as CreateProduct and UpdateProduct.

A new SKU becomes a product as CreateProduct makes one; a known SKU gets the file's catalog fields as
UpdateProduct would set them (an entry that changes nothing writes and emits nothing). Stock is taken from the
file only when a product is created: afterwards it belongs to AdjustStock and to orders, so importing a file
again never undoes sales. Each batch is one transaction, its rows locked, so a concurrent UpdateProduct or
order waits for the batch and then sees it. Embeddings are computed per batch (the model is far faster on many
texts at once), only for products whose text is new or changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from services.catalog import domain
from services.catalog.domain import Caller, Product
from services.catalog.handlers.deps import Deps
from services.catalog.handlers.products import NewProduct, require_seller
from services.catalog.search import ProductSearch
from services.catalog.store import Products
from services.kit.errors import FailedPrecondition
from services.kit.ids import new_id

IMPORT_BATCH_SIZE = 200


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[tuple[NewProduct, str]] = field(default_factory=list)  # valid entries still not written, and why


def _changes(entry: NewProduct) -> dict[str, Any]:
    """The fields an import sets on an existing product (not stock: see the module's docstring)."""
    return {
        "title": entry.title,
        "description": entry.description,
        "category": entry.category,
        "brand": entry.brand,
        "attributes": entry.attributes,
        "price": (entry.price_units, entry.currency),
    }


async def import_products(deps: Deps, caller: Caller, entries: Sequence[NewProduct]) -> ImportSummary:
    """Upserts `entries` (distinct SKUs, each valid by the contract's CreateProduct rules) as the caller's."""
    seller_id = require_seller(caller)
    summary = ImportSummary()
    for start in range(0, len(entries), IMPORT_BATCH_SIZE):
        await _import_batch(deps, seller_id, entries[start : start + IMPORT_BATCH_SIZE], summary)
    return summary


async def _import_batch(deps: Deps, seller_id: str, batch: Sequence[NewProduct], summary: ImportSummary) -> None:
    now = deps.clock()
    async with deps.uow() as uow:
        products = Products(uow.session)
        existing = await products.by_skus(seller_id, [entry.sku for entry in batch], for_update=True)
        created: list[Product] = []
        updated: list[tuple[Product, list[str]]] = []
        for entry in batch:
            product = existing.get(entry.sku)
            if product is None:
                created.append(entry.new_product(product_id=new_id(), seller_id=seller_id, now=now))
                continue
            try:
                changed = product.update(_changes(entry), now)
            except FailedPrecondition as refused:  # e.g. an archived product: it stays archived
                summary.skipped.append((entry, str(refused)))
                continue
            if changed:
                updated.append((product, changed))
            else:
                summary.unchanged += 1
        needs_vector = created + [product for product, changed in updated if domain.TEXT_FIELDS.intersection(changed)]
        vectors = dict(
            zip(
                (product.id for product in needs_vector),
                await deps.search.embed_documents([ProductSearch.product_text(p) for p in needs_vector]),
                strict=True,
            )
        )
        for product in created:
            await products.add(uow.track(product), request_id=None, embedding=vectors[product.id])
        for product, _ in updated:
            await products.save(uow.track(product), embedding=vectors.get(product.id))
        await uow.commit()
    summary.created += len(created)
    summary.updated += len(updated)


async def seller_has_products(deps: Deps, caller: Caller) -> bool:
    """Whether the caller has any product, archived ones included (the demo load runs once)."""
    async with deps.sessions() as session:
        return await Products(session).seller_has_any(require_seller(caller))
