import datetime

from buf.validate import validate_pb2 as _validate_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.type import date_pb2 as _date_pb2
from marketplace.common.v1 import access_pb2 as _access_pb2
from marketplace.common.v1 import money_pb2 as _money_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DashboardPeriod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DASHBOARD_PERIOD_UNSPECIFIED: _ClassVar[DashboardPeriod]
    DASHBOARD_PERIOD_LAST_7_DAYS: _ClassVar[DashboardPeriod]
    DASHBOARD_PERIOD_LAST_30_DAYS: _ClassVar[DashboardPeriod]
    DASHBOARD_PERIOD_LAST_90_DAYS: _ClassVar[DashboardPeriod]
    DASHBOARD_PERIOD_LAST_365_DAYS: _ClassVar[DashboardPeriod]
    DASHBOARD_PERIOD_ALL_TIME: _ClassVar[DashboardPeriod]

class SellerOrderStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SELLER_ORDER_STATUS_UNSPECIFIED: _ClassVar[SellerOrderStatus]
    SELLER_ORDER_STATUS_PENDING_PAYMENT: _ClassVar[SellerOrderStatus]
    SELLER_ORDER_STATUS_PAID: _ClassVar[SellerOrderStatus]
    SELLER_ORDER_STATUS_SHIPPED: _ClassVar[SellerOrderStatus]
    SELLER_ORDER_STATUS_DELIVERED: _ClassVar[SellerOrderStatus]
    SELLER_ORDER_STATUS_CANCELLED: _ClassVar[SellerOrderStatus]
    SELLER_ORDER_STATUS_REFUNDED: _ClassVar[SellerOrderStatus]

class Granularity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GRANULARITY_UNSPECIFIED: _ClassVar[Granularity]
    GRANULARITY_DAILY: _ClassVar[Granularity]
    GRANULARITY_WEEKLY: _ClassVar[Granularity]
DASHBOARD_PERIOD_UNSPECIFIED: DashboardPeriod
DASHBOARD_PERIOD_LAST_7_DAYS: DashboardPeriod
DASHBOARD_PERIOD_LAST_30_DAYS: DashboardPeriod
DASHBOARD_PERIOD_LAST_90_DAYS: DashboardPeriod
DASHBOARD_PERIOD_LAST_365_DAYS: DashboardPeriod
DASHBOARD_PERIOD_ALL_TIME: DashboardPeriod
SELLER_ORDER_STATUS_UNSPECIFIED: SellerOrderStatus
SELLER_ORDER_STATUS_PENDING_PAYMENT: SellerOrderStatus
SELLER_ORDER_STATUS_PAID: SellerOrderStatus
SELLER_ORDER_STATUS_SHIPPED: SellerOrderStatus
SELLER_ORDER_STATUS_DELIVERED: SellerOrderStatus
SELLER_ORDER_STATUS_CANCELLED: SellerOrderStatus
SELLER_ORDER_STATUS_REFUNDED: SellerOrderStatus
GRANULARITY_UNSPECIFIED: Granularity
GRANULARITY_DAILY: Granularity
GRANULARITY_WEEKLY: Granularity

class TopProduct(_message.Message):
    __slots__ = ("product_id", "title", "units_sold", "revenue")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    UNITS_SOLD_FIELD_NUMBER: _ClassVar[int]
    REVENUE_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    title: str
    units_sold: int
    revenue: _money_pb2.Money
    def __init__(self, product_id: _Optional[str] = ..., title: _Optional[str] = ..., units_sold: _Optional[int] = ..., revenue: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class LowStockProduct(_message.Message):
    __slots__ = ("product_id", "sku", "title", "available", "variant_id")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    sku: str
    title: str
    available: int
    variant_id: str
    def __init__(self, product_id: _Optional[str] = ..., sku: _Optional[str] = ..., title: _Optional[str] = ..., available: _Optional[int] = ..., variant_id: _Optional[str] = ...) -> None: ...

class SellerOrderLine(_message.Message):
    __slots__ = ("product_id", "title", "quantity", "unit_price", "variant_id", "sku")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    title: str
    quantity: int
    unit_price: _money_pb2.Money
    variant_id: str
    sku: str
    def __init__(self, product_id: _Optional[str] = ..., title: _Optional[str] = ..., quantity: _Optional[int] = ..., unit_price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., variant_id: _Optional[str] = ..., sku: _Optional[str] = ...) -> None: ...

class SellerOrder(_message.Message):
    __slots__ = ("order_id", "buyer_id", "status", "lines", "seller_total", "created_at", "paid_at", "shipped_at", "carrier", "tracking_number", "delivered_at", "cancelled_at", "refunded_at")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    BUYER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    SELLER_TOTAL_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    PAID_AT_FIELD_NUMBER: _ClassVar[int]
    SHIPPED_AT_FIELD_NUMBER: _ClassVar[int]
    CARRIER_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_AT_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_AT_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_AT_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    buyer_id: str
    status: SellerOrderStatus
    lines: _containers.RepeatedCompositeFieldContainer[SellerOrderLine]
    seller_total: _money_pb2.Money
    created_at: _timestamp_pb2.Timestamp
    paid_at: _timestamp_pb2.Timestamp
    shipped_at: _timestamp_pb2.Timestamp
    carrier: str
    tracking_number: str
    delivered_at: _timestamp_pb2.Timestamp
    cancelled_at: _timestamp_pb2.Timestamp
    refunded_at: _timestamp_pb2.Timestamp
    def __init__(self, order_id: _Optional[str] = ..., buyer_id: _Optional[str] = ..., status: _Optional[_Union[SellerOrderStatus, str]] = ..., lines: _Optional[_Iterable[_Union[SellerOrderLine, _Mapping]]] = ..., seller_total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., paid_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., shipped_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., carrier: _Optional[str] = ..., tracking_number: _Optional[str] = ..., delivered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cancelled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., refunded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Earnings(_message.Message):
    __slots__ = ("gross_sales", "refunds", "marketplace_fee", "net_payable", "fee_rate_basis_points")
    GROSS_SALES_FIELD_NUMBER: _ClassVar[int]
    REFUNDS_FIELD_NUMBER: _ClassVar[int]
    MARKETPLACE_FEE_FIELD_NUMBER: _ClassVar[int]
    NET_PAYABLE_FIELD_NUMBER: _ClassVar[int]
    FEE_RATE_BASIS_POINTS_FIELD_NUMBER: _ClassVar[int]
    gross_sales: _money_pb2.Money
    refunds: _money_pb2.Money
    marketplace_fee: _money_pb2.Money
    net_payable: _money_pb2.Money
    fee_rate_basis_points: int
    def __init__(self, gross_sales: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., refunds: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., marketplace_fee: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., net_payable: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., fee_rate_basis_points: _Optional[int] = ...) -> None: ...

class SalesBucket(_message.Message):
    __slots__ = ("start_date", "orders", "units_sold", "revenue")
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    UNITS_SOLD_FIELD_NUMBER: _ClassVar[int]
    REVENUE_FIELD_NUMBER: _ClassVar[int]
    start_date: _date_pb2.Date
    orders: int
    units_sold: int
    revenue: _money_pb2.Money
    def __init__(self, start_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., orders: _Optional[int] = ..., units_sold: _Optional[int] = ..., revenue: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class GetDashboardRequest(_message.Message):
    __slots__ = ("period", "top_products_limit", "seller_id")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    TOP_PRODUCTS_LIMIT_FIELD_NUMBER: _ClassVar[int]
    SELLER_ID_FIELD_NUMBER: _ClassVar[int]
    period: DashboardPeriod
    top_products_limit: int
    seller_id: str
    def __init__(self, period: _Optional[_Union[DashboardPeriod, str]] = ..., top_products_limit: _Optional[int] = ..., seller_id: _Optional[str] = ...) -> None: ...

class GetDashboardResponse(_message.Message):
    __slots__ = ("period_start", "period_end", "revenue", "orders", "units_sold", "top_products", "low_stock_products", "orders_to_ship", "average_order_value", "earnings")
    PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    REVENUE_FIELD_NUMBER: _ClassVar[int]
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    UNITS_SOLD_FIELD_NUMBER: _ClassVar[int]
    TOP_PRODUCTS_FIELD_NUMBER: _ClassVar[int]
    LOW_STOCK_PRODUCTS_FIELD_NUMBER: _ClassVar[int]
    ORDERS_TO_SHIP_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_ORDER_VALUE_FIELD_NUMBER: _ClassVar[int]
    EARNINGS_FIELD_NUMBER: _ClassVar[int]
    period_start: _timestamp_pb2.Timestamp
    period_end: _timestamp_pb2.Timestamp
    revenue: _money_pb2.Money
    orders: int
    units_sold: int
    top_products: _containers.RepeatedCompositeFieldContainer[TopProduct]
    low_stock_products: _containers.RepeatedCompositeFieldContainer[LowStockProduct]
    orders_to_ship: int
    average_order_value: _money_pb2.Money
    earnings: Earnings
    def __init__(self, period_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revenue: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., orders: _Optional[int] = ..., units_sold: _Optional[int] = ..., top_products: _Optional[_Iterable[_Union[TopProduct, _Mapping]]] = ..., low_stock_products: _Optional[_Iterable[_Union[LowStockProduct, _Mapping]]] = ..., orders_to_ship: _Optional[int] = ..., average_order_value: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., earnings: _Optional[_Union[Earnings, _Mapping]] = ...) -> None: ...

class ListSellerOrdersRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "status", "seller_id")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SELLER_ID_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    status: SellerOrderStatus
    seller_id: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., status: _Optional[_Union[SellerOrderStatus, str]] = ..., seller_id: _Optional[str] = ...) -> None: ...

class ListSellerOrdersResponse(_message.Message):
    __slots__ = ("orders", "next_page_token")
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    orders: _containers.RepeatedCompositeFieldContainer[SellerOrder]
    next_page_token: str
    def __init__(self, orders: _Optional[_Iterable[_Union[SellerOrder, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetSalesSeriesRequest(_message.Message):
    __slots__ = ("start_date", "end_date", "granularity", "seller_id")
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    GRANULARITY_FIELD_NUMBER: _ClassVar[int]
    SELLER_ID_FIELD_NUMBER: _ClassVar[int]
    start_date: _date_pb2.Date
    end_date: _date_pb2.Date
    granularity: Granularity
    seller_id: str
    def __init__(self, start_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., end_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., granularity: _Optional[_Union[Granularity, str]] = ..., seller_id: _Optional[str] = ...) -> None: ...

class GetSalesSeriesResponse(_message.Message):
    __slots__ = ("buckets", "total")
    BUCKETS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    buckets: _containers.RepeatedCompositeFieldContainer[SalesBucket]
    total: SalesBucket
    def __init__(self, buckets: _Optional[_Iterable[_Union[SalesBucket, _Mapping]]] = ..., total: _Optional[_Union[SalesBucket, _Mapping]] = ...) -> None: ...
