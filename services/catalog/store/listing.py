"""How a list of products is selected: a ProductFilter as SQL (listing and every search query filter through
it), the list orders, and their keyset pages and page tokens."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, literal, or_, select, tuple_
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.sql.elements import BindParameter, ColumnElement, UnaryExpression
from sqlalchemy.sql.expression import FromClause

from services.catalog.domain import ACTIVE, Product
from services.catalog.filters import ProductFilter
from services.catalog.store.tables import product_variants, products
from services.kit.pages import Position, decode_page_token, encode_page_token, list_fingerprint


def filter_conditions(where: ProductFilter, table: FromClause = products) -> list[ColumnElement[bool]]:
    """The SQL conditions of `where` on `table` (the products table or an alias of it): only the set ones, so
    the planner sees plain predicates. Listing and every search query filter through this one function."""
    c = table.c
    statuses = list(where.statuses)
    conditions: list[ColumnElement[bool]] = [
        c.status == statuses[0] if len(statuses) == 1 else or_(*(c.status == status for status in statuses))
    ]
    if where.category is not None:
        conditions.append(c.category == where.category)
    if where.brand is not None:
        # The column lower-cased by the database, the filter by Python (they differ on a few letters, e.g. a
        # final sigma); the vector index compares the same way (brands are indexed as lower(brand)).
        conditions.append(func.lower(c.brand) == where.brand.lower())
    if where.seller_id is not None:
        conditions.append(c.seller_id == where.seller_id)
    if where.currency is not None:
        conditions.append(c.currency == where.currency)
    if where.min_price_units is not None:
        conditions.append(c.price_units >= where.min_price_units)
    if where.max_price_units is not None:
        conditions.append(c.price_units <= where.max_price_units)
    if where.in_stock_only:
        conditions.append(c.stock - c.reserved > 0)
    if where.attributes:
        conditions.append(c.attributes.contains(dict(where.attributes)))
    if where.options:
        v = product_variants.alias("fv")
        variant_conditions = [
            v.c.product_id == c.id,
            v.c.status == ACTIVE,
            v.c.option_key.contains({name: value.lower() for name, value in where.options.items()}),
        ]
        if where.in_stock_only:
            variant_conditions.append(v.c.stock - v.c.reserved > 0)
        conditions.append(select(v.c.id).where(*variant_conditions).exists())
    return conditions


# Named parameters, so a filter's SQL can be placed in a hand-written statement (see `filter_sql`).
_TEXT_DIALECT = PGDialect(paramstyle="named")  # type: ignore[no-untyped-call]


@functools.lru_cache(maxsize=1024)
def filter_sql(where: ProductFilter, alias: str) -> tuple[str, tuple[BindParameter[Any], ...]]:
    """`filter_conditions` for a hand-written statement over `products AS <alias>` (the search's queries): the
    SQL text and its typed parameters, for `text(...).bindparams(*parameters)`. Cached: compiling costs more
    than a tenth of a millisecond, and shoppers repeat the same few filters."""
    table = products.alias(alias)
    # Compiled as the WHERE of a SELECT over the alias: alone, a subquery on it (the options filter's EXISTS)
    # would get its own FROM of the alias instead of correlating with the statement's.
    compiled = select(table.c.id).where(*filter_conditions(where, table)).compile(dialect=_TEXT_DIALECT)
    head = f"{select(table.c.id).compile(dialect=_TEXT_DIALECT)} \nWHERE "
    sql = str(compiled)
    if not sql.startswith(head):
        raise AssertionError(f"unexpected filter SQL: {sql}")
    parameters = tuple(
        bindparam(name, compiled.params[name], type_=bind.type) for bind, name in compiled.bind_names.items()
    )
    # text() would read a cast's "::" (e.g. ":attributes_1::JSONB") as part of a parameter name: escaped for it.
    # Parenthesised: a lone OR of statuses must stay one condition beside the statement's own.
    return "(" + sql[len(head) :].replace("::", r"\:\:") + ")", parameters


# The orders a list comes in.
NEWEST = "newest"
PRICE_ASCENDING = "price_asc"
PRICE_DESCENDING = "price_desc"
TITLE = "title"

# Each order: its sort column and whether it runs descending; the id breaks ties the same way.
_ORDERS: dict[str, tuple[str, bool]] = {
    NEWEST: ("created_at", True),
    PRICE_ASCENDING: ("price_units", False),
    PRICE_DESCENDING: ("price_units", True),
    TITLE: ("title", False),
}


# The type of each order's sort key, as a page token holds it.
_KEY_TYPES: dict[str, type[Position]] = {"created_at": datetime, "price_units": int, "title": str}


def _page_fingerprint(query: ProductFilter, order: str) -> str:
    return list_fingerprint("catalog.products", query, order)


def next_page_token(query: ProductFilter, order: str, last: Product) -> str:
    """The token of the page after `last` in this list."""
    column, _ = _ORDERS[order]
    return encode_page_token(_page_fingerprint(query, order), getattr(last, column), last.id)


def page_clauses(
    query: ProductFilter, order: str, page_token: str
) -> tuple[list[ColumnElement[bool]], list[UnaryExpression[Any]]]:
    """The WHERE conditions and the ORDER BY of the page of this list that `page_token` starts (keyset
    pagination: past the first page, the rows after the token's position in `order`)."""
    column_name, descending = _ORDERS[order]
    column = products.c[column_name]
    conditions = filter_conditions(query)
    position = decode_page_token(page_token, _page_fingerprint(query, order), _KEY_TYPES[column_name], str)
    if position is not None:
        key, last_id = position
        after = tuple_(column, products.c.id)
        bound = tuple_(literal(key, column.type), literal(last_id))
        conditions.append(after < bound if descending else after > bound)
    ordering = [column.desc(), products.c.id.desc()] if descending else [column.asc(), products.c.id.asc()]
    return conditions, ordering
