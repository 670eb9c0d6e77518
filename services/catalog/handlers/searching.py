"""SearchProducts: one page of hits in relevance or a list order (the engine is services/catalog/search.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from services.catalog import domain
from services.catalog.budget import read_budget
from services.catalog.domain import Product
from services.catalog.filters import ProductFilter
from services.catalog.handlers.deps import DEFAULT_PAGE_SIZE, Deps
from services.catalog.variants import matching_variants
from services.kit.pages import decode_page_token, encode_page_token, invalid_page_token, list_fingerprint

# Search results in another order than relevance are sorted among this many best hits.
MAX_SORTED_HITS = 500


@dataclass(frozen=True)
class Hit:
    product: Product
    score: float
    matched_fields: list[str]
    # The variants taking the option values the query names or the filter asks for.
    matched_variant_ids: list[str]


@dataclass(frozen=True)
class SearchPage:
    hits: list[Hit]
    next_page_token: str


_SORT_KEYS: dict[str, tuple[Callable[[Hit], Any], bool]] = {
    "newest": (lambda hit: (hit.product.created_at, hit.product.id), True),
    "price_asc": (lambda hit: (hit.product.price_units, hit.product.id), False),
    "price_desc": (lambda hit: (hit.product.price_units, hit.product.id), True),
    "title": (lambda hit: (hit.product.title, hit.product.id), False),
}


def _hit(product: Product, score: float, matched_fields: list[str], named: str, query: ProductFilter) -> Hit:
    """`named`: the query with its corrections, so a typo of an option value still picks its variants."""
    variants = matching_variants(
        product.options, product.variants, named, query.options, in_stock_only=query.in_stock_only
    )
    return Hit(product, score, matched_fields, [variant.id for variant in variants])


def within_budget(text: str, query: ProductFilter) -> tuple[str, ProductFilter]:
    """The request's words without its budget, and the filter narrowed by that budget (never widened)."""
    budget = read_budget(text)
    if budget.max_units is None and budget.min_units is None:
        return text, query
    if query.currency is not None and budget.currency not in (None, query.currency):
        return budget.text, query  # a budget in another currency than the filter's: the filter decides
    narrowed = replace(
        query,
        max_price_units=_tighter(query.max_price_units, budget.max_units, min),
        min_price_units=_tighter(query.min_price_units, budget.min_units, max),
        currency=query.currency or budget.currency,
    )
    return budget.text, narrowed


def _tighter(given: int | None, read: int | None, pick: Callable[[int, int], int]) -> int | None:
    if given is None or read is None:
        return read if given is None else given
    return pick(given, read)


async def search_products(
    deps: Deps, *, text: str, mode: str, query: ProductFilter, order: str, page_size: int, page_token: str
) -> SearchPage:
    """`order` is "relevance" or one of the list orders."""
    size = page_size or DEFAULT_PAGE_SIZE
    fingerprint = list_fingerprint("catalog.search", text, mode, query, order)
    position = decode_page_token(page_token, fingerprint, int)
    offset = position[0] if position is not None else 0
    if offset < 0:
        raise invalid_page_token()
    by_relevance = order == "relevance"
    # A budget in the words ("under $50") is a price bound, not words to match.
    text, query = within_budget(text, query)
    # One statement reads the page's products with their images and variants as it re-checks the filters
    # (matching_variants reads the variants in memory).
    limit, first = (size + 1, offset) if by_relevance else (MAX_SORTED_HITS, 0)
    async with deps.sessions() as session:
        found = await deps.search.search_products(
            session, query=text, mode=mode, filter=query, limit=limit, offset=first
        )
    hits = [
        _hit(product, hit.score, list(hit.matched_fields), found.meaning, query)
        for hit, product in found.hits
        if product.status == domain.ACTIVE
    ]
    if not by_relevance:
        key, descending = _SORT_KEYS[order]
        hits = sorted(hits, key=key, reverse=descending)[offset : offset + size + 1]
    more = len(hits) > size
    return SearchPage(hits[:size], encode_page_token(fingerprint, offset + size) if more else "")
