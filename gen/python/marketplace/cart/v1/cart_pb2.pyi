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

class CartActor(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CART_ACTOR_UNSPECIFIED: _ClassVar[CartActor]
    CART_ACTOR_BUYER: _ClassVar[CartActor]
    CART_ACTOR_ASSISTANT: _ClassVar[CartActor]
CART_ACTOR_UNSPECIFIED: CartActor
CART_ACTOR_BUYER: CartActor
CART_ACTOR_ASSISTANT: CartActor

class Cart(_message.Message):
    __slots__ = ("buyer_id", "lines", "item_count", "subtotal", "mixed_currencies", "update_time")
    BUYER_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    ITEM_COUNT_FIELD_NUMBER: _ClassVar[int]
    SUBTOTAL_FIELD_NUMBER: _ClassVar[int]
    MIXED_CURRENCIES_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    buyer_id: str
    lines: _containers.RepeatedCompositeFieldContainer[CartLine]
    item_count: int
    subtotal: _money_pb2.Money
    mixed_currencies: bool
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, buyer_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[CartLine, _Mapping]]] = ..., item_count: _Optional[int] = ..., subtotal: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., mixed_currencies: _Optional[bool] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CartLine(_message.Message):
    __slots__ = ("product_id", "seller_id", "title", "unit_price", "image_url", "quantity", "line_total", "available", "added_by", "added_by_actor", "add_time", "variant_id", "sku", "option_values", "price_changed", "added_unit_price", "available_quantity")
    class OptionValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    SELLER_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_URL_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    LINE_TOTAL_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    ADDED_BY_FIELD_NUMBER: _ClassVar[int]
    ADDED_BY_ACTOR_FIELD_NUMBER: _ClassVar[int]
    ADD_TIME_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    OPTION_VALUES_FIELD_NUMBER: _ClassVar[int]
    PRICE_CHANGED_FIELD_NUMBER: _ClassVar[int]
    ADDED_UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    seller_id: str
    title: str
    unit_price: _money_pb2.Money
    image_url: str
    quantity: int
    line_total: _money_pb2.Money
    available: bool
    added_by: CartActor
    added_by_actor: str
    add_time: _timestamp_pb2.Timestamp
    variant_id: str
    sku: str
    option_values: _containers.ScalarMap[str, str]
    price_changed: bool
    added_unit_price: _money_pb2.Money
    available_quantity: int
    def __init__(self, product_id: _Optional[str] = ..., seller_id: _Optional[str] = ..., title: _Optional[str] = ..., unit_price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., image_url: _Optional[str] = ..., quantity: _Optional[int] = ..., line_total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., available: _Optional[bool] = ..., added_by: _Optional[_Union[CartActor, str]] = ..., added_by_actor: _Optional[str] = ..., add_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., variant_id: _Optional[str] = ..., sku: _Optional[str] = ..., option_values: _Optional[_Mapping[str, str]] = ..., price_changed: _Optional[bool] = ..., added_unit_price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., available_quantity: _Optional[int] = ...) -> None: ...

class GetCartRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetCartResponse(_message.Message):
    __slots__ = ("cart",)
    CART_FIELD_NUMBER: _ClassVar[int]
    cart: Cart
    def __init__(self, cart: _Optional[_Union[Cart, _Mapping]] = ...) -> None: ...

class AddCartItemRequest(_message.Message):
    __slots__ = ("product_id", "variant_id", "quantity")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    variant_id: str
    quantity: int
    def __init__(self, product_id: _Optional[str] = ..., variant_id: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class AddCartItemResponse(_message.Message):
    __slots__ = ("cart", "line")
    CART_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    cart: Cart
    line: CartLine
    def __init__(self, cart: _Optional[_Union[Cart, _Mapping]] = ..., line: _Optional[_Union[CartLine, _Mapping]] = ...) -> None: ...

class UpdateCartItemRequest(_message.Message):
    __slots__ = ("variant_id", "quantity")
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    variant_id: str
    quantity: int
    def __init__(self, variant_id: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class UpdateCartItemResponse(_message.Message):
    __slots__ = ("cart",)
    CART_FIELD_NUMBER: _ClassVar[int]
    cart: Cart
    def __init__(self, cart: _Optional[_Union[Cart, _Mapping]] = ...) -> None: ...

class RemoveCartItemRequest(_message.Message):
    __slots__ = ("variant_id",)
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    variant_id: str
    def __init__(self, variant_id: _Optional[str] = ...) -> None: ...

class RemoveCartItemResponse(_message.Message):
    __slots__ = ("cart",)
    CART_FIELD_NUMBER: _ClassVar[int]
    cart: Cart
    def __init__(self, cart: _Optional[_Union[Cart, _Mapping]] = ...) -> None: ...

class ClearCartRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ClearCartResponse(_message.Message):
    __slots__ = ("cart",)
    CART_FIELD_NUMBER: _ClassVar[int]
    cart: Cart
    def __init__(self, cart: _Optional[_Union[Cart, _Mapping]] = ...) -> None: ...

class GetCartLinesRequest(_message.Message):
    __slots__ = ("buyer_id",)
    BUYER_ID_FIELD_NUMBER: _ClassVar[int]
    buyer_id: str
    def __init__(self, buyer_id: _Optional[str] = ...) -> None: ...

class CartLineItem(_message.Message):
    __slots__ = ("product_id", "variant_id", "quantity")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    variant_id: str
    quantity: int
    def __init__(self, product_id: _Optional[str] = ..., variant_id: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class GetCartLinesResponse(_message.Message):
    __slots__ = ("lines",)
    LINES_FIELD_NUMBER: _ClassVar[int]
    lines: _containers.RepeatedCompositeFieldContainer[CartLineItem]
    def __init__(self, lines: _Optional[_Iterable[_Union[CartLineItem, _Mapping]]] = ...) -> None: ...
