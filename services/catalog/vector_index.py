"""An in-process index of product vectors for semantic search, with the browsing filters applied exactly; its
rows also rank the lexical search's scores (`rank_text`), so both searches filter through the same masks.

Brute force, in two passes. Scoring every full vector is memory-bound (100,000 × 384 float32 is 150 MB read
per query, about 20 ms on a 2-core machine), so once the index is large it also keeps every vector projected on
its REDUCED_DIMENSIONS principal components (fitted on the vectors themselves, 25 MB at 100,000): a coarse pass
scores the reduced vectors, and the best RESCORED candidates are then scored exactly on the full vectors. The
scores returned are always exact cosines; only recall is approximate (the true top ten are among the
candidates for practically every query: tests/catalog/test_vector_index.py checks ≥ 90 % top-10 overlap).
A narrow filter (few admitted rows) skips the coarse pass and scores its rows exactly.

The filters (category, seller, currency, price range, in stock, active, brand, attributes, options) are evaluated
on columns kept beside the vectors, before either pass, so a filter can never be violated. The options filter
looks at a table of the ACTIVE variants of products with options (one slot per variant: its product's row, its
option values, its units available), so "one variant takes every value asked for, and is in stock when stock is
asked for" holds as in SQL; a search with that filter reads the table (a few int32 arrays, only the variants of
products with options), like the attribute slots. The catalog fills the index from the database at start (then
fits the projection) and keeps it fresh from its product events; a new vector is projected with the current
projection, which is fitted again when the index has doubled since.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from services.catalog.domain import ACTIVE, INACTIVE
from services.catalog.embeddings import DIMENSIONS
from services.catalog.filters import ProductFilter
from services.kit.locks import ReadWriteLock

# The coarse pass: vectors projected on this many principal components (a fifth of the bytes of 384 float32).
REDUCED_DIMENSIONS = 64
# Below this many rows to score, exact scoring is as cheap as the coarse pass: no projection is used.
COARSE_PASS_FROM = 20_000
# At least this many coarse candidates (and RESCORE_FACTOR × the requested hits) are scored exactly.
RESCORED = 512
RESCORE_FACTOR = 16
# The projection is fitted on at most this many vectors (a random sample beyond): enough for 64 components.
FIT_SAMPLE = 20_000


@dataclass(frozen=True)
class IndexedVariant:
    """An ACTIVE variant taking option values, as the `options` filter looks at it."""

    variant_id: str
    # Lower-cased by the database (the variant's option_key), as the SQL filter compares them with a filter's
    # values lower-cased in Python.
    option_values: Mapping[str, str]
    available: int  # stock minus reserved


@dataclass(frozen=True)
class IndexedProduct:
    """What the index keeps of a product besides its vector: the fields filters look at."""

    product_id: str
    category: str
    seller_id: str
    price_units: int
    stock: int  # units buyers can still order (stock minus reserved): what "in stock" looks at
    active: bool
    currency: str = ""
    # Lower-cased by the database, as the SQL filters compare it (its lower() and Python's differ on a few
    # letters): a filter's brand, lower-cased in Python like ListProducts lowers it, must equal it.
    brand: str = ""
    attributes: Mapping[str, str] = field(default_factory=dict)
    # Its ACTIVE variants with option values; none for a product without options (its default variant takes
    # none, so no options filter admits it).
    variants: Sequence[IndexedVariant] = ()


class VectorIndex:
    """Thread-safe: searches run side by side in worker threads (a read lock) while events update the index
    (the write lock)."""

    def __init__(self, dimensions: int = DIMENSIONS, initial_capacity: int = 1024) -> None:
        self._dimensions = dimensions
        self._lock = ReadWriteLock()
        self._size = 0
        self._vectors = np.zeros((initial_capacity, dimensions), dtype=np.float32)
        # The coarse-pass state: `_reduced[i]` is `(_vectors[i] - _mean) @ _basis`; empty until fitted.
        self._reduced_dimensions = min(REDUCED_DIMENSIONS, dimensions)
        self._basis: npt.NDArray[np.float32] | None = None
        self._mean = np.zeros(dimensions, dtype=np.float32)
        self._reduced = np.zeros((initial_capacity, self._reduced_dimensions), dtype=np.float32)
        self._fitted_size = 0
        self._price = np.zeros(initial_capacity, dtype=np.int64)
        self._stock = np.zeros(initial_capacity, dtype=np.int64)
        self._active = np.zeros(initial_capacity, dtype=bool)
        self._category = np.zeros(initial_capacity, dtype=np.int32)
        self._seller = np.zeros(initial_capacity, dtype=np.int32)
        self._currency = np.zeros(initial_capacity, dtype=np.int32)
        self._brand = np.zeros(initial_capacity, dtype=np.int32)
        # Whether the row has its product's embedding (a product without one is found by words only), and its
        # document number in the text index (-1: none).
        self._has_vector = np.zeros(initial_capacity, dtype=bool)
        self._text_document = np.full(initial_capacity, -1, dtype=np.int64)
        # Each row's attribute pairs as codes (0: none), one slot each, as many slots as the product with the most
        # pairs has: `_attributes[slot, row]`. Slot-major, so a pair filter compares a few contiguous arrays
        # (40 times faster than a row-major `any`); about 0.4 MB per slot at 100,000 products.
        self._attributes = np.zeros((0, initial_capacity), dtype=np.int32)
        self._ids: list[str] = []
        self._row_of: dict[str, int] = {}
        # The variants table (see the module's doc), one slot per variant: `_variant_row[slot]` is its product's row
        # (-1: a free slot), `_variant_pairs[:, slot]` its (option, value) codes slot-major as for attributes,
        # `_variant_available[slot]` its units available. Freed slots are handed out again; a filter reads the
        # first `_variant_slots_used`. Products without options (most of a catalog) take no slot.
        self._variant_row = np.full(0, -1, dtype=np.int64)
        self._variant_pairs = np.zeros((0, 0), dtype=np.int32)
        self._variant_available = np.zeros(0, dtype=np.int64)
        self._variant_ids: list[str] = []  # by slot; "" for a free one
        self._slot_of_variant: dict[str, int] = {}
        self._slots_of_product: dict[str, list[int]] = {}
        self._free_variant_slots: list[int] = []
        self._variant_slots_used = 0
        # Categories, sellers, brands, currencies, attribute pairs and option pairs are stored as small integer codes
        # so filtering is a vector comparison; one table for all (strings and pair tuples never collide; an
        # attribute pair and an option pair may share a code, as they are compared in different arrays).
        self._codes: dict[str | tuple[str, str], int] = {}

    def __len__(self) -> int:
        return self._size

    def __contains__(self, product_id: object) -> bool:
        return product_id in self._row_of

    @property
    def projected(self) -> bool:
        """Whether searches make a coarse pass over reduced vectors first (a fitted projection exists)."""
        return self._basis is not None

    def _code(self, value: str | tuple[str, str]) -> int:
        code = self._codes.get(value)
        if code is None:
            code = len(self._codes) + 1
            self._codes[value] = code
        return code

    def _grow(self) -> None:
        capacity = max(1024, 2 * len(self._vectors))

        def grown(array: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
            bigger = np.zeros((capacity, *array.shape[1:]), dtype=array.dtype)
            bigger[: self._size] = array[: self._size]
            return bigger

        self._vectors = grown(self._vectors)  # type: ignore[assignment]
        self._reduced = grown(self._reduced)  # type: ignore[assignment]
        self._price = grown(self._price)  # type: ignore[assignment]
        self._stock = grown(self._stock)  # type: ignore[assignment]
        self._active = grown(self._active)  # type: ignore[assignment]
        self._category = grown(self._category)  # type: ignore[assignment]
        self._seller = grown(self._seller)  # type: ignore[assignment]
        self._currency = grown(self._currency)  # type: ignore[assignment]
        self._brand = grown(self._brand)  # type: ignore[assignment]
        self._has_vector = grown(self._has_vector)  # type: ignore[assignment]
        text_document = np.full(capacity, -1, dtype=np.int64)
        text_document[: self._size] = self._text_document[: self._size]
        self._text_document = text_document
        longer = np.zeros((len(self._attributes), capacity), dtype=np.int32)
        longer[:, : self._size] = self._attributes[:, : self._size]
        self._attributes = longer

    def _set_attributes(self, row: int, pairs: Mapping[str, str]) -> None:
        codes = [self._code(pair) for pair in pairs.items()]
        slots = len(self._attributes)
        if len(codes) > slots:
            more = np.zeros((len(codes), len(self._vectors)), dtype=np.int32)
            more[:slots] = self._attributes
            self._attributes = more
        self._attributes[:, row] = 0
        self._attributes[: len(codes), row] = codes

    def _variant_slots(self, count: int) -> list[int]:
        """`count` slots for new variants: freed ones first, then new ones (the arrays grown at most once)."""
        kept = max(len(self._free_variant_slots) - count, 0)
        reused = self._free_variant_slots[kept:]
        del self._free_variant_slots[kept:]
        first, needed = self._variant_slots_used, count - len(reused)
        if first + needed > len(self._variant_row):
            capacity = max(1024, 2 * len(self._variant_row), first + needed)
            row = np.full(capacity, -1, dtype=np.int64)
            row[:first] = self._variant_row[:first]
            pairs = np.zeros((len(self._variant_pairs), capacity), dtype=np.int32)
            pairs[:, :first] = self._variant_pairs[:, :first]
            available = np.zeros(capacity, dtype=np.int64)
            available[:first] = self._variant_available[:first]
            self._variant_row, self._variant_pairs, self._variant_available = row, pairs, available
        self._variant_slots_used += needed
        self._variant_ids += [""] * needed
        return [*reused, *range(first, first + needed)]

    def _free_variants(self, product_id: str) -> None:
        slots = self._slots_of_product.pop(product_id, None)
        if not slots:
            return
        for slot in slots:
            self._slot_of_variant.pop(self._variant_ids[slot], None)
            self._variant_ids[slot] = ""
        self._variant_row[slots] = -1
        self._variant_pairs[:, slots] = 0
        self._variant_available[slots] = 0
        self._free_variant_slots += slots

    def _set_variants(self, row: int, product_id: str, variants: Sequence[IndexedVariant]) -> None:
        self._free_variants(product_id)
        # A default variant takes no values: no options filter admits it, so it takes no slot.
        coded = [(variant, codes) for variant in variants if (codes := self._option_codes(variant))]
        if not coded:
            return
        most = max(len(codes) for _, codes in coded)
        if most > len(self._variant_pairs):
            wider = np.zeros((most, len(self._variant_row)), dtype=np.int32)
            wider[: len(self._variant_pairs)] = self._variant_pairs
            self._variant_pairs = wider
        slots = self._variant_slots(len(coded))
        width = len(self._variant_pairs)
        self._variant_pairs[:, slots] = np.array([codes + [0] * (width - len(codes)) for _, codes in coded]).T
        self._variant_row[slots] = row
        self._variant_available[slots] = [variant.available for variant, _ in coded]
        for slot, (variant, _) in zip(slots, coded, strict=True):
            self._variant_ids[slot] = variant.variant_id
            self._slot_of_variant[variant.variant_id] = slot
        self._slots_of_product[product_id] = slots

    def _option_codes(self, variant: IndexedVariant) -> list[int]:
        return [self._code(pair) for pair in variant.option_values.items()]

    def upsert(self, product: IndexedProduct, vector: npt.NDArray[np.float32] | None = None) -> None:
        """Adds or updates a product. Without a vector, only the filter fields of a known product change; a new
        product without one is found by words only until it has one."""
        with self._lock.write():
            row = self._row_of.get(product.product_id)
            if row is None:
                if self._size == len(self._vectors):
                    self._grow()
                row = self._size
                self._size += 1
                self._ids.append(product.product_id)
                self._row_of[product.product_id] = row
                self._vectors[row] = 0.0
                self._reduced[row] = 0.0
                self._has_vector[row] = False
                self._text_document[row] = -1
            if vector is not None:
                if vector.shape != (self._dimensions,):
                    raise ValueError(f"vector of shape {vector.shape}, expected ({self._dimensions},)")
                self._vectors[row] = vector
                self._has_vector[row] = True
                if self._basis is not None:
                    self._reduced[row] = (vector - self._mean) @ self._basis
            self._price[row] = product.price_units
            self._stock[row] = product.stock
            self._active[row] = product.active
            self._category[row] = self._code(product.category)
            self._seller[row] = self._code(product.seller_id)
            self._currency[row] = self._code(product.currency)
            self._brand[row] = self._code(product.brand)
            self._set_attributes(row, product.attributes)
            self._set_variants(row, product.product_id, product.variants)

    def update_stock(
        self, product_id: str, stock: int, *, variant_id: str = "", variant_available: int | None = None
    ) -> None:
        """The product's units available, and those of the variant whose stock changed when it is named."""
        with self._lock.write():
            row = self._row_of.get(product_id)
            if row is not None:
                self._stock[row] = stock
            slot = self._slot_of_variant.get(variant_id) if variant_id else None
            if slot is not None and variant_available is not None:
                self._variant_available[slot] = variant_available

    def remove(self, product_id: str) -> None:
        """Removes a product (no-op when absent); the last row moves into the hole."""
        with self._lock.write():
            row = self._row_of.pop(product_id, None)
            if row is None:
                return
            self._free_variants(product_id)
            last = self._size - 1
            if row != last:
                moved = self._ids[last]
                for array in (
                    self._vectors,
                    self._reduced,
                    self._price,
                    self._stock,
                    self._active,
                    self._category,
                    self._seller,
                    self._currency,
                    self._brand,
                    self._has_vector,
                    self._text_document,
                ):
                    array[row] = array[last]
                self._attributes[:, row] = self._attributes[:, last]
                self._ids[row] = moved
                self._row_of[moved] = row
                moved_slots = self._slots_of_product.get(moved)
                if moved_slots:
                    self._variant_row[moved_slots] = row
            self._ids.pop()
            self._size -= 1

    def _mask(self, where: ProductFilter) -> npt.NDArray[np.bool_]:
        size = self._size
        mask = np.ones(size, dtype=bool)
        # Only ACTIVE and INACTIVE products are indexed (an archived one leaves the index).
        wants_active, wants_inactive = ACTIVE in where.statuses, INACTIVE in where.statuses
        if not wants_inactive:
            mask &= self._active[:size]
        if not wants_active:
            mask &= ~self._active[:size]
        if where.in_stock_only:
            mask &= self._stock[:size] > 0
        if where.min_price_units is not None:
            mask &= self._price[:size] >= where.min_price_units
        if where.max_price_units is not None:
            mask &= self._price[:size] <= where.max_price_units
        if where.category is not None:
            mask &= self._category[:size] == self._codes.get(where.category, -1)
        if where.seller_id is not None:
            mask &= self._seller[:size] == self._codes.get(where.seller_id, -1)
        if where.currency is not None:
            mask &= self._currency[:size] == self._codes.get(where.currency, -1)
        if where.brand is not None:
            mask &= self._brand[:size] == self._codes.get(where.brand.lower(), -1)
        for pair in where.attributes.items():  # (key, value): the pair's code
            code = self._codes.get(pair)
            if code is None:
                return np.zeros(size, dtype=bool)  # no product has ever held this pair
            holding = np.zeros(size, dtype=bool)
            for slot in self._attributes:
                holding |= slot[:size] == code
            mask &= holding
        if where.options:
            mask &= self._offering(where.options, in_stock=where.in_stock_only)
        return mask

    def _offering(self, options: Mapping[str, str], *, in_stock: bool) -> npt.NDArray[np.bool_]:
        """The rows with an ACTIVE variant taking every one of `options` (in stock when `in_stock`)."""
        used = self._variant_slots_used
        taking = self._variant_row[:used] >= 0
        for name, value in options.items():
            # Lower-cased in Python, as the SQL filter lowers a filter's values.
            code = self._codes.get((name, value.lower()))
            if code is None:
                return np.zeros(self._size, dtype=bool)  # no variant has ever taken this value
            holding = np.zeros(used, dtype=bool)
            for slot in self._variant_pairs:
                holding |= slot[:used] == code
            taking &= holding
        if in_stock:
            taking &= self._variant_available[:used] > 0
        offering = np.zeros(self._size, dtype=bool)
        offering[self._variant_row[:used][taking]] = True
        return offering

    def fit_projection(self) -> None:
        """Fits the coarse pass's projection to the current vectors (a no-op while the index is small).

        Called after a bulk load; upserts call it again once the index has doubled since the last fit.
        Takes about 0.3 s at 100,000 vectors.
        """
        with self._lock.write():
            size = self._size
            if size < COARSE_PASS_FROM:
                return
            vectors = self._vectors[:size]
            if size > FIT_SAMPLE:
                sample = vectors[np.random.default_rng(size).choice(size, FIT_SAMPLE, replace=False)]
            else:
                sample = vectors
            mean = sample.mean(axis=0, dtype=np.float64)
            centred = (sample - mean).astype(np.float64)
            # The principal components are the top eigenvectors of the covariance (eigh sorts ascending).
            _, eigenvectors = np.linalg.eigh(centred.T @ centred)
            basis = eigenvectors[:, ::-1][:, : self._reduced_dimensions]
            self._mean = mean.astype(np.float32)
            self._basis = np.ascontiguousarray(basis, dtype=np.float32)
            self._reduced[:size] = (vectors - self._mean) @ self._basis
            self._fitted_size = size

    def search(
        self, query: npt.NDArray[np.float32], limit: int, where: ProductFilter | None = None
    ) -> list[tuple[str, float]]:
        """The `limit` products most similar to `query` (cosine, best first) among those `where` admits."""
        self._fit_if_grown()
        with self._lock.read():
            if self._size == 0 or limit <= 0:
                return []
            rows, scores = self._nearest(query.astype(np.float32), limit, self._mask(where or ProductFilter()))
            return [(self._ids[row], score) for row, score in zip(rows.tolist(), scores.tolist(), strict=True)]

    def hybrid_candidates(
        self,
        query: npt.NDArray[np.float32],
        document_scores: npt.NDArray[np.float32] | None,
        depth: int,
        where: ProductFilter | None = None,
    ) -> list[tuple[str, float, float, bool]]:
        """The union of the `depth` best products by words (`document_scores`; None: no words to rank by) and
        the `depth` nearest to `query`, among those `where` admits: (product id, cosine, text score, whether
        the nearest held it) each, for fusing. One pass under the lock, the filter worked out once."""
        self._fit_if_grown()
        with self._lock.read():
            if self._size == 0 or depth <= 0:
                return []
            query = query.astype(np.float32)
            mask = self._mask(where or ProductFilter())
            texts = (
                self._row_text_scores(self._text_document[: self._size], document_scores)
                if document_scores is not None
                else np.zeros(self._size, dtype=np.float32)
            )
            texts[~mask] = 0.0
            by_words = self._best_by_text(texts, depth) if document_scores is not None else []
            nearest, _ = self._nearest(query, depth, mask)
            meaning = set(nearest.tolist())
            rows = list(dict.fromkeys([row for row, _ in by_words] + nearest.tolist()))
            if not rows:
                return []
            at = np.asarray(rows, dtype=np.int64)
            cosines = np.where(self._has_vector[at], self._vectors[at] @ query, 0.0)
            return [
                (self._ids[row], float(cosine), float(texts[row]), row in meaning)
                for row, cosine in zip(rows, cosines.tolist(), strict=True)
            ]

    def _fit_if_grown(self) -> None:
        if self._size >= max(COARSE_PASS_FROM, 2 * self._fitted_size):
            self.fit_projection()  # a writer: before the read lock (a reader cannot take the write lock)

    def _nearest(
        self, query: npt.NDArray[np.float32], limit: int, mask: npt.NDArray[np.bool_]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """The rows (best first) and cosines of the `limit` nearest rows with a vector that `mask` admits."""
        mask = mask & self._has_vector[: self._size]
        candidates = np.flatnonzero(mask)
        if candidates.size == 0:
            return candidates, np.zeros(0, dtype=np.float32)
        rescored = max(RESCORED, RESCORE_FACTOR * limit)
        if self._basis is not None and candidates.size > max(rescored, COARSE_PASS_FROM):
            # Coarse pass over the reduced vectors; rows the filter rejects can never be picked.
            coarse = self._reduced[: self._size] @ (self._basis.T @ query)
            coarse[~mask] = -np.inf
            candidates = np.sort(np.argpartition(-coarse, rescored - 1)[:rescored])
            candidates = candidates[mask[candidates]]
            candidate_scores = self._vectors[candidates] @ query
        elif candidates.size < self._size // 2:
            # Exact scores of the admitted rows only: a narrow filter reads few vectors.
            candidate_scores = self._vectors[candidates] @ query
        else:
            candidate_scores = (self._vectors[: self._size] @ query)[candidates]
        if candidates.size > limit:
            top = np.argpartition(-candidate_scores, limit - 1)[:limit]
        else:
            top = np.arange(candidates.size)
        ordered = top[np.argsort(-candidate_scores[top], kind="stable")]
        return candidates[ordered], candidate_scores[ordered]

    def _best_by_text(self, scores: npt.NDArray[np.float32], limit: int) -> list[tuple[int, float]]:
        """The `limit` rows with the best scores above zero, best first, ties by product id."""
        candidates = np.flatnonzero(scores > 0)
        if candidates.size == 0:
            return []
        if candidates.size > limit:
            # Every candidate tied with the last one kept: ties are then broken by id, the same way on
            # every page of a search.
            last = np.partition(scores[candidates], candidates.size - limit)[candidates.size - limit]
            candidates = candidates[scores[candidates] >= last]
        found = [(int(row), float(scores[row])) for row in candidates]
        return sorted(found, key=lambda item: (-item[1], self._ids[item[0]]))[:limit]

    def set_text_document(self, product_id: str, document: int) -> None:
        """The product's document number in the text index (its words as `rank_text` scores them)."""
        with self._lock.write():
            row = self._row_of.get(product_id)
            if row is not None:
                self._text_document[row] = document

    def text_document(self, product_id: str) -> int:
        with self._lock.read():
            row = self._row_of.get(product_id)
            return -1 if row is None else int(self._text_document[row])

    @staticmethod
    def _row_text_scores(
        documents: npt.NDArray[np.int64], document_scores: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.float32]:
        """The scores of rows' text documents, a new array; 0 for a row without a document (or one beyond the
        scores). Gathered in place: appending a zero to pick for those copied every score once more."""
        known = (documents >= 0) & (documents < document_scores.size)
        if known.all():
            return document_scores[documents]
        if document_scores.size == 0:
            return np.zeros(documents.size, dtype=np.float32)
        return np.where(known, document_scores.take(documents, mode="clip"), np.float32(0.0))

    def rank_text(
        self, document_scores: npt.NDArray[np.float32], limit: int, where: ProductFilter | None = None
    ) -> list[tuple[str, float]]:
        """The `limit` best products by their text documents' scores (by document number; above zero only)
        among those `where` admits, best first; ties by product id."""
        with self._lock.read():
            if self._size == 0 or limit <= 0:
                return []
            scores = self._row_text_scores(self._text_document[: self._size], document_scores)
            scores[~self._mask(where or ProductFilter())] = 0.0
            return [(self._ids[row], score) for row, score in self._best_by_text(scores, limit)]
