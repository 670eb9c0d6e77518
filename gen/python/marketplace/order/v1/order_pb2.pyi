import datetime

from buf.validate import validate_pb2 as _validate_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from marketplace.common.v1 import access_pb2 as _access_pb2
from marketplace.common.v1 import money_pb2 as _money_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OrderStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_STATUS_UNSPECIFIED: _ClassVar[OrderStatus]
    ORDER_STATUS_PENDING_PAYMENT: _ClassVar[OrderStatus]
    ORDER_STATUS_PAID: _ClassVar[OrderStatus]
    ORDER_STATUS_SHIPPED: _ClassVar[OrderStatus]
    ORDER_STATUS_DELIVERED: _ClassVar[OrderStatus]
    ORDER_STATUS_CANCELLED: _ClassVar[OrderStatus]
    ORDER_STATUS_REFUNDED: _ClassVar[OrderStatus]
    ORDER_STATUS_PARTIALLY_SHIPPED: _ClassVar[OrderStatus]

class FulfilmentStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FULFILMENT_STATUS_UNSPECIFIED: _ClassVar[FulfilmentStatus]
    FULFILMENT_STATUS_AWAITING_PAYMENT: _ClassVar[FulfilmentStatus]
    FULFILMENT_STATUS_TO_SHIP: _ClassVar[FulfilmentStatus]
    FULFILMENT_STATUS_SHIPPED: _ClassVar[FulfilmentStatus]
    FULFILMENT_STATUS_DELIVERED: _ClassVar[FulfilmentStatus]
    FULFILMENT_STATUS_CANCELLED: _ClassVar[FulfilmentStatus]

class CancellationReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CANCELLATION_REASON_UNSPECIFIED: _ClassVar[CancellationReason]
    CANCELLATION_REASON_BUYER: _ClassVar[CancellationReason]
    CANCELLATION_REASON_PAYMENT_EXPIRED: _ClassVar[CancellationReason]
    CANCELLATION_REASON_REFUNDED: _ClassVar[CancellationReason]
ORDER_STATUS_UNSPECIFIED: OrderStatus
ORDER_STATUS_PENDING_PAYMENT: OrderStatus
ORDER_STATUS_PAID: OrderStatus
ORDER_STATUS_SHIPPED: OrderStatus
ORDER_STATUS_DELIVERED: OrderStatus
ORDER_STATUS_CANCELLED: OrderStatus
ORDER_STATUS_REFUNDED: OrderStatus
ORDER_STATUS_PARTIALLY_SHIPPED: OrderStatus
FULFILMENT_STATUS_UNSPECIFIED: FulfilmentStatus
FULFILMENT_STATUS_AWAITING_PAYMENT: FulfilmentStatus
FULFILMENT_STATUS_TO_SHIP: FulfilmentStatus
FULFILMENT_STATUS_SHIPPED: FulfilmentStatus
FULFILMENT_STATUS_DELIVERED: FulfilmentStatus
FULFILMENT_STATUS_CANCELLED: FulfilmentStatus
CANCELLATION_REASON_UNSPECIFIED: CancellationReason
CANCELLATION_REASON_BUYER: CancellationReason
CANCELLATION_REASON_PAYMENT_EXPIRED: CancellationReason
CANCELLATION_REASON_REFUNDED: CancellationReason

class ShippingAddress(_message.Message):
    __slots__ = ("recipient_name", "line1", "line2", "city", "region", "postal_code", "country_code", "phone")
    RECIPIENT_NAME_FIELD_NUMBER: _ClassVar[int]
    LINE1_FIELD_NUMBER: _ClassVar[int]
    LINE2_FIELD_NUMBER: _ClassVar[int]
    CITY_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    POSTAL_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_CODE_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    recipient_name: str
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country_code: str
    phone: str
    def __init__(self, recipient_name: _Optional[str] = ..., line1: _Optional[str] = ..., line2: _Optional[str] = ..., city: _Optional[str] = ..., region: _Optional[str] = ..., postal_code: _Optional[str] = ..., country_code: _Optional[str] = ..., phone: _Optional[str] = ...) -> None: ...

class OrderLine(_message.Message):
    __slots__ = ("product_id", "seller_id", "sku", "title", "unit_price", "quantity", "line_total", "image_url", "variant_id", "option_values")
    class OptionValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    SELLER_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    LINE_TOTAL_FIELD_NUMBER: _ClassVar[int]
    IMAGE_URL_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    OPTION_VALUES_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    seller_id: str
    sku: str
    title: str
    unit_price: _money_pb2.Money
    quantity: int
    line_total: _money_pb2.Money
    image_url: str
    variant_id: str
    option_values: _containers.ScalarMap[str, str]
    def __init__(self, product_id: _Optional[str] = ..., seller_id: _Optional[str] = ..., sku: _Optional[str] = ..., title: _Optional[str] = ..., unit_price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., quantity: _Optional[int] = ..., line_total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., image_url: _Optional[str] = ..., variant_id: _Optional[str] = ..., option_values: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Fulfilment(_message.Message):
    __slots__ = ("seller_id", "status", "subtotal", "shipment")
    SELLER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SUBTOTAL_FIELD_NUMBER: _ClassVar[int]
    SHIPMENT_FIELD_NUMBER: _ClassVar[int]
    seller_id: str
    status: FulfilmentStatus
    subtotal: _money_pb2.Money
    shipment: Shipment
    def __init__(self, seller_id: _Optional[str] = ..., status: _Optional[_Union[FulfilmentStatus, str]] = ..., subtotal: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., shipment: _Optional[_Union[Shipment, _Mapping]] = ...) -> None: ...

class Shipment(_message.Message):
    __slots__ = ("carrier", "tracking_number", "ship_time", "deliver_time")
    CARRIER_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    SHIP_TIME_FIELD_NUMBER: _ClassVar[int]
    DELIVER_TIME_FIELD_NUMBER: _ClassVar[int]
    carrier: str
    tracking_number: str
    ship_time: _timestamp_pb2.Timestamp
    deliver_time: _timestamp_pb2.Timestamp
    def __init__(self, carrier: _Optional[str] = ..., tracking_number: _Optional[str] = ..., ship_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deliver_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Order(_message.Message):
    __slots__ = ("id", "buyer_id", "status", "lines", "total", "shipping_address", "payment_id", "create_time", "update_time", "payment_due_time", "pay_time", "cancel_time", "cancellation_reason", "cancellation_note", "fulfilments")
    ID_FIELD_NUMBER: _ClassVar[int]
    BUYER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    SHIPPING_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_DUE_TIME_FIELD_NUMBER: _ClassVar[int]
    PAY_TIME_FIELD_NUMBER: _ClassVar[int]
    CANCEL_TIME_FIELD_NUMBER: _ClassVar[int]
    CANCELLATION_REASON_FIELD_NUMBER: _ClassVar[int]
    CANCELLATION_NOTE_FIELD_NUMBER: _ClassVar[int]
    FULFILMENTS_FIELD_NUMBER: _ClassVar[int]
    id: str
    buyer_id: str
    status: OrderStatus
    lines: _containers.RepeatedCompositeFieldContainer[OrderLine]
    total: _money_pb2.Money
    shipping_address: ShippingAddress
    payment_id: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    payment_due_time: _timestamp_pb2.Timestamp
    pay_time: _timestamp_pb2.Timestamp
    cancel_time: _timestamp_pb2.Timestamp
    cancellation_reason: CancellationReason
    cancellation_note: str
    fulfilments: _containers.RepeatedCompositeFieldContainer[Fulfilment]
    def __init__(self, id: _Optional[str] = ..., buyer_id: _Optional[str] = ..., status: _Optional[_Union[OrderStatus, str]] = ..., lines: _Optional[_Iterable[_Union[OrderLine, _Mapping]]] = ..., total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., shipping_address: _Optional[_Union[ShippingAddress, _Mapping]] = ..., payment_id: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., payment_due_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., pay_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cancel_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cancellation_reason: _Optional[_Union[CancellationReason, str]] = ..., cancellation_note: _Optional[str] = ..., fulfilments: _Optional[_Iterable[_Union[Fulfilment, _Mapping]]] = ...) -> None: ...

class CreateOrderRequest(_message.Message):
    __slots__ = ("request_id", "shipping_address")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SHIPPING_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    shipping_address: ShippingAddress
    def __init__(self, request_id: _Optional[str] = ..., shipping_address: _Optional[_Union[ShippingAddress, _Mapping]] = ...) -> None: ...

class CreateOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class GetOrderRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class ListOrdersRequest(_message.Message):
    __slots__ = ("status", "page_size", "page_token")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    status: OrderStatus
    page_size: int
    page_token: str
    def __init__(self, status: _Optional[_Union[OrderStatus, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListOrdersResponse(_message.Message):
    __slots__ = ("orders", "next_page_token")
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    orders: _containers.RepeatedCompositeFieldContainer[Order]
    next_page_token: str
    def __init__(self, orders: _Optional[_Iterable[_Union[Order, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelOrderRequest(_message.Message):
    __slots__ = ("id", "note")
    ID_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    id: str
    note: str
    def __init__(self, id: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class CancelOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class UpdateShippingAddressRequest(_message.Message):
    __slots__ = ("id", "shipping_address")
    ID_FIELD_NUMBER: _ClassVar[int]
    SHIPPING_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    id: str
    shipping_address: ShippingAddress
    def __init__(self, id: _Optional[str] = ..., shipping_address: _Optional[_Union[ShippingAddress, _Mapping]] = ...) -> None: ...

class UpdateShippingAddressResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class ShipOrderRequest(_message.Message):
    __slots__ = ("id", "carrier", "tracking_number", "seller_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    CARRIER_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    SELLER_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    carrier: str
    tracking_number: str
    seller_id: str
    def __init__(self, id: _Optional[str] = ..., carrier: _Optional[str] = ..., tracking_number: _Optional[str] = ..., seller_id: _Optional[str] = ...) -> None: ...

class ShipOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class MarkDeliveredRequest(_message.Message):
    __slots__ = ("id", "seller_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    SELLER_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    seller_id: str
    def __init__(self, id: _Optional[str] = ..., seller_id: _Optional[str] = ...) -> None: ...

class MarkDeliveredResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class WatchOrderRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class WatchOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class GetOrderSummaryRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetOrderSummaryResponse(_message.Message):
    __slots__ = ("id", "buyer_id", "status", "total", "payment_due_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    BUYER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_DUE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    buyer_id: str
    status: OrderStatus
    total: _money_pb2.Money
    payment_due_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., buyer_id: _Optional[str] = ..., status: _Optional[_Union[OrderStatus, str]] = ..., total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., payment_due_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
