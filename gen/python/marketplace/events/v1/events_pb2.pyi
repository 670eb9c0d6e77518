import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from marketplace.common.v1 import money_pb2 as _money_pb2
from marketplace.common.v1 import roles_pb2 as _roles_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ProductStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRODUCT_STATUS_UNSPECIFIED: _ClassVar[ProductStatus]
    PRODUCT_STATUS_DRAFT: _ClassVar[ProductStatus]
    PRODUCT_STATUS_ACTIVE: _ClassVar[ProductStatus]
    PRODUCT_STATUS_ARCHIVED: _ClassVar[ProductStatus]

class StockChangeReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STOCK_CHANGE_REASON_UNSPECIFIED: _ClassVar[StockChangeReason]
    STOCK_CHANGE_REASON_ADJUSTMENT: _ClassVar[StockChangeReason]
    STOCK_CHANGE_REASON_RESERVED: _ClassVar[StockChangeReason]
    STOCK_CHANGE_REASON_RELEASED: _ClassVar[StockChangeReason]
    STOCK_CHANGE_REASON_SOLD: _ClassVar[StockChangeReason]
    STOCK_CHANGE_REASON_RETURNED: _ClassVar[StockChangeReason]
PRODUCT_STATUS_UNSPECIFIED: ProductStatus
PRODUCT_STATUS_DRAFT: ProductStatus
PRODUCT_STATUS_ACTIVE: ProductStatus
PRODUCT_STATUS_ARCHIVED: ProductStatus
STOCK_CHANGE_REASON_UNSPECIFIED: StockChangeReason
STOCK_CHANGE_REASON_ADJUSTMENT: StockChangeReason
STOCK_CHANGE_REASON_RESERVED: StockChangeReason
STOCK_CHANGE_REASON_RELEASED: StockChangeReason
STOCK_CHANGE_REASON_SOLD: StockChangeReason
STOCK_CHANGE_REASON_RETURNED: StockChangeReason

class UserRegistered(_message.Message):
    __slots__ = ("user_id", "email", "username", "display_name", "role")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    email: str
    username: str
    display_name: str
    role: _roles_pb2.Role
    def __init__(self, user_id: _Optional[str] = ..., email: _Optional[str] = ..., username: _Optional[str] = ..., display_name: _Optional[str] = ..., role: _Optional[_Union[_roles_pb2.Role, str]] = ...) -> None: ...

class UserProfileChanged(_message.Message):
    __slots__ = ("user_id", "username", "display_name", "store_name")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    STORE_NAME_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    username: str
    display_name: str
    store_name: str
    def __init__(self, user_id: _Optional[str] = ..., username: _Optional[str] = ..., display_name: _Optional[str] = ..., store_name: _Optional[str] = ...) -> None: ...

class PasswordResetRequested(_message.Message):
    __slots__ = ("user_id", "email", "reset_token", "expires_at")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    RESET_TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    email: str
    reset_token: str
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, user_id: _Optional[str] = ..., email: _Optional[str] = ..., reset_token: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ProductSnapshot(_message.Message):
    __slots__ = ("id", "seller_id", "sku", "title", "category", "brand", "price", "stock", "status", "created_at", "updated_at", "options", "variants")
    ID_FIELD_NUMBER: _ClassVar[int]
    SELLER_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    BRAND_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    STOCK_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    id: str
    seller_id: str
    sku: str
    title: str
    category: str
    brand: str
    price: _money_pb2.Money
    stock: int
    status: ProductStatus
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    options: _containers.RepeatedCompositeFieldContainer[VariantOption]
    variants: _containers.RepeatedCompositeFieldContainer[VariantSnapshot]
    def __init__(self, id: _Optional[str] = ..., seller_id: _Optional[str] = ..., sku: _Optional[str] = ..., title: _Optional[str] = ..., category: _Optional[str] = ..., brand: _Optional[str] = ..., price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., stock: _Optional[int] = ..., status: _Optional[_Union[ProductStatus, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., options: _Optional[_Iterable[_Union[VariantOption, _Mapping]]] = ..., variants: _Optional[_Iterable[_Union[VariantSnapshot, _Mapping]]] = ...) -> None: ...

class VariantOption(_message.Message):
    __slots__ = ("name", "values")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    name: str
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., values: _Optional[_Iterable[str]] = ...) -> None: ...

class VariantSnapshot(_message.Message):
    __slots__ = ("id", "sku", "option_values", "price", "stock", "status")
    class OptionValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    OPTION_VALUES_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    STOCK_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    id: str
    sku: str
    option_values: _containers.ScalarMap[str, str]
    price: _money_pb2.Money
    stock: int
    status: ProductStatus
    def __init__(self, id: _Optional[str] = ..., sku: _Optional[str] = ..., option_values: _Optional[_Mapping[str, str]] = ..., price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., stock: _Optional[int] = ..., status: _Optional[_Union[ProductStatus, str]] = ...) -> None: ...

class ProductCreated(_message.Message):
    __slots__ = ("product",)
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    product: ProductSnapshot
    def __init__(self, product: _Optional[_Union[ProductSnapshot, _Mapping]] = ...) -> None: ...

class ProductUpdated(_message.Message):
    __slots__ = ("product", "changed_fields")
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELDS_FIELD_NUMBER: _ClassVar[int]
    product: ProductSnapshot
    changed_fields: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, product: _Optional[_Union[ProductSnapshot, _Mapping]] = ..., changed_fields: _Optional[_Iterable[str]] = ...) -> None: ...

class ProductDeleted(_message.Message):
    __slots__ = ("product_id", "seller_id", "sku")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    SELLER_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    seller_id: str
    sku: str
    def __init__(self, product_id: _Optional[str] = ..., seller_id: _Optional[str] = ..., sku: _Optional[str] = ...) -> None: ...

class StockChanged(_message.Message):
    __slots__ = ("product_id", "seller_id", "old_stock", "new_stock", "available", "low_stock", "reason", "variant_id", "sku", "product_available")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    SELLER_ID_FIELD_NUMBER: _ClassVar[int]
    OLD_STOCK_FIELD_NUMBER: _ClassVar[int]
    NEW_STOCK_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    LOW_STOCK_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    seller_id: str
    old_stock: int
    new_stock: int
    available: int
    low_stock: bool
    reason: StockChangeReason
    variant_id: str
    sku: str
    product_available: int
    def __init__(self, product_id: _Optional[str] = ..., seller_id: _Optional[str] = ..., old_stock: _Optional[int] = ..., new_stock: _Optional[int] = ..., available: _Optional[int] = ..., low_stock: _Optional[bool] = ..., reason: _Optional[_Union[StockChangeReason, str]] = ..., variant_id: _Optional[str] = ..., sku: _Optional[str] = ..., product_available: _Optional[int] = ...) -> None: ...

class CartItemAdded(_message.Message):
    __slots__ = ("cart_id", "buyer_id", "product_id", "quantity", "added_by", "actor", "variant_id", "line_quantity")
    CART_ID_FIELD_NUMBER: _ClassVar[int]
    BUYER_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    ADDED_BY_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    LINE_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    cart_id: str
    buyer_id: str
    product_id: str
    quantity: int
    added_by: str
    actor: str
    variant_id: str
    line_quantity: int
    def __init__(self, cart_id: _Optional[str] = ..., buyer_id: _Optional[str] = ..., product_id: _Optional[str] = ..., quantity: _Optional[int] = ..., added_by: _Optional[str] = ..., actor: _Optional[str] = ..., variant_id: _Optional[str] = ..., line_quantity: _Optional[int] = ...) -> None: ...

class CartItemQuantityChanged(_message.Message):
    __slots__ = ("cart_id", "buyer_id", "product_id", "variant_id", "old_quantity", "new_quantity", "changed_by", "actor")
    CART_ID_FIELD_NUMBER: _ClassVar[int]
    BUYER_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    OLD_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    NEW_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    CHANGED_BY_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    cart_id: str
    buyer_id: str
    product_id: str
    variant_id: str
    old_quantity: int
    new_quantity: int
    changed_by: str
    actor: str
    def __init__(self, cart_id: _Optional[str] = ..., buyer_id: _Optional[str] = ..., product_id: _Optional[str] = ..., variant_id: _Optional[str] = ..., old_quantity: _Optional[int] = ..., new_quantity: _Optional[int] = ..., changed_by: _Optional[str] = ..., actor: _Optional[str] = ...) -> None: ...

class CartItemRemoved(_message.Message):
    __slots__ = ("cart_id", "buyer_id", "product_id", "variant_id", "quantity", "removed_by", "actor")
    CART_ID_FIELD_NUMBER: _ClassVar[int]
    BUYER_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    REMOVED_BY_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    cart_id: str
    buyer_id: str
    product_id: str
    variant_id: str
    quantity: int
    removed_by: str
    actor: str
    def __init__(self, cart_id: _Optional[str] = ..., buyer_id: _Optional[str] = ..., product_id: _Optional[str] = ..., variant_id: _Optional[str] = ..., quantity: _Optional[int] = ..., removed_by: _Optional[str] = ..., actor: _Optional[str] = ...) -> None: ...

class CartCleared(_message.Message):
    __slots__ = ("cart_id", "buyer_id", "line_count", "cleared_by", "actor")
    CART_ID_FIELD_NUMBER: _ClassVar[int]
    BUYER_ID_FIELD_NUMBER: _ClassVar[int]
    LINE_COUNT_FIELD_NUMBER: _ClassVar[int]
    CLEARED_BY_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    cart_id: str
    buyer_id: str
    line_count: int
    cleared_by: str
    actor: str
    def __init__(self, cart_id: _Optional[str] = ..., buyer_id: _Optional[str] = ..., line_count: _Optional[int] = ..., cleared_by: _Optional[str] = ..., actor: _Optional[str] = ...) -> None: ...

class OrderLine(_message.Message):
    __slots__ = ("product_id", "seller_id", "quantity", "unit_price", "variant_id", "sku", "title")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    SELLER_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    seller_id: str
    quantity: int
    unit_price: _money_pb2.Money
    variant_id: str
    sku: str
    title: str
    def __init__(self, product_id: _Optional[str] = ..., seller_id: _Optional[str] = ..., quantity: _Optional[int] = ..., unit_price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., variant_id: _Optional[str] = ..., sku: _Optional[str] = ..., title: _Optional[str] = ...) -> None: ...

class OrderCreated(_message.Message):
    __slots__ = ("order_id", "buyer_id", "lines", "total", "reservation_id", "payment_due_time")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    BUYER_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_DUE_TIME_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    buyer_id: str
    lines: _containers.RepeatedCompositeFieldContainer[OrderLine]
    total: _money_pb2.Money
    reservation_id: str
    payment_due_time: _timestamp_pb2.Timestamp
    def __init__(self, order_id: _Optional[str] = ..., buyer_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[OrderLine, _Mapping]]] = ..., total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., reservation_id: _Optional[str] = ..., payment_due_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class OrderPaid(_message.Message):
    __slots__ = ("order_id", "buyer_id", "lines", "total", "reservation_id", "payment_id")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    BUYER_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    buyer_id: str
    lines: _containers.RepeatedCompositeFieldContainer[OrderLine]
    total: _money_pb2.Money
    reservation_id: str
    payment_id: str
    def __init__(self, order_id: _Optional[str] = ..., buyer_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[OrderLine, _Mapping]]] = ..., total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., reservation_id: _Optional[str] = ..., payment_id: _Optional[str] = ...) -> None: ...

class OrderCancelled(_message.Message):
    __slots__ = ("order_id", "buyer_id", "lines", "total", "reservation_id", "reason", "was_paid", "payment_id")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    BUYER_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    WAS_PAID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    buyer_id: str
    lines: _containers.RepeatedCompositeFieldContainer[OrderLine]
    total: _money_pb2.Money
    reservation_id: str
    reason: str
    was_paid: bool
    payment_id: str
    def __init__(self, order_id: _Optional[str] = ..., buyer_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[OrderLine, _Mapping]]] = ..., total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., reservation_id: _Optional[str] = ..., reason: _Optional[str] = ..., was_paid: _Optional[bool] = ..., payment_id: _Optional[str] = ...) -> None: ...

class OrderPaymentRefused(_message.Message):
    __slots__ = ("order_id", "payment_id", "buyer_id", "amount", "reason")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    BUYER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    payment_id: str
    buyer_id: str
    amount: _money_pb2.Money
    reason: str
    def __init__(self, order_id: _Optional[str] = ..., payment_id: _Optional[str] = ..., buyer_id: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class OrderShipped(_message.Message):
    __slots__ = ("order_id", "buyer_id", "lines", "total", "carrier", "tracking_number", "seller_id", "all_shipped")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    BUYER_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    CARRIER_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    SELLER_ID_FIELD_NUMBER: _ClassVar[int]
    ALL_SHIPPED_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    buyer_id: str
    lines: _containers.RepeatedCompositeFieldContainer[OrderLine]
    total: _money_pb2.Money
    carrier: str
    tracking_number: str
    seller_id: str
    all_shipped: bool
    def __init__(self, order_id: _Optional[str] = ..., buyer_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[OrderLine, _Mapping]]] = ..., total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., carrier: _Optional[str] = ..., tracking_number: _Optional[str] = ..., seller_id: _Optional[str] = ..., all_shipped: _Optional[bool] = ...) -> None: ...

class OrderDelivered(_message.Message):
    __slots__ = ("order_id", "buyer_id", "lines", "total", "seller_id", "all_delivered")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    BUYER_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    SELLER_ID_FIELD_NUMBER: _ClassVar[int]
    ALL_DELIVERED_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    buyer_id: str
    lines: _containers.RepeatedCompositeFieldContainer[OrderLine]
    total: _money_pb2.Money
    seller_id: str
    all_delivered: bool
    def __init__(self, order_id: _Optional[str] = ..., buyer_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[OrderLine, _Mapping]]] = ..., total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., seller_id: _Optional[str] = ..., all_delivered: _Optional[bool] = ...) -> None: ...

class OrderRefunded(_message.Message):
    __slots__ = ("order_id", "buyer_id", "total", "payment_id")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    BUYER_ID_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    buyer_id: str
    total: _money_pb2.Money
    payment_id: str
    def __init__(self, order_id: _Optional[str] = ..., buyer_id: _Optional[str] = ..., total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., payment_id: _Optional[str] = ...) -> None: ...

class OrderShippingAddressChanged(_message.Message):
    __slots__ = ("order_id", "buyer_id")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    BUYER_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    buyer_id: str
    def __init__(self, order_id: _Optional[str] = ..., buyer_id: _Optional[str] = ...) -> None: ...

class PaymentSucceeded(_message.Message):
    __slots__ = ("payment_id", "order_id", "buyer_id", "amount", "provider")
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    BUYER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    payment_id: str
    order_id: str
    buyer_id: str
    amount: _money_pb2.Money
    provider: str
    def __init__(self, payment_id: _Optional[str] = ..., order_id: _Optional[str] = ..., buyer_id: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., provider: _Optional[str] = ...) -> None: ...

class PaymentFailed(_message.Message):
    __slots__ = ("payment_id", "order_id", "buyer_id", "amount", "reason")
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    BUYER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    payment_id: str
    order_id: str
    buyer_id: str
    amount: _money_pb2.Money
    reason: str
    def __init__(self, payment_id: _Optional[str] = ..., order_id: _Optional[str] = ..., buyer_id: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class PaymentRefunded(_message.Message):
    __slots__ = ("payment_id", "order_id", "buyer_id", "amount")
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    BUYER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    payment_id: str
    order_id: str
    buyer_id: str
    amount: _money_pb2.Money
    def __init__(self, payment_id: _Optional[str] = ..., order_id: _Optional[str] = ..., buyer_id: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...
