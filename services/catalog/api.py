"""The CatalogService servicer: protobuf <-> domain translation only. Errors are mapped by the kit's interceptor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc

from marketplace.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from marketplace.common.v1 import money_pb2
from services.catalog import domain
from services.catalog.domain import Product, ProductImage
from services.catalog.filters import ProductFilter
from services.catalog.handlers import (
    browsing,
    product_images,
    product_variants,
    products,
    reservations,
    searching,
    variant_lookup,
)
from services.catalog.handlers.deps import Deps, caller_of
from services.catalog.handlers.products import NewProduct
from services.catalog.stock_reservation import ReservationLine
from services.catalog.store import listing
from services.catalog.variants import ProductOption, Variant, VariantSpec
from services.catalog.watch import ProductState, ProductWatchers
from services.kit.principal import current_principal_or_none
from services.kit.protos import Serialized, mask_paths, timestamp

Context = grpc.aio.ServicerContext[Any, Any]

STATUS_VALUES = {
    domain.ACTIVE: catalog_pb2.PRODUCT_STATUS_ACTIVE,
    domain.INACTIVE: catalog_pb2.PRODUCT_STATUS_INACTIVE,
    domain.ARCHIVED: catalog_pb2.PRODUCT_STATUS_ARCHIVED,
}
STATUS_NAMES = {value: name for name, value in STATUS_VALUES.items()}
LIST_ORDERS = {
    catalog_pb2.PRODUCT_ORDER_UNSPECIFIED: listing.NEWEST,
    catalog_pb2.PRODUCT_ORDER_NEWEST: listing.NEWEST,
    catalog_pb2.PRODUCT_ORDER_PRICE_ASCENDING: listing.PRICE_ASCENDING,
    catalog_pb2.PRODUCT_ORDER_PRICE_DESCENDING: listing.PRICE_DESCENDING,
    catalog_pb2.PRODUCT_ORDER_TITLE: listing.TITLE,
}
SEARCH_MODES = {
    catalog_pb2.SEARCH_MODE_UNSPECIFIED: ("hybrid", catalog_pb2.SEARCH_MODE_HYBRID),
    catalog_pb2.SEARCH_MODE_HYBRID: ("hybrid", catalog_pb2.SEARCH_MODE_HYBRID),
    catalog_pb2.SEARCH_MODE_LEXICAL: ("lexical", catalog_pb2.SEARCH_MODE_LEXICAL),
    catalog_pb2.SEARCH_MODE_SEMANTIC: ("semantic", catalog_pb2.SEARCH_MODE_SEMANTIC),
}


def _image(image: ProductImage) -> catalog_pb2.ProductImage:
    return catalog_pb2.ProductImage(id=image.id, url=image.url, thumbnail_url=image.thumbnail_url)


def _variant(product: Product, variant: Variant) -> catalog_pb2.ProductVariant:
    return catalog_pb2.ProductVariant(
        id=variant.id,
        sku=variant.sku,
        option_values=variant.option_values,
        price=money_pb2.Money(currency_code=product.currency, units=product.unit_price(variant)),
        stock=variant.available,
        status=STATUS_VALUES[variant.status],
    )


def _options(given: Any) -> list[ProductOption]:
    return [ProductOption(option.name, tuple(option.values)) for option in given]


def _variant_spec(given: catalog_pb2.ProductVariant) -> VariantSpec:
    return VariantSpec(
        sku=given.sku,
        option_values=dict(given.option_values),
        own_price_units=given.price.units if given.HasField("price") else None,
        stock=given.stock,
    )


def product_message(product: Product) -> catalog_pb2.Product:
    return catalog_pb2.Product(
        id=product.id,
        seller_id=product.seller_id,
        sku=product.sku,
        title=product.title,
        description=product.description,
        price=money_pb2.Money(currency_code=product.currency, units=product.price_units),
        category=product.category,
        brand=product.brand,
        attributes=product.attributes,
        stock=product.available,
        images=[_image(image) for image in product.images],
        status=STATUS_VALUES[product.status],
        create_time=timestamp(product.created_at),
        update_time=timestamp(product.updated_at),
        options=[catalog_pb2.ProductOption(name=option.name, values=option.values) for option in product.options],
        variants=[_variant(product, variant) for variant in product.live_variants],
    )


def _state_message(state: ProductState) -> catalog_pb2.WatchProductResponse:
    return catalog_pb2.WatchProductResponse(
        product_id=state.product_id,
        price=money_pb2.Money(currency_code=state.currency, units=state.price_units),
        stock=state.available,
        status=STATUS_VALUES[state.status],
        update_time=timestamp(state.updated_at),
        variants=[
            catalog_pb2.WatchedVariant(
                variant_id=variant_id,
                price=money_pb2.Money(currency_code=state.currency, units=price_units),
                stock=available,
                status=STATUS_VALUES[status],
            )
            for variant_id, price_units, available, status in state.variants
        ],
    )


def _filter(message: catalog_pb2.ProductFilter) -> ProductFilter:
    has_min, has_max = message.HasField("min_price"), message.HasField("max_price")
    # A price bound is in its currency; without one, products of every currency match.
    currency = message.min_price.currency_code if has_min else message.max_price.currency_code if has_max else None
    return ProductFilter(
        category=message.category or None,
        brand=message.brand or None,
        seller_id=message.seller_id or None,
        min_price_units=message.min_price.units if has_min else None,
        max_price_units=message.max_price.units if has_max else None,
        currency=currency,
        in_stock_only=message.in_stock,
        attributes=dict(message.attributes),
        options=dict(message.options),
    )


def _caller() -> domain.Caller:
    return caller_of(current_principal_or_none())


class CatalogApi(catalog_pb2_grpc.CatalogServiceServicer):  # type: ignore[misc]  # generated base is untyped
    def __init__(self, deps: Deps, watchers: ProductWatchers):
        self._deps = deps
        self._watchers = watchers

    async def CreateProduct(
        self, request: catalog_pb2.CreateProductRequest, context: Context
    ) -> catalog_pb2.CreateProductResponse:
        given = request.product
        product = await products.create_product(
            self._deps,
            _caller(),
            NewProduct(
                sku=given.sku,
                title=given.title,
                description=given.description,
                category=given.category,
                brand=given.brand,
                attributes=dict(given.attributes),
                price_units=given.price.units,
                currency=given.price.currency_code,
                stock=given.stock,
                options=_options(given.options),
                variants=[_variant_spec(variant) for variant in given.variants],
            ),
            request_id=request.request_id,
        )
        return catalog_pb2.CreateProductResponse(product=product_message(product))

    async def GetProduct(
        self, request: catalog_pb2.GetProductRequest, context: Context
    ) -> catalog_pb2.GetProductResponse | Serialized:
        cache = self._deps.cache
        cached: Serialized | None = cache.get(request.id)
        if cached is not None:
            return cached  # an ACTIVE product: the same bytes for every caller
        generation = cache.generation(request.id)
        product = await products.get_product(self._deps, _caller(), request.id)
        response = catalog_pb2.GetProductResponse(product=product_message(product))
        if product.status == domain.ACTIVE:
            cache.put(request.id, Serialized(response.SerializeToString()), generation)
        return response

    async def UpdateProduct(
        self, request: catalog_pb2.UpdateProductRequest, context: Context
    ) -> catalog_pb2.UpdateProductResponse:
        given = request.product
        changes: dict[str, Any] = {}
        for path in mask_paths(request.update_mask):
            if path == "price":
                changes[path] = (given.price.units, given.price.currency_code)
            elif path == "status":
                changes[path] = STATUS_NAMES[given.status]
            elif path == "attributes":
                changes[path] = dict(given.attributes)
            elif path == "options":
                changes[path] = _options(given.options)
            else:
                changes[path] = getattr(given, path)
        product = await products.update_product(self._deps, _caller(), given.id, changes)
        return catalog_pb2.UpdateProductResponse(product=product_message(product))

    async def DeleteProduct(
        self, request: catalog_pb2.DeleteProductRequest, context: Context
    ) -> catalog_pb2.DeleteProductResponse:
        product = await products.delete_product(self._deps, _caller(), request.id)
        return catalog_pb2.DeleteProductResponse(product=product_message(product))

    async def ListProducts(
        self, request: catalog_pb2.ListProductsRequest, context: Context
    ) -> catalog_pb2.ListProductsResponse:
        page = await browsing.list_products(
            self._deps, _filter(request.filter), LIST_ORDERS[request.order_by], request.page_size, request.page_token
        )
        return catalog_pb2.ListProductsResponse(
            products=[product_message(product) for product in page.products], next_page_token=page.next_page_token
        )

    async def SearchProducts(
        self, request: catalog_pb2.SearchProductsRequest, context: Context
    ) -> catalog_pb2.SearchProductsResponse:
        mode, mode_value = SEARCH_MODES[request.mode]
        relevance = request.order_by in (catalog_pb2.PRODUCT_ORDER_UNSPECIFIED, catalog_pb2.PRODUCT_ORDER_RELEVANCE)
        page = await searching.search_products(
            self._deps,
            text=request.query,
            mode=mode,
            query=_filter(request.filter),
            order="relevance" if relevance else LIST_ORDERS[request.order_by],
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return catalog_pb2.SearchProductsResponse(
            hits=[
                catalog_pb2.SearchHit(
                    product=product_message(hit.product),
                    score=hit.score,
                    matched_fields=hit.matched_fields,
                    matched_variant_ids=hit.matched_variant_ids,
                )
                for hit in page.hits
            ],
            next_page_token=page.next_page_token,
            mode=mode_value,
        )

    async def ListMyProducts(
        self, request: catalog_pb2.ListMyProductsRequest, context: Context
    ) -> catalog_pb2.ListMyProductsResponse:
        status = STATUS_NAMES[request.status] if request.status else None
        page = await browsing.list_my_products(self._deps, _caller(), status, request.page_size, request.page_token)
        return catalog_pb2.ListMyProductsResponse(
            products=[product_message(product) for product in page.products], next_page_token=page.next_page_token
        )

    async def AddProductImage(
        self, request: catalog_pb2.AddProductImageRequest, context: Context
    ) -> catalog_pb2.AddProductImageResponse:
        image, product = await product_images.add_product_image(
            self._deps, _caller(), request.product_id, request.content
        )
        return catalog_pb2.AddProductImageResponse(image=_image(image), product=product_message(product))

    async def DeleteProductImage(
        self, request: catalog_pb2.DeleteProductImageRequest, context: Context
    ) -> catalog_pb2.DeleteProductImageResponse:
        product = await product_images.delete_product_image(self._deps, _caller(), request.product_id, request.image_id)
        return catalog_pb2.DeleteProductImageResponse(product=product_message(product))

    async def AdjustStock(
        self, request: catalog_pb2.AdjustStockRequest, context: Context
    ) -> catalog_pb2.AdjustStockResponse:
        product = await products.adjust_stock(
            self._deps, _caller(), request.id, request.delta, request.reason, variant_id=request.variant_id
        )
        return catalog_pb2.AdjustStockResponse(product=product_message(product))

    async def AddProductVariant(
        self, request: catalog_pb2.AddProductVariantRequest, context: Context
    ) -> catalog_pb2.AddProductVariantResponse:
        variant, product = await product_variants.add_variant(
            self._deps, _caller(), request.product_id, _variant_spec(request.variant)
        )
        return catalog_pb2.AddProductVariantResponse(
            variant=_variant(product, variant), product=product_message(product)
        )

    async def UpdateProductVariant(
        self, request: catalog_pb2.UpdateProductVariantRequest, context: Context
    ) -> catalog_pb2.UpdateProductVariantResponse:
        given = request.variant
        changes: dict[str, Any] = {}
        for path in mask_paths(request.update_mask):
            if path == "price":
                changes[path] = given.price.units if given.HasField("price") else None
            elif path == "status":
                changes[path] = STATUS_NAMES[given.status]
            elif path == "option_values":
                changes[path] = dict(given.option_values)
            else:
                changes[path] = getattr(given, path)
        variant, product = await product_variants.update_variant(
            self._deps, _caller(), request.product_id, given.id, changes
        )
        return catalog_pb2.UpdateProductVariantResponse(
            variant=_variant(product, variant), product=product_message(product)
        )

    async def DeleteProductVariant(
        self, request: catalog_pb2.DeleteProductVariantRequest, context: Context
    ) -> catalog_pb2.DeleteProductVariantResponse:
        product = await product_variants.retire_variant(self._deps, _caller(), request.product_id, request.variant_id)
        return catalog_pb2.DeleteProductVariantResponse(product=product_message(product))

    async def ListCategories(
        self, request: catalog_pb2.ListCategoriesRequest, context: Context
    ) -> catalog_pb2.ListCategoriesResponse:
        categories = await browsing.list_categories(self._deps)
        return catalog_pb2.ListCategoriesResponse(
            categories=[catalog_pb2.Category(name=name, product_count=count) for name, count in categories]
        )

    async def WatchProduct(
        self, request: catalog_pb2.WatchProductRequest, context: Context
    ) -> AsyncIterator[catalog_pb2.WatchProductResponse]:
        async for state in self._watchers.watch(request.id, _caller()):
            yield _state_message(state)

    async def ReserveStock(
        self, request: catalog_pb2.ReserveStockRequest, context: Context
    ) -> catalog_pb2.ReserveStockResponse:
        result = await reservations.reserve_stock(
            self._deps,
            reservation_id=request.reservation_id,
            order_id=request.order_id,
            lines=[ReservationLine(item.product_id, item.variant_id, item.quantity) for item in request.items],
            ttl=request.ttl.ToTimedelta() if request.HasField("ttl") else None,
        )
        return catalog_pb2.ReserveStockResponse(
            reservation_id=result.reservation_id,
            items=[
                catalog_pb2.ReservedItem(
                    product_id=item.product_id,
                    quantity=item.quantity,
                    seller_id=item.seller_id,
                    sku=item.sku,
                    title=item.title,
                    unit_price=money_pb2.Money(currency_code=item.currency, units=item.price_units),
                    image_url=item.image_url,
                    variant_id=item.variant_id,
                    option_values=item.option_values,
                )
                for item in result.items
            ],
            expire_time=timestamp(result.expires_at),
        )

    async def ReleaseReservation(
        self, request: catalog_pb2.ReleaseReservationRequest, context: Context
    ) -> catalog_pb2.ReleaseReservationResponse:
        await reservations.release_reservation(self._deps, request.reservation_id)
        return catalog_pb2.ReleaseReservationResponse()

    async def CommitReservation(
        self, request: catalog_pb2.CommitReservationRequest, context: Context
    ) -> catalog_pb2.CommitReservationResponse:
        await reservations.commit_reservation(self._deps, request.reservation_id)
        return catalog_pb2.CommitReservationResponse()

    async def GetVariants(
        self, request: catalog_pb2.GetVariantsRequest, context: Context
    ) -> catalog_pb2.GetVariantsResponse:
        found = await variant_lookup.get_variants(self._deps, list(request.variant_ids))
        return catalog_pb2.GetVariantsResponse(
            variants=[
                catalog_pb2.VariantDetails(
                    variant_id=item.variant_id,
                    product_id=item.product_id,
                    seller_id=item.seller_id,
                    title=item.title,
                    sku=item.sku,
                    option_values=item.option_values,
                    unit_price=money_pb2.Money(currency_code=item.currency, units=item.price_units),
                    available=item.available,
                    status=STATUS_VALUES[item.status],
                    product_status=STATUS_VALUES[item.product_status],
                    thumbnail_url=item.thumbnail_url,
                )
                for item in found
            ]
        )
