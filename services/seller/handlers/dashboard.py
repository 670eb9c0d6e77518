"""GetDashboard, ListSellerOrders and GetSalesSeries: the caller's own figures (an admin names the seller), read
from the projection only; no other service is called."""

from __future__ import annotations

from datetime import date, datetime

from services.kit.pages import decode_page_token, encode_page_token, list_fingerprint
from services.kit.principal import Principal
from services.seller import domain, queries
from services.seller.domain import Bucket, Dashboard, Sales, SellerOrder
from services.seller.handlers.deps import Deps

DEFAULT_PAGE_SIZE = 20


def _seller(principal: Principal, named: str) -> str:
    return domain.seller_in_view(principal.subject, principal.is_admin, named)


async def get_dashboard(
    deps: Deps, principal: Principal, *, period: str, top_products: int, seller_id: str
) -> Dashboard:
    seller = _seller(principal, seller_id)
    currency = deps.settings.seller_currency
    end = deps.clock()
    start = domain.period_start(period or domain.DEFAULT_PERIOD, end)
    async with deps.sessions() as session:
        sales, gross, refunds, to_ship = await queries.figures(session, seller, currency, start, end)
        top = await queries.top_products(
            session, seller, currency, start, end, top_products or domain.DEFAULT_TOP_PRODUCTS
        )
        low = await queries.low_stock(session, seller, deps.settings.seller_low_stock_limit)
    return Dashboard(
        period_start=start,
        period_end=end,
        currency=currency,
        sales=sales,
        average_order_value=domain.divide_half_up(sales.revenue, sales.orders),
        top_products=top,
        low_stock=low,
        orders_to_ship=to_ship,
        earnings=domain.earnings(gross, refunds, deps.settings.seller_marketplace_fee_rate),
    )


async def list_seller_orders(
    deps: Deps, principal: Principal, *, status: str | None, page_size: int, page_token: str, seller_id: str
) -> tuple[list[SellerOrder], str]:
    """The seller's parts of orders, newest first: (one page, the next page's token or "")."""
    seller = _seller(principal, seller_id)
    size = page_size or DEFAULT_PAGE_SIZE
    fingerprint = list_fingerprint("seller.ListSellerOrders", seller, status)
    after = decode_page_token(page_token, fingerprint, datetime, str)
    async with deps.sessions() as session:
        found = await queries.seller_orders(session, seller, status, size + 1, (after[0], after[1]) if after else None)
    page = found[:size]
    token = encode_page_token(fingerprint, page[-1].moments.created_at, page[-1].order_id) if len(found) > size else ""
    return page, token


async def get_sales_series(
    deps: Deps, principal: Principal, *, first: date, last: date, granularity: str, seller_id: str
) -> tuple[list[Bucket], Sales, str]:
    """(buckets, their sum, the currency)."""
    seller = _seller(principal, seller_id)
    domain.series_starts(first, last, granularity)  # refuses a bad range before any query
    start, end = domain.day_bounds(first, last)
    currency = deps.settings.seller_currency
    async with deps.sessions() as session:
        by_day = await queries.sales_by_day(session, seller, currency, start, end)
    buckets, total = domain.series(first, last, granularity, by_day)
    return buckets, total, currency
