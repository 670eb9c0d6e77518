import datetime

from buf.validate import validate_pb2 as _validate_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
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

class ProductStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRODUCT_STATUS_UNSPECIFIED: _ClassVar[ProductStatus]
    PRODUCT_STATUS_ACTIVE: _ClassVar[ProductStatus]
    PRODUCT_STATUS_INACTIVE: _ClassVar[ProductStatus]
    PRODUCT_STATUS_ARCHIVED: _ClassVar[ProductStatus]

class SearchMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEARCH_MODE_UNSPECIFIED: _ClassVar[SearchMode]
    SEARCH_MODE_LEXICAL: _ClassVar[SearchMode]
    SEARCH_MODE_SEMANTIC: _ClassVar[SearchMode]
    SEARCH_MODE_HYBRID: _ClassVar[SearchMode]

class ProductOrder(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRODUCT_ORDER_UNSPECIFIED: _ClassVar[ProductOrder]
    PRODUCT_ORDER_NEWEST: _ClassVar[ProductOrder]
    PRODUCT_ORDER_PRICE_ASCENDING: _ClassVar[ProductOrder]
    PRODUCT_ORDER_PRICE_DESCENDING: _ClassVar[ProductOrder]
    PRODUCT_ORDER_TITLE: _ClassVar[ProductOrder]
    PRODUCT_ORDER_RELEVANCE: _ClassVar[ProductOrder]
PRODUCT_STATUS_UNSPECIFIED: ProductStatus
PRODUCT_STATUS_ACTIVE: ProductStatus
PRODUCT_STATUS_INACTIVE: ProductStatus
PRODUCT_STATUS_ARCHIVED: ProductStatus
SEARCH_MODE_UNSPECIFIED: SearchMode
SEARCH_MODE_LEXICAL: SearchMode
SEARCH_MODE_SEMANTIC: SearchMode
SEARCH_MODE_HYBRID: SearchMode
PRODUCT_ORDER_UNSPECIFIED: ProductOrder
PRODUCT_ORDER_NEWEST: ProductOrder
PRODUCT_ORDER_PRICE_ASCENDING: ProductOrder
PRODUCT_ORDER_PRICE_DESCENDING: ProductOrder
PRODUCT_ORDER_TITLE: ProductOrder
PRODUCT_ORDER_RELEVANCE: ProductOrder

class Product(_message.Message):
    __slots__ = ("id", "seller_id", "sku", "title", "description", "price", "category", "brand", "attributes", "stock", "images", "status", "create_time", "update_time", "options", "variants")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    SELLER_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    BRAND_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    STOCK_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    id: str
    seller_id: str
    sku: str
    title: str
    description: str
    price: _money_pb2.Money
    category: str
    brand: str
    attributes: _containers.ScalarMap[str, str]
    stock: int
    images: _containers.RepeatedCompositeFieldContainer[ProductImage]
    status: ProductStatus
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    options: _containers.RepeatedCompositeFieldContainer[ProductOption]
    variants: _containers.RepeatedCompositeFieldContainer[ProductVariant]
    def __init__(self, id: _Optional[str] = ..., seller_id: _Optional[str] = ..., sku: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., category: _Optional[str] = ..., brand: _Optional[str] = ..., attributes: _Optional[_Mapping[str, str]] = ..., stock: _Optional[int] = ..., images: _Optional[_Iterable[_Union[ProductImage, _Mapping]]] = ..., status: _Optional[_Union[ProductStatus, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., options: _Optional[_Iterable[_Union[ProductOption, _Mapping]]] = ..., variants: _Optional[_Iterable[_Union[ProductVariant, _Mapping]]] = ...) -> None: ...

class ProductOption(_message.Message):
    __slots__ = ("name", "values")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    name: str
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., values: _Optional[_Iterable[str]] = ...) -> None: ...

class ProductVariant(_message.Message):
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

class ProductImage(_message.Message):
    __slots__ = ("id", "url", "thumbnail_url")
    ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    THUMBNAIL_URL_FIELD_NUMBER: _ClassVar[int]
    id: str
    url: str
    thumbnail_url: str
    def __init__(self, id: _Optional[str] = ..., url: _Optional[str] = ..., thumbnail_url: _Optional[str] = ...) -> None: ...

class ProductFilter(_message.Message):
    __slots__ = ("category", "brand", "seller_id", "min_price", "max_price", "in_stock", "attributes", "options")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class OptionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    BRAND_FIELD_NUMBER: _ClassVar[int]
    SELLER_ID_FIELD_NUMBER: _ClassVar[int]
    MIN_PRICE_FIELD_NUMBER: _ClassVar[int]
    MAX_PRICE_FIELD_NUMBER: _ClassVar[int]
    IN_STOCK_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    category: str
    brand: str
    seller_id: str
    min_price: _money_pb2.Money
    max_price: _money_pb2.Money
    in_stock: bool
    attributes: _containers.ScalarMap[str, str]
    options: _containers.ScalarMap[str, str]
    def __init__(self, category: _Optional[str] = ..., brand: _Optional[str] = ..., seller_id: _Optional[str] = ..., min_price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., max_price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., in_stock: _Optional[bool] = ..., attributes: _Optional[_Mapping[str, str]] = ..., options: _Optional[_Mapping[str, str]] = ...) -> None: ...

class CreateProductRequest(_message.Message):
    __slots__ = ("product", "request_id")
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    product: Product
    request_id: str
    def __init__(self, product: _Optional[_Union[Product, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateProductResponse(_message.Message):
    __slots__ = ("product",)
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    product: Product
    def __init__(self, product: _Optional[_Union[Product, _Mapping]] = ...) -> None: ...

class GetProductRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetProductResponse(_message.Message):
    __slots__ = ("product",)
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    product: Product
    def __init__(self, product: _Optional[_Union[Product, _Mapping]] = ...) -> None: ...

class UpdateProductRequest(_message.Message):
    __slots__ = ("product", "update_mask")
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    product: Product
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, product: _Optional[_Union[Product, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateProductResponse(_message.Message):
    __slots__ = ("product",)
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    product: Product
    def __init__(self, product: _Optional[_Union[Product, _Mapping]] = ...) -> None: ...

class DeleteProductRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteProductResponse(_message.Message):
    __slots__ = ("product",)
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    product: Product
    def __init__(self, product: _Optional[_Union[Product, _Mapping]] = ...) -> None: ...

class ListProductsRequest(_message.Message):
    __slots__ = ("filter", "order_by", "page_size", "page_token")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    filter: ProductFilter
    order_by: ProductOrder
    page_size: int
    page_token: str
    def __init__(self, filter: _Optional[_Union[ProductFilter, _Mapping]] = ..., order_by: _Optional[_Union[ProductOrder, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListProductsResponse(_message.Message):
    __slots__ = ("products", "next_page_token")
    PRODUCTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    products: _containers.RepeatedCompositeFieldContainer[Product]
    next_page_token: str
    def __init__(self, products: _Optional[_Iterable[_Union[Product, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SearchProductsRequest(_message.Message):
    __slots__ = ("query", "mode", "filter", "order_by", "page_size", "page_token")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    query: str
    mode: SearchMode
    filter: ProductFilter
    order_by: ProductOrder
    page_size: int
    page_token: str
    def __init__(self, query: _Optional[str] = ..., mode: _Optional[_Union[SearchMode, str]] = ..., filter: _Optional[_Union[ProductFilter, _Mapping]] = ..., order_by: _Optional[_Union[ProductOrder, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class SearchHit(_message.Message):
    __slots__ = ("product", "score", "matched_fields", "matched_variant_ids")
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    MATCHED_FIELDS_FIELD_NUMBER: _ClassVar[int]
    MATCHED_VARIANT_IDS_FIELD_NUMBER: _ClassVar[int]
    product: Product
    score: float
    matched_fields: _containers.RepeatedScalarFieldContainer[str]
    matched_variant_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, product: _Optional[_Union[Product, _Mapping]] = ..., score: _Optional[float] = ..., matched_fields: _Optional[_Iterable[str]] = ..., matched_variant_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class SearchProductsResponse(_message.Message):
    __slots__ = ("hits", "next_page_token", "mode")
    HITS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    hits: _containers.RepeatedCompositeFieldContainer[SearchHit]
    next_page_token: str
    mode: SearchMode
    def __init__(self, hits: _Optional[_Iterable[_Union[SearchHit, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., mode: _Optional[_Union[SearchMode, str]] = ...) -> None: ...

class ListMyProductsRequest(_message.Message):
    __slots__ = ("status", "page_size", "page_token")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    status: ProductStatus
    page_size: int
    page_token: str
    def __init__(self, status: _Optional[_Union[ProductStatus, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListMyProductsResponse(_message.Message):
    __slots__ = ("products", "next_page_token")
    PRODUCTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    products: _containers.RepeatedCompositeFieldContainer[Product]
    next_page_token: str
    def __init__(self, products: _Optional[_Iterable[_Union[Product, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class AddProductImageRequest(_message.Message):
    __slots__ = ("product_id", "content", "file_name", "content_type")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    content: bytes
    file_name: str
    content_type: str
    def __init__(self, product_id: _Optional[str] = ..., content: _Optional[bytes] = ..., file_name: _Optional[str] = ..., content_type: _Optional[str] = ...) -> None: ...

class AddProductImageResponse(_message.Message):
    __slots__ = ("image", "product")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    image: ProductImage
    product: Product
    def __init__(self, image: _Optional[_Union[ProductImage, _Mapping]] = ..., product: _Optional[_Union[Product, _Mapping]] = ...) -> None: ...

class DeleteProductImageRequest(_message.Message):
    __slots__ = ("product_id", "image_id")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    image_id: str
    def __init__(self, product_id: _Optional[str] = ..., image_id: _Optional[str] = ...) -> None: ...

class DeleteProductImageResponse(_message.Message):
    __slots__ = ("product",)
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    product: Product
    def __init__(self, product: _Optional[_Union[Product, _Mapping]] = ...) -> None: ...

class AdjustStockRequest(_message.Message):
    __slots__ = ("id", "delta", "reason", "variant_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    delta: int
    reason: str
    variant_id: str
    def __init__(self, id: _Optional[str] = ..., delta: _Optional[int] = ..., reason: _Optional[str] = ..., variant_id: _Optional[str] = ...) -> None: ...

class AdjustStockResponse(_message.Message):
    __slots__ = ("product",)
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    product: Product
    def __init__(self, product: _Optional[_Union[Product, _Mapping]] = ...) -> None: ...

class AddProductVariantRequest(_message.Message):
    __slots__ = ("product_id", "variant")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    variant: ProductVariant
    def __init__(self, product_id: _Optional[str] = ..., variant: _Optional[_Union[ProductVariant, _Mapping]] = ...) -> None: ...

class AddProductVariantResponse(_message.Message):
    __slots__ = ("variant", "product")
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    variant: ProductVariant
    product: Product
    def __init__(self, variant: _Optional[_Union[ProductVariant, _Mapping]] = ..., product: _Optional[_Union[Product, _Mapping]] = ...) -> None: ...

class UpdateProductVariantRequest(_message.Message):
    __slots__ = ("product_id", "variant", "update_mask")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    variant: ProductVariant
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, product_id: _Optional[str] = ..., variant: _Optional[_Union[ProductVariant, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateProductVariantResponse(_message.Message):
    __slots__ = ("variant", "product")
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    variant: ProductVariant
    product: Product
    def __init__(self, variant: _Optional[_Union[ProductVariant, _Mapping]] = ..., product: _Optional[_Union[Product, _Mapping]] = ...) -> None: ...

class DeleteProductVariantRequest(_message.Message):
    __slots__ = ("product_id", "variant_id")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    variant_id: str
    def __init__(self, product_id: _Optional[str] = ..., variant_id: _Optional[str] = ...) -> None: ...

class DeleteProductVariantResponse(_message.Message):
    __slots__ = ("product",)
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    product: Product
    def __init__(self, product: _Optional[_Union[Product, _Mapping]] = ...) -> None: ...

class ListCategoriesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Category(_message.Message):
    __slots__ = ("name", "product_count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    product_count: int
    def __init__(self, name: _Optional[str] = ..., product_count: _Optional[int] = ...) -> None: ...

class ListCategoriesResponse(_message.Message):
    __slots__ = ("categories",)
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    categories: _containers.RepeatedCompositeFieldContainer[Category]
    def __init__(self, categories: _Optional[_Iterable[_Union[Category, _Mapping]]] = ...) -> None: ...

class WatchProductRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class WatchProductResponse(_message.Message):
    __slots__ = ("product_id", "price", "stock", "status", "update_time", "variants")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    STOCK_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    price: _money_pb2.Money
    stock: int
    status: ProductStatus
    update_time: _timestamp_pb2.Timestamp
    variants: _containers.RepeatedCompositeFieldContainer[WatchedVariant]
    def __init__(self, product_id: _Optional[str] = ..., price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., stock: _Optional[int] = ..., status: _Optional[_Union[ProductStatus, str]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., variants: _Optional[_Iterable[_Union[WatchedVariant, _Mapping]]] = ...) -> None: ...

class WatchedVariant(_message.Message):
    __slots__ = ("variant_id", "price", "stock", "status")
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    STOCK_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    variant_id: str
    price: _money_pb2.Money
    stock: int
    status: ProductStatus
    def __init__(self, variant_id: _Optional[str] = ..., price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., stock: _Optional[int] = ..., status: _Optional[_Union[ProductStatus, str]] = ...) -> None: ...

class ReservationItem(_message.Message):
    __slots__ = ("product_id", "variant_id", "quantity")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    variant_id: str
    quantity: int
    def __init__(self, product_id: _Optional[str] = ..., variant_id: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class ReserveStockRequest(_message.Message):
    __slots__ = ("reservation_id", "order_id", "items", "ttl")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    order_id: str
    items: _containers.RepeatedCompositeFieldContainer[ReservationItem]
    ttl: _duration_pb2.Duration
    def __init__(self, reservation_id: _Optional[str] = ..., order_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[ReservationItem, _Mapping]]] = ..., ttl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class ReservedItem(_message.Message):
    __slots__ = ("product_id", "quantity", "seller_id", "sku", "title", "unit_price", "image_url", "variant_id", "option_values")
    class OptionValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    SELLER_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_URL_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    OPTION_VALUES_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    quantity: int
    seller_id: str
    sku: str
    title: str
    unit_price: _money_pb2.Money
    image_url: str
    variant_id: str
    option_values: _containers.ScalarMap[str, str]
    def __init__(self, product_id: _Optional[str] = ..., quantity: _Optional[int] = ..., seller_id: _Optional[str] = ..., sku: _Optional[str] = ..., title: _Optional[str] = ..., unit_price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., image_url: _Optional[str] = ..., variant_id: _Optional[str] = ..., option_values: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ReserveStockResponse(_message.Message):
    __slots__ = ("reservation_id", "items", "expire_time")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    items: _containers.RepeatedCompositeFieldContainer[ReservedItem]
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, reservation_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[ReservedItem, _Mapping]]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReleaseReservationRequest(_message.Message):
    __slots__ = ("reservation_id",)
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    def __init__(self, reservation_id: _Optional[str] = ...) -> None: ...

class ReleaseReservationResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CommitReservationRequest(_message.Message):
    __slots__ = ("reservation_id",)
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    def __init__(self, reservation_id: _Optional[str] = ...) -> None: ...

class CommitReservationResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetVariantsRequest(_message.Message):
    __slots__ = ("variant_ids",)
    VARIANT_IDS_FIELD_NUMBER: _ClassVar[int]
    variant_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, variant_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class VariantDetails(_message.Message):
    __slots__ = ("variant_id", "product_id", "seller_id", "title", "sku", "option_values", "unit_price", "available", "status", "product_status", "thumbnail_url")
    class OptionValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    SELLER_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    OPTION_VALUES_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_STATUS_FIELD_NUMBER: _ClassVar[int]
    THUMBNAIL_URL_FIELD_NUMBER: _ClassVar[int]
    variant_id: str
    product_id: str
    seller_id: str
    title: str
    sku: str
    option_values: _containers.ScalarMap[str, str]
    unit_price: _money_pb2.Money
    available: int
    status: ProductStatus
    product_status: ProductStatus
    thumbnail_url: str
    def __init__(self, variant_id: _Optional[str] = ..., product_id: _Optional[str] = ..., seller_id: _Optional[str] = ..., title: _Optional[str] = ..., sku: _Optional[str] = ..., option_values: _Optional[_Mapping[str, str]] = ..., unit_price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., available: _Optional[int] = ..., status: _Optional[_Union[ProductStatus, str]] = ..., product_status: _Optional[_Union[ProductStatus, str]] = ..., thumbnail_url: _Optional[str] = ...) -> None: ...

class GetVariantsResponse(_message.Message):
    __slots__ = ("variants",)
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    variants: _containers.RepeatedCompositeFieldContainer[VariantDetails]
    def __init__(self, variants: _Optional[_Iterable[_Union[VariantDetails, _Mapping]]] = ...) -> None: ...
