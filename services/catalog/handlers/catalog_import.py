"""Importing a seller's catalog: products upserted by SKU in batches, through the same domain, store, unit of
work and events as CreateProduct, UpdateProduct and AddProductVariant.

A new SKU becomes a product as CreateProduct makes one (its variants included). A known SKU gets from the entry:
- the catalog fields (title, description, category, brand, attributes, price) as UpdateProduct would set them;
- when the entry lists options: the option list, replaced as UpdateProduct with `options` replaces it (values
  added or reordered; a new option gives every variant its first value; a value a live variant still takes
  cannot be removed, so such an entry is skipped), and then its variants:
  - listed variants are matched by SKU: one the product has gets the entry's values and own price, one it lacks
    is added with its values, price and stock (as AddProductVariant adds one);
  - without listed variants, every combination of the values the product does not offer yet is added, with the
    product's price, the entry's stock and a SKU made from the product's SKU and the values.
  Variants the entry does not name are left as they are, and a retired variant stays retired (both change
  through UpdateProductVariant and DeleteProductVariant). A product sold in one form that gains options keeps
  its variant, which takes the options' first values; list its SKU among the variants to give it others.
An entry without options leaves the product's options and variants alone. Stock is taken from the file only
when a product or variant is created: afterwards it belongs to AdjustStock and to orders, so importing a file
again never undoes sales. So an entry that matches its product changes nothing, writes nothing and emits
nothing; an entry the domain refuses for its product (an archived product, a removed value still in use, a
variant SKU another product of the seller has) is skipped and reported, and the rest of the batch is written.

Each batch is one transaction, its rows locked, so a concurrent UpdateProduct or order waits for the batch and
then sees it. Embeddings are computed per batch (the model is far faster on many texts at once), only for
products whose search text is new or changed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.catalog import variants
from services.catalog.domain import Caller, Product
from services.catalog.handlers.deps import Deps
from services.catalog.handlers.products import NewProduct, require_seller
from services.catalog.search import ProductSearch
from services.catalog.store.products import Products
from services.catalog.variants import Variant, VariantSpec
from services.kit.errors import AlreadyExists, FailedPrecondition
from services.kit.ids import new_id

IMPORT_BATCH_SIZE = 200
# Variant SKUs looked up per query: well under PostgreSQL's limit of bind parameters in one statement.
SKU_LOOKUP_CHUNK = 5000


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[tuple[NewProduct, str]] = field(default_factory=list)  # valid entries still not written, and why


def _changes(entry: NewProduct) -> dict[str, Any]:
    """The fields an import sets on an existing product (not stock: see the module's docstring)."""
    changes: dict[str, Any] = {
        "title": entry.title,
        "description": entry.description,
        "category": entry.category,
        "brand": entry.brand,
        "attributes": entry.attributes,
        "price": (entry.price_units, entry.currency),
    }
    if entry.options:
        changes["options"] = list(entry.options)
    return changes


def _apply_variants(product: Product, entry: NewProduct, now: datetime) -> None:
    """The entry's variants on an existing product whose options are already the entry's."""
    if not entry.options:
        return
    if entry.variants:
        by_sku = {variant.sku: variant for variant in product.variants}
        # The variants the product has first: a value one of them gives up may be what a new one takes.
        for spec in entry.variants:
            known = by_sku.get(spec.sku)
            if known is not None and known.live:
                product.update_variant(
                    known.id, {"option_values": dict(spec.option_values), "price": spec.own_price_units}, now
                )
        for spec in entry.variants:
            if spec.sku not in by_sku:
                product.add_variant(spec, new_id(), now)
        return
    # Retired variants count as offered: a combination the seller retired is not brought back.
    offered = {variant.key(product.options) for variant in product.variants}
    taken = {variant.sku.upper() for variant in product.variants}
    for values in variants.combinations(product.options):
        if tuple(values.values()) in offered:
            continue
        sku = variants.variant_sku(product.sku, values, taken)
        product.add_variant(VariantSpec(sku=sku, option_values=values, stock=entry.stock), new_id(), now)


def _update(product: Product, entry: NewProduct, now: datetime) -> bool:
    """Applies the entry to its existing product; whether anything changed. Refusals leave `product` unsaved."""
    version = product.version
    product.update(_changes(entry), now)
    _apply_variants(product, entry, now)
    return product.version != version


async def import_products(deps: Deps, caller: Caller, entries: Sequence[NewProduct]) -> ImportSummary:
    """Upserts `entries` (distinct SKUs, each valid by the contract's CreateProduct rules) as the caller's."""
    seller_id = require_seller(caller)
    summary = ImportSummary()
    for start in range(0, len(entries), IMPORT_BATCH_SIZE):
        await _import_batch(deps, seller_id, entries[start : start + IMPORT_BATCH_SIZE], summary)
    return summary


@dataclass
class _Write:
    """A product the batch writes: created, or changed by its entry."""

    entry: NewProduct
    product: Product
    created: bool
    # Before the entry was applied: the variants the product had, and its search text.
    known_variant_ids: frozenset[str] = frozenset()
    text_before: str = ""

    @property
    def new_variants(self) -> list[Variant]:
        return [variant for variant in self.product.variants if variant.id not in self.known_variant_ids]

    @property
    def text_changed(self) -> bool:
        return self.created or ProductSearch.product_text(self.product) != self.text_before


async def _import_batch(deps: Deps, seller_id: str, batch: Sequence[NewProduct], summary: ImportSummary) -> None:
    now = deps.clock()
    async with deps.uow() as uow:
        products = Products(uow.session)
        existing = await products.by_skus(seller_id, [entry.sku for entry in batch], for_update=True)
        writes: list[_Write] = []
        for entry in batch:
            product = existing.get(entry.sku)
            try:
                if product is None:
                    product = entry.new_product(product_id=new_id(), seller_id=seller_id, now=now)
                    writes.append(_Write(entry, product, created=True))
                    continue
                known = frozenset(variant.id for variant in product.variants)
                text_before = ProductSearch.product_text(product)
                if _update(product, entry, now):
                    writes.append(
                        _Write(entry, product, created=False, known_variant_ids=known, text_before=text_before)
                    )
                else:
                    summary.unchanged += 1
            except (FailedPrecondition, AlreadyExists) as refused:  # e.g. an archived product: it stays archived
                summary.skipped.append((entry, str(refused)))
        writes = await _without_taken_skus(products, seller_id, writes, summary)
        needs_vector = [write.product for write in writes if write.text_changed]
        vectors = dict(
            zip(
                (product.id for product in needs_vector),
                await deps.search.embed_documents([ProductSearch.product_text(p) for p in needs_vector]),
                strict=True,
            )
        )
        for write in writes:
            if write.created:
                await products.add(uow.track(write.product), request_id=None, embedding=vectors[write.product.id])
            else:
                await products.save(uow.track(write.product), embedding=vectors.get(write.product.id))
        await uow.commit()
    summary.created += sum(1 for write in writes if write.created)
    summary.updated += sum(1 for write in writes if not write.created)


async def _without_taken_skus(
    products: Products, seller_id: str, writes: list[_Write], summary: ImportSummary
) -> list[_Write]:
    """The writes whose new variants take no SKU another variant of the seller has (in this batch or stored);
    the others are skipped and reported (the file's own SKUs were checked when it was read)."""
    in_batch = Counter(variant.sku for write in writes for variant in write.product.variants)
    clashing = {sku for write in writes for sku in _skus(write.new_variants) if in_batch[sku] > 1}
    new = [variant for write in writes for variant in write.new_variants if variant.sku not in clashing]
    for start in range(0, len(new), SKU_LOOKUP_CHUNK):
        clashing.update(await products.variant_skus_taken(seller_id, new[start : start + SKU_LOOKUP_CHUNK]))
    kept: list[_Write] = []
    for write in writes:
        taken = sorted(set(_skus(write.new_variants)) & clashing)
        if taken:
            summary.skipped.append((write.entry, f"the seller already has a variant with the SKU {', '.join(taken)}"))
        else:
            kept.append(write)
    return kept


def _skus(given: Sequence[Variant]) -> list[str]:
    return [variant.sku for variant in given]


async def seller_has_products(deps: Deps, caller: Caller) -> bool:
    """Whether the caller has any product, archived ones included (the demo load runs once)."""
    async with deps.sessions() as session:
        return await Products(session).seller_has_any(require_seller(caller))
