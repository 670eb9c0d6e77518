"""Browsing: ListProducts, ListMyProducts and ListCategories."""

from __future__ import annotations

from dataclasses import dataclass

from services.catalog import domain
from services.catalog.domain import Caller, Product
from services.catalog.filters import ProductFilter
from services.catalog.handlers.deps import DEFAULT_PAGE_SIZE, Deps
from services.catalog.store.listing import NEWEST, next_page_token
from services.catalog.store.products import Products
from services.kit.errors import FieldViolation, InvalidArgument


@dataclass(frozen=True)
class Page:
    products: list[Product]
    next_page_token: str


async def list_products(deps: Deps, query: ProductFilter, order: str, page_size: int, page_token: str) -> Page:
    size = page_size or DEFAULT_PAGE_SIZE
    async with deps.sessions() as session:
        found, last = await Products(session).page(query, order, size, page_token)
    return Page(found, next_page_token(query, order, last) if last is not None else "")


async def list_my_products(deps: Deps, caller: Caller, status: str | None, page_size: int, page_token: str) -> Page:
    if caller.user_id is None:
        raise InvalidArgument("only a seller has products", violations=[FieldViolation("status", "no seller")])
    statuses = (status,) if status else domain.LISTABLE_STATUSES
    query = ProductFilter(seller_id=caller.user_id, statuses=statuses)
    return await list_products(deps, query, NEWEST, page_size, page_token)


async def list_categories(deps: Deps) -> list[tuple[str, int]]:
    async with deps.sessions() as session:
        return await Products(session).categories()
