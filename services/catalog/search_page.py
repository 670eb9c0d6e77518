"""The last step of a search page, in PostgreSQL: one statement re-checks the filters on the page's products
(so a filter holds even when the in-process indexes are an event behind), says which of their fields hold a
query word, and reads the products themselves with their images and variants for SearchProducts (one round
trip for the whole page; it was four queries: the check, then the products, their images and their variants).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.domain import Product
from services.catalog.filters import ProductFilter
from services.catalog.store.listing import filter_sql
from services.catalog.store.rows import PAGE_PRODUCT_COLUMNS_SQL, product_of_page_row

SEMANTIC_FIELD = "semantic"  # in matched_fields: the hit was found by meaning


@dataclass(frozen=True)
class SearchHit:
    product_id: str
    score: float  # higher is better; comparable only within one result list
    matched_fields: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ProductPage:
    """One page of hits with their products (images and variants), read in the page check's statement."""

    hits: list[tuple[SearchHit, Product]]
    # The query with the best correction of each word the catalog does not hold (see `with_corrections`).
    meaning: str


_QUERY_SQL = "(websearch_to_tsquery('english', :raw) || to_tsquery('english', :loose))"


# Which fields of each page hit contain a query term (as PostgreSQL's english text search matches them).
_MATCHED_SQL = """,
           to_tsvector('english', p.title) @@ q.loose AS title_matched,
           to_tsvector('english', p.description) @@ q.loose AS description_matched,
           to_tsvector('english', p.brand) @@ q.loose AS brand_matched,
           to_tsvector('english', p.category) @@ q.loose AS category_matched,
           ARRAY(SELECT a.key FROM jsonb_each_text(p.attributes) AS a
                 WHERE to_tsvector('english', a.value) @@ q.loose ORDER BY a.key) AS attributes_matched,
           jsonb_to_tsvector('english'::regconfig, p.options, '["string"]'::jsonb) @@ q.loose AS options_matched"""
_QUERY_FROM_SQL = f", (SELECT {_QUERY_SQL} AS loose) AS q"


def _page_sql(*, matched: bool, with_products: bool) -> str:
    """The page's one statement: re-checks the filters on its products (`{filters}`, see `_page_statement`), says
    which of their fields matched, and reads the products themselves (with images and variants) when asked."""
    columns = "p.id" + (_MATCHED_SQL if matched else "")
    if with_products:
        columns += ", " + PAGE_PRODUCT_COLUMNS_SQL
    source = "products AS p" + (_QUERY_FROM_SQL if matched else "")
    return f"SELECT {columns} FROM {source} WHERE p.id = ANY(:ids) AND {{filters}}"  # noqa: S608 - constant SQL


_PAGE_SQL = {
    (matched, with_products): _page_sql(matched=matched, with_products=with_products)
    for matched in (False, True)
    for with_products in (False, True)
}


@functools.lru_cache(maxsize=1024)
def _page_statement(where: ProductFilter, matched: bool, with_products: bool) -> TextClause:
    """The page's statement for this filter: `{filters}` replaced by its conditions (store/listing.py writes them,
    as for ListProducts), their parameters bound. Cached like `filter_sql`: SQLAlchemy keeps a statement's cache
    key on the statement, so the same object is not keyed again on every search."""
    conditions, parameters = filter_sql(where, "p")
    return text(_PAGE_SQL[matched, with_products].format(filters=conditions)).bindparams(*parameters)


async def finish_page(
    session: AsyncSession,
    raw: str,
    loose: str,
    where: ProductFilter,
    page: list[tuple[str, float, bool]],
    *,
    with_products: bool,
) -> list[tuple[SearchHit, Product | None]]:
    """Re-checks the filters on the page's products (id, score, whether meaning found it) and says which of
    their fields hold a word of the query (`raw`) or of `loose` (to_tsquery text: every word and correction,
    OR-ed; empty: none is said), in one statement that also reads the products when `with_products`."""
    if not page:
        return []
    ids = [product_id for product_id, _, _ in page]
    matched = bool(loose)
    params: dict[str, Any] = {"ids": ids}
    if matched:
        params |= {"raw": raw, "loose": loose}
    # On the session's connection: a Core statement needs none of the ORM session's execution steps.
    connection = await session.connection()
    rows = (await connection.execute(_page_statement(where, matched, with_products), params)).all()
    found: dict[str, tuple[list[str], Product | None]] = {}
    for row in rows:
        fields: list[str] = []
        if matched:
            fields = [name for name in ("title", "description", "brand", "category") if getattr(row, f"{name}_matched")]
            fields += [f"attributes.{key}" for key in row.attributes_matched]
            if row.options_matched:
                fields.append("options")
        found[row.id] = (fields, product_of_page_row(row) if with_products else None)
    hits = []
    for product_id, score, semantic in page:
        if product_id not in found:
            continue  # no longer meets the filters (the index was an event behind)
        fields, product = found[product_id]
        hits.append((SearchHit(product_id, score, [*fields, SEMANTIC_FIELD] if semantic else fields), product))
    return hits
