"""SearchProducts' engine: lexical, semantic and hybrid search over the catalog, with typo tolerance.

- Lexical: BM25F over the products' fields (services/catalog/text_index.py: title, brand, category, option
  values, attribute values, description, each with its weight), in process. Every query word counts by how rare
  it is, so a long request in everyday words ranks the product matching its telling words first, and a
  product matching only part of it is ranked, not dropped. A word the catalog does not hold is replaced by its
  closest catalog words (trigram similarity, services/catalog/vocabulary.py: "hedphones" finds "headphones"),
  and the last word also matches as a prefix (so "headph" matches as it is typed).
- Semantic: the query's embedding (all-MiniLM-L6-v2, services/catalog/embeddings.py; cached, so a repeated
  query costs no inference) against the in-process VectorIndex.
- Hybrid (the default): calibrated score fusion of the two lists. Each candidate of either list gets both of
  its scores: the lexical one as the share of the query it covers (its BM25F score over that of a product
  holding every query word, 0 to 1) and its cosine with the query; the fused score is
  FUSION_LEXICAL_WEIGHT * coverage + (1 - FUSION_LEXICAL_WEIGHT) * cosine. Rank fusion (RRF) was measured
  first: it ranks a strong lexical match and a weak one the same when they share a rank, and pulled hybrid
  below its own lexical list (bench/README.md, "Search relevance").

Both searches filter through the VectorIndex's masks (its rows hold the filter fields and each product's text
document number), and the hits of the page are checked once more against the database with the filters, so a
filter is never violated even if the in-process indexes lag an event behind; `matched_fields` names the product
fields that contain a query word or one of its corrections (as PostgreSQL's english text search matches
them), plus "semantic" for a hit found by meaning. That check is one statement (services/catalog/search_page.py),
which for SearchProducts also reads the page's products with their images and variants.

The indexes and the vocabulary it ranks with are services/catalog/search_indexes.py's (filled at start, kept
fresh by the catalog's events). Why in process and not PostgreSQL's ranking, and how this runs once a catalog
outgrows one process's memory: docs/search.md.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.domain import Product
from services.catalog.embeddings import TextEmbedder, Vectors, vector_bytes
from services.catalog.filters import ProductFilter
from services.catalog.search_indexes import SearchIndexes
from services.catalog.search_page import ProductPage as ProductPage  # re-exported: the engine's results
from services.catalog.search_page import SearchHit as SearchHit
from services.catalog.search_page import finish_page
from services.catalog.text_index import QueryTerm
from services.catalog.vocabulary import words_of

LEXICAL = "lexical"
SEMANTIC = "semantic"
HYBRID = "hybrid"
MODES = (LEXICAL, SEMANTIC, HYBRID)

# Hybrid fusion: the lexical coverage's weight; the cosine has the rest. Chosen on the relevance benchmarks
# (bench/README.md, "Search relevance").
FUSION_LEXICAL_WEIGHT = 0.7
# How deep each list of a hybrid search reaches before fusion: the same depth for every page up to it, so
# the fused order, and with it the pages, do not shift as a caller pages on (a depth that grew with the
# offset would move products between pages). Deeper pages use the next tier (twice as deep).
FUSION_DEPTH = 100


def fusion_depth(hits_needed: int) -> int:
    """The depth tier that holds the first `hits_needed` fused hits."""
    depth = FUSION_DEPTH
    while depth < hits_needed:
        depth *= 2
    return depth


QUERY_CACHE_SIZE = 512
# Words shorter than this are matched whole, not as prefixes ("go" must not match "gooseneck").
MIN_PREFIX_LENGTH = 3
# A word's corrections and a typed prefix's completions count less than a word the catalog holds.
CORRECTION_WEIGHT = 0.8
PREFIX_WEIGHT = 0.6
PREFIX_COMPLETIONS = 8


@dataclass(frozen=True)
class _Terms:
    """A query as each search reads it."""

    raw: str
    loose: str  # PostgreSQL's to_tsquery text of every word and correction, OR-ed: which fields matched
    meaning: str  # what the embedding is computed from: the query with each unknown word's best correction
    lexical: tuple[QueryTerm, ...]  # the text index's terms

    @property
    def empty(self) -> bool:
        return not self.loose


class ProductSearch:
    """The catalog's search engine: the queries, ranked with the process's SearchIndexes."""

    def __init__(
        self, embedder: TextEmbedder, indexes: SearchIndexes, *, lexical_weight: float = FUSION_LEXICAL_WEIGHT
    ) -> None:
        self._embedder = embedder
        self._lexical_weight = lexical_weight
        # The same objects the event tail keeps fresh (in place: SearchIndexes never replaces them).
        self._index = indexes.vector_index
        self._text = indexes.text_index
        self._vocabulary = indexes.vocabulary
        self._query_vectors: OrderedDict[str, Vectors] = OrderedDict()
        self._cache_lock = threading.Lock()

    # --- documents ------------------------------------------------------------------------------------------

    @staticmethod
    def document_text(title: str, description: str, brand: str, category: str, attributes: Mapping[str, str]) -> str:
        """The text a product's embedding is computed from."""
        details = "; ".join(f"{key.replace('_', ' ')}: {value}" for key, value in sorted(attributes.items()))
        parts = [title, f"{brand} {category.replace('-', ' ')}".strip(), description, details]
        return ". ".join(part for part in parts if part)

    @staticmethod
    def product_text(product: Product) -> str:
        # The options with the values live variants take, e.g. "size: 40, 41; color: navy", like attributes.
        offered = {
            option.name: ", ".join(
                value
                for value in option.values
                if any(v.option_values.get(option.name) == value for v in product.live_variants)
            )
            for option in product.options
        }
        details = {**product.attributes, **{name: values for name, values in offered.items() if values}}
        return ProductSearch.document_text(product.title, product.description, product.brand, product.category, details)

    async def embed_documents(self, texts: Sequence[str]) -> list[bytes]:
        """`embed_document` of many texts at once (batched inference: a bulk import's speed)."""
        if not texts:
            return []
        vectors = await asyncio.to_thread(self._embedder.embed, texts)
        return [vector_bytes(vector) for vector in vectors]

    async def embed_document(self, text: str) -> bytes:
        """The vector of `text` as stored in `products.embedding`: 384 little-endian float32 (1536 bytes)."""
        vector = await asyncio.to_thread(self._embedder.embed_one, text)
        return vector_bytes(vector)

    # --- searching ------------------------------------------------------------------------------------------

    async def search(
        self,
        session: AsyncSession,
        *,
        query: str,
        mode: str = HYBRID,
        filter: ProductFilter,
        limit: int,
        offset: int,
    ) -> list[SearchHit]:
        """One page of hits for `query`, best first. Never fails on odd input: garbage finds nothing."""
        terms, page = await self._rank(query, mode, filter, limit, offset)
        found = await finish_page(session, terms.raw, terms.loose, filter, page, with_products=False)
        return [hit for hit, _ in found]

    async def search_products(
        self,
        session: AsyncSession,
        *,
        query: str,
        mode: str = HYBRID,
        filter: ProductFilter,
        limit: int,
        offset: int,
    ) -> ProductPage:
        """`search` with each hit's product, read by the same statement that re-checks the page (one round
        trip to the database for the whole page). A session not yet in a transaction runs it outside one."""
        terms, page = await self._rank(query, mode, filter, limit, offset)
        if page and not session.in_transaction():
            # The page is one statement, which sees one snapshot by itself: no BEGIN and ROLLBACK round trips.
            # Asked for only now: the session takes its connection from the pool here, not during the ranking.
            await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        found = await finish_page(session, terms.raw, terms.loose, filter, page, with_products=True)
        return ProductPage([(hit, product) for hit, product in found if product is not None], terms.meaning)

    async def _rank(
        self, query: str, mode: str, filter: ProductFilter, limit: int, offset: int
    ) -> tuple[_Terms, list[tuple[str, float, bool]]]:
        """The page's (product id, score, whether meaning found it), best first, from the in-process indexes."""
        if mode not in MODES:
            raise ValueError(f"unknown search mode {mode!r}")
        limit, offset = max(limit, 0), max(offset, 0)
        terms = self._terms(query)
        if limit == 0 or (terms.empty and not query.strip()):
            return terms, []
        if mode == LEXICAL:
            ranked = await asyncio.to_thread(self._lexical, terms, filter, limit + offset)
            return terms, [(product_id, rank, False) for product_id, rank in ranked[offset:]]
        if mode == SEMANTIC:
            found = await self._semantic(terms.meaning, filter, limit + offset)
            return terms, [(product_id, score, True) for product_id, score in found[offset:]]
        vector = await self._query_vector(terms.meaning)
        fused = await asyncio.to_thread(self._hybrid, terms, vector, filter, fusion_depth(limit + offset))
        return terms, fused[offset : offset + limit]

    def with_corrections(self, query: str) -> str:
        """The query followed by the best correction of each word the catalog does not hold (what a search for
        it matches), e.g. "nvy tee" -> "nvy tee navy"."""
        return self._terms(query).meaning

    def _terms(self, query: str) -> _Terms:
        alternatives: list[str] = []
        seen: set[str] = set()
        meaning = query
        words = list(dict.fromkeys(words_of(query)))
        for position, word in enumerate(words, start=1):
            corrections = self._vocabulary.corrections(word)
            if corrections:
                # Kept beside the typo: the model reads "hedphones headphones" as headphones.
                meaning = f"{meaning} {corrections[0]}"
            typing = position == len(words) and len(word) >= MIN_PREFIX_LENGTH and word not in self._vocabulary
            for form in (f"{word}:*" if typing else word, *corrections):
                if form not in seen:
                    seen.add(form)
                    alternatives.append(form)
        return _Terms(raw=query, loose=" | ".join(alternatives), meaning=meaning, lexical=self._lexical_terms(query))

    def _lexical_terms(self, query: str) -> tuple[QueryTerm, ...]:
        """The text index's terms of a query: each word's stem when the catalog holds it, otherwise its
        corrections; the last word also as the prefix of the catalog's words while it is being typed."""
        analyzer = self._text.analyzer
        words = analyzer.words(query)
        terms: list[QueryTerm] = []
        for position, (word, stem) in enumerate(zip(words, analyzer.stems(words), strict=True), start=1):
            if stem in self._text:
                terms.append(QueryTerm(stem, 1.0))
                continue
            found = len(terms)
            for correction in self._vocabulary.corrections(word)[:2]:
                terms += [QueryTerm(term, CORRECTION_WEIGHT) for term in analyzer.terms(correction)]
            if position == len(words) and len(word) >= MIN_PREFIX_LENGTH:
                completions = self._text.with_prefix(word, PREFIX_COMPLETIONS)
                terms += [QueryTerm(term, PREFIX_WEIGHT) for term in completions]
            if len(terms) == found:
                # Matches nothing, yet part of the request: it lowers every product's coverage (`ideal`), so
                # meaning weighs more in a hybrid search for words the catalog does not use.
                terms.append(QueryTerm(stem, 1.0))
        return tuple(terms)

    def _lexical(self, terms: _Terms, where: ProductFilter, limit: int) -> list[tuple[str, float]]:
        """The best `limit` products by BM25F, scored by the share of the query they cover (0 to 1)."""
        if not terms.lexical:
            return []
        document_scores, ideal = self._text.score_and_ideal(terms.lexical)
        ideal = ideal or 1.0
        ranked = self._index.rank_text(document_scores, limit, where)
        return [(product_id, score / ideal) for product_id, score in ranked]

    def _hybrid(
        self, terms: _Terms, vector: Vectors, where: ProductFilter, depth: int
    ) -> list[tuple[str, float, bool]]:
        """The union of both lists (each `depth` deep), every candidate scored by both searches and fused:
        (product id, fused score, whether meaning found it), best first, ties by id."""
        document_scores, ideal = self._text.score_and_ideal(terms.lexical) if terms.lexical else (None, 0.0)
        ideal = ideal or 1.0
        fused = [
            (
                product_id,
                self._lexical_weight * text / ideal + (1 - self._lexical_weight) * max(cosine, 0.0),
                by_meaning,
            )
            for product_id, cosine, text, by_meaning in self._index.hybrid_candidates(
                vector, document_scores, depth, where
            )
        ]
        return sorted(fused, key=lambda item: (-item[1], item[0]))[:depth]

    async def _semantic(self, query: str, where: ProductFilter, limit: int) -> list[tuple[str, float]]:
        vector = await self._query_vector(query)
        return await asyncio.to_thread(self._index.search, vector, limit, where)

    async def _query_vector(self, query: str) -> Vectors:
        key = " ".join(query.lower().split())
        with self._cache_lock:
            cached = self._query_vectors.get(key)
            if cached is not None:
                self._query_vectors.move_to_end(key)
                return cached
        vector = await asyncio.to_thread(self._embedder.embed_one, key)
        with self._cache_lock:
            self._query_vectors[key] = vector
            while len(self._query_vectors) > QUERY_CACHE_SIZE:
                self._query_vectors.popitem(last=False)
        return vector
