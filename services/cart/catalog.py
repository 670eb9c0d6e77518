"""The catalog as the cart sees it: a product's variants (AddCartItem) and many variants at once (pricing a cart,
one GetVariants call per cart). Protobuf -> the cart's domain; calls carry the cart's service token."""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from marketplace.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from services.cart.domain import ProductOffer, VariantOffer
from services.kit.clients import call
from services.kit.errors import NotFound

_STATUS: dict[int, str] = {
    catalog_pb2.PRODUCT_STATUS_ACTIVE: "ACTIVE",
    catalog_pb2.PRODUCT_STATUS_INACTIVE: "INACTIVE",
    catalog_pb2.PRODUCT_STATUS_ARCHIVED: "ARCHIVED",
}


def _status(value: int) -> str:
    return _STATUS.get(value, "UNKNOWN")


class CatalogClient:
    def __init__(self, channel: grpc.aio.Channel, *, timeout: float) -> None:
        self._stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        self._timeout = timeout

    async def product(self, product_id: str) -> ProductOffer:
        """The product with its live variants; NotFound when the catalog has no such product."""
        try:
            response = await call(
                self._stub.GetProduct, catalog_pb2.GetProductRequest(id=product_id), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                raise NotFound("product not found", metadata={"product_id": product_id}) from None
            raise
        product = response.product
        thumbnail = product.images[0].thumbnail_url if product.images else ""
        status = _status(product.status)
        return ProductOffer(
            product_id=product.id,
            status=status,
            options=[(option.name, list(option.values)) for option in product.options],
            variants=[
                VariantOffer(
                    variant_id=variant.id,
                    product_id=product.id,
                    seller_id=product.seller_id,
                    title=product.title,
                    sku=variant.sku,
                    option_values=dict(variant.option_values),
                    price_units=variant.price.units,
                    currency=variant.price.currency_code,
                    available=max(variant.stock, 0),
                    status=_status(variant.status),
                    product_status=status,
                    image_url=thumbnail,
                )
                for variant in product.variants
            ],
        )

    async def variants(self, variant_ids: Sequence[str]) -> dict[str, VariantOffer]:
        """The variants the catalog knows among `variant_ids` (one call), by id."""
        if not variant_ids:
            return {}
        response = await call(
            self._stub.GetVariants,
            catalog_pb2.GetVariantsRequest(variant_ids=list(variant_ids)),
            timeout=self._timeout,
        )
        return {
            item.variant_id: VariantOffer(
                variant_id=item.variant_id,
                product_id=item.product_id,
                seller_id=item.seller_id,
                title=item.title,
                sku=item.sku,
                option_values=dict(item.option_values),
                price_units=item.unit_price.units,
                currency=item.unit_price.currency_code,
                available=max(item.available, 0),
                status=_status(item.status),
                product_status=_status(item.product_status),
                image_url=item.thumbnail_url,
            )
            for item in response.variants
        }
