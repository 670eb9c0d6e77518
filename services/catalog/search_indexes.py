"""The search's in-process indexes and their upkeep: the vector index (each product's vector and filter fields),
the BM25F text index and the vocabulary of typo corrections, which ProductSearch (services/catalog/search.py)
ranks with.

They are filled by `load()` at start and kept fresh by `apply_event()`, a handler of the process's one tail of
`events.catalog` (services/kit/bus.py StreamTail: every catalog process sees every event and keeps its own
indexes). Why in process, and how this runs once a catalog outgrows one process's memory: docs/search.md.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.events.v1 import envelope_pb2, events_pb2
from services.catalog.embeddings import vector_from_bytes
from services.catalog.text_index import TextIndex
from services.catalog.vector_index import IndexedProduct, IndexedVariant, VectorIndex
from services.catalog.vocabulary import Vocabulary

log = logging.getLogger(__name__)

LOAD_PAGE_SIZE = 5000

# A product's ACTIVE variants as [id, option values lower-cased, units available] (the `options` filter's view);
# read only for products with options (the others' one default variant takes no values).
_PRODUCT_COLUMNS = """
    p.id, p.seller_id, p.category, p.price_units, p.currency, p.stock - p.reserved AS available, p.status,
    p.embedding, p.title, p.description, p.brand, lower(p.brand) AS brand_key, p.attributes, p.options,
    CASE WHEN jsonb_array_length(p.options) > 0 THEN (
        SELECT jsonb_agg(jsonb_build_array(v.id, v.option_key, v.stock - v.reserved) ORDER BY v.position)
        FROM product_variants AS v WHERE v.product_id = p.id AND v.status = 'ACTIVE'
    ) END AS variants
"""

_LOAD_SQL = f"""
    SELECT {_PRODUCT_COLUMNS} FROM products AS p
    WHERE p.id > :after AND p.status <> 'ARCHIVED' ORDER BY p.id LIMIT :limit
"""  # noqa: S608 - constant SQL

_ONE_SQL = f"SELECT {_PRODUCT_COLUMNS} FROM products AS p WHERE p.id = :id"  # noqa: S608 - constant SQL


class SearchIndexes:
    """The indexes one process searches with, shared by its ProductSearch (which reads them) and its tail of the
    catalog's events (which keeps them fresh). Changed in place, never replaced."""

    def __init__(self, vector_index: VectorIndex) -> None:
        self.vector_index: Final = vector_index
        self.text_index: Final = TextIndex()
        self.vocabulary: Final = Vocabulary()
        # Each product's indexed words: its text document's number and what it was made from.
        self._documents: dict[str, tuple[int, tuple[str, ...]]] = {}

    async def load(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        """Fills the index and the vocabulary with every product of the database, in pages."""
        after = ""
        count = 0
        while True:
            async with sessions() as session:
                rows = (await session.execute(text(_LOAD_SQL), {"after": after, "limit": LOAD_PAGE_SIZE})).all()
            if not rows:
                break
            await asyncio.to_thread(self._apply_rows, rows)
            count += len(rows)
            after = rows[-1].id
        await asyncio.to_thread(self.vector_index.fit_projection)
        log.info("search index loaded", extra={"fields": {"products": count, "indexed": len(self.vector_index)}})

    async def refresh_product(self, sessions: async_sessionmaker[AsyncSession], product_id: str) -> None:
        """Re-reads one product; a product that is gone or archived leaves the index."""
        async with sessions() as session:
            row = (await session.execute(text(_ONE_SQL), {"id": product_id})).first()
        if row is None or row.status == "ARCHIVED":
            self.forget_product(product_id)
        else:
            self._apply_rows([row])

    def forget_product(self, product_id: str) -> None:
        self.vector_index.remove(product_id)
        self.vocabulary.remove_product(product_id)
        document = self._documents.pop(product_id, None)
        if document is not None:
            self.text_index.remove(document[0])

    @staticmethod
    def _text_fields(row: Any) -> tuple[str, ...]:
        """The row's text in the text index's field order (text_index.FIELDS)."""
        attributes: Mapping[str, Any] = row.attributes or {}
        options: Sequence[Mapping[str, Any]] = row.options or ()
        option_values = " ".join(str(value) for option in options for value in option.get("values", ()))
        return (
            row.title,
            row.brand,
            row.category.replace("-", " "),
            option_values,
            " ".join(str(value) for value in attributes.values()),
            row.description,
        )

    def _index_words(self, rows: Sequence[Any]) -> None:
        """(Re)indexes the words of the rows whose text changed, in one batch."""
        changed = []
        for row in rows:
            fields = self._text_fields(row)
            known = self._documents.get(row.id)
            if known is not None and known[1] == fields:
                self.vector_index.set_text_document(row.id, known[0])
                continue
            changed.append((row.id, fields, known))
        names = ("title", "brand", "category", "options", "attributes", "description")
        numbers = self.text_index.add_many([dict(zip(names, fields, strict=True)) for _, fields, _ in changed])
        for (product_id, fields, known), number in zip(changed, numbers, strict=True):
            if known is not None:
                self.text_index.remove(known[0])
            self._documents[product_id] = (number, fields)
            self.vector_index.set_text_document(product_id, number)

    def _apply_rows(self, rows: Sequence[Any]) -> None:
        self._apply_filter_fields(rows)
        self._index_words(rows)

    def _apply_filter_fields(self, rows: Sequence[Any]) -> None:
        for row in rows:
            attributes: Mapping[str, str] = row.attributes or {}
            options: Sequence[Mapping[str, Any]] = row.options or ()
            product = IndexedProduct(
                product_id=row.id,
                category=row.category,
                seller_id=row.seller_id,
                price_units=row.price_units,
                stock=row.available,
                active=row.status == "ACTIVE",
                currency=row.currency,
                brand=row.brand_key,  # lower-cased as the SQL filter compares it
                attributes={str(key): str(value) for key, value in attributes.items()},
                variants=[
                    IndexedVariant(variant_id, {str(name): str(value) for name, value in values.items()}, available)
                    for variant_id, values, available in row.variants or ()
                ],
            )
            # Without an embedding, found by its words only until it has one.
            self.vector_index.upsert(product, None if row.embedding is None else vector_from_bytes(row.embedding))
            if product.active:
                texts = [row.title, row.brand, row.category, *(str(value) for value in attributes.values())]
                # Every declared option and value, as the search document holds them.
                for option in options:
                    texts += [str(option.get("name", "")), *(str(value) for value in option.get("values", ()))]
                self.vocabulary.set_product(row.id, texts)
            else:
                self.vocabulary.remove_product(row.id)

    async def apply_event(self, sessions: async_sessionmaker[AsyncSession], envelope: envelope_pb2.Envelope) -> None:
        """A `StreamTail` handler: brings the index and the vocabulary up to date with one catalog event."""
        try:
            kind = envelope.type
            if kind in (events_pb2.ProductCreated.DESCRIPTOR.full_name, events_pb2.ProductUpdated.DESCRIPTOR.full_name):
                await self.refresh_product(sessions, envelope.subject)
            elif kind == events_pb2.ProductDeleted.DESCRIPTOR.full_name:
                self.forget_product(envelope.subject)
            elif kind == events_pb2.StockChanged.DESCRIPTOR.full_name:
                changed = events_pb2.StockChanged()
                envelope.payload.Unpack(changed)
                product_id = changed.product_id or envelope.subject
                if changed.variant_id:
                    # `available` is the variant's; the product's total comes with it.
                    self.vector_index.update_stock(
                        product_id,
                        changed.product_available,
                        variant_id=changed.variant_id,
                        variant_available=changed.available,
                    )
                else:
                    # An event without a variant carries no product total (product_available has no presence
                    # of its own): the database says what is available.
                    await self.refresh_product(sessions, product_id)
        except Exception:
            # One bad event or a database hiccup must not stop the index from following the rest.
            log.exception("search index could not apply an event", extra={"fields": {"event_id": envelope.id}})
