"""The SellerService servicer: protobuf <-> domain translation only. Errors are mapped by the kit's interceptor."""

from __future__ import annotations

from datetime import date
from typing import Any

import grpc
from google.type import date_pb2  # type: ignore[import-untyped]

from marketplace.common.v1 import money_pb2
from marketplace.seller.v1 import seller_pb2, seller_pb2_grpc
from services.kit.errors import FieldViolation, InvalidArgument
from services.kit.principal import current_principal
from services.kit.protos import timestamp
from services.seller import domain
from services.seller.domain import Sales, SellerOrder
from services.seller.handlers import dashboard
from services.seller.handlers.deps import Deps

Context = grpc.aio.ServicerContext[Any, Any]

PERIODS = {
    seller_pb2.DASHBOARD_PERIOD_UNSPECIFIED: "30D",
    seller_pb2.DASHBOARD_PERIOD_LAST_7_DAYS: "7D",
    seller_pb2.DASHBOARD_PERIOD_LAST_30_DAYS: "30D",
    seller_pb2.DASHBOARD_PERIOD_LAST_90_DAYS: "90D",
    seller_pb2.DASHBOARD_PERIOD_LAST_365_DAYS: "365D",
    seller_pb2.DASHBOARD_PERIOD_ALL_TIME: "ALL",
}
STATUS_VALUES = {
    domain.PENDING_PAYMENT: seller_pb2.SELLER_ORDER_STATUS_PENDING_PAYMENT,
    domain.PAID: seller_pb2.SELLER_ORDER_STATUS_PAID,
    domain.SHIPPED: seller_pb2.SELLER_ORDER_STATUS_SHIPPED,
    domain.DELIVERED: seller_pb2.SELLER_ORDER_STATUS_DELIVERED,
    domain.CANCELLED: seller_pb2.SELLER_ORDER_STATUS_CANCELLED,
    domain.REFUNDED: seller_pb2.SELLER_ORDER_STATUS_REFUNDED,
}
STATUS_NAMES = {value: name for name, value in STATUS_VALUES.items()}
GRANULARITIES = {seller_pb2.GRANULARITY_WEEKLY: domain.WEEKLY}


def _money(units: int, currency: str) -> money_pb2.Money:
    return money_pb2.Money(currency_code=currency, units=units)


def _date(message: date_pb2.Date, field: str) -> date:
    try:
        return date(message.year, message.month, message.day)
    except ValueError as error:
        raise InvalidArgument(
            "not a date", violations=[FieldViolation(field, "must be a date of the calendar")]
        ) from error


def _date_message(day: date) -> date_pb2.Date:
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


def _bucket(start: date | None, sales: Sales, currency: str) -> seller_pb2.SalesBucket:
    bucket = seller_pb2.SalesBucket(
        orders=sales.orders, units_sold=sales.units, revenue=_money(sales.revenue, currency)
    )
    if start is not None:
        bucket.start_date.CopyFrom(_date_message(start))
    return bucket


def seller_order_message(part: SellerOrder) -> seller_pb2.SellerOrder:
    moments = part.moments
    message = seller_pb2.SellerOrder(
        order_id=part.order_id,
        buyer_id=part.buyer_id,
        status=STATUS_VALUES[moments.status],
        lines=[
            seller_pb2.SellerOrderLine(
                product_id=line.product_id,
                title=line.title,
                quantity=line.quantity,
                unit_price=_money(line.unit_price, line.currency),
                variant_id=line.variant_id,
                sku=line.sku,
            )
            for line in part.lines
        ],
        seller_total=_money(part.total, part.currency),
        created_at=timestamp(moments.created_at),
        carrier=part.carrier,
        tracking_number=part.tracking_number,
    )
    for name, moment in (
        ("paid_at", moments.paid_at),
        ("shipped_at", moments.shipped_at),
        ("delivered_at", moments.delivered_at),
        ("cancelled_at", moments.cancelled_at),
        ("refunded_at", moments.refunded_at),
    ):
        if moment is not None:
            getattr(message, name).CopyFrom(timestamp(moment))
    return message


class SellerApi(seller_pb2_grpc.SellerServiceServicer):  # type: ignore[misc]  # generated base is untyped
    def __init__(self, deps: Deps):
        self._deps = deps

    async def GetDashboard(
        self, request: seller_pb2.GetDashboardRequest, context: Context
    ) -> seller_pb2.GetDashboardResponse:
        found = await dashboard.get_dashboard(
            self._deps,
            current_principal(),
            period=PERIODS[request.period],
            top_products=request.top_products_limit,
            seller_id=request.seller_id,
        )
        currency, earnings = found.currency, found.earnings
        response = seller_pb2.GetDashboardResponse(
            period_end=timestamp(found.period_end),
            revenue=_money(found.sales.revenue, currency),
            orders=found.sales.orders,
            units_sold=found.sales.units,
            top_products=[
                seller_pb2.TopProduct(
                    product_id=top.product_id,
                    title=top.title,
                    units_sold=top.units,
                    revenue=_money(top.revenue, currency),
                )
                for top in found.top_products
            ],
            low_stock_products=[
                seller_pb2.LowStockProduct(
                    product_id=low.product_id,
                    sku=low.sku,
                    title=low.title,
                    available=low.available,
                    variant_id=low.variant_id,
                )
                for low in found.low_stock
            ],
            orders_to_ship=found.orders_to_ship,
            average_order_value=_money(found.average_order_value, currency),
            earnings=seller_pb2.Earnings(
                gross_sales=_money(earnings.gross_sales, currency),
                refunds=_money(earnings.refunds, currency),
                marketplace_fee=_money(earnings.fee, currency),
                net_payable=_money(earnings.net_payable, currency),
                fee_rate_basis_points=earnings.fee_rate,
            ),
        )
        if found.period_start is not None:
            response.period_start.CopyFrom(timestamp(found.period_start))
        return response

    async def ListSellerOrders(
        self, request: seller_pb2.ListSellerOrdersRequest, context: Context
    ) -> seller_pb2.ListSellerOrdersResponse:
        page, token = await dashboard.list_seller_orders(
            self._deps,
            current_principal(),
            status=STATUS_NAMES.get(request.status),
            page_size=request.page_size,
            page_token=request.page_token,
            seller_id=request.seller_id,
        )
        return seller_pb2.ListSellerOrdersResponse(
            orders=[seller_order_message(part) for part in page], next_page_token=token
        )

    async def GetSalesSeries(
        self, request: seller_pb2.GetSalesSeriesRequest, context: Context
    ) -> seller_pb2.GetSalesSeriesResponse:
        buckets, total, currency = await dashboard.get_sales_series(
            self._deps,
            current_principal(),
            first=_date(request.start_date, "start_date"),
            last=_date(request.end_date, "end_date"),
            granularity=GRANULARITIES.get(request.granularity, domain.DAILY),
            seller_id=request.seller_id,
        )
        return seller_pb2.GetSalesSeriesResponse(
            buckets=[_bucket(bucket.start, bucket.sales, currency) for bucket in buckets],
            total=_bucket(None, total, currency),
        )
