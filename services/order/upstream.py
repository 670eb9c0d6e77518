"""The cart and the catalog as the order service sees them: a buyer's cart lines, and stock reserved for an order.
Protobuf -> the order's domain; calls carry the order service's own token. A refusal of the catalog (out of
stock, unavailable) becomes this service's own error, naming every line it concerns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import grpc
from google.protobuf.duration_pb2 import Duration

from marketplace.cart.v1 import cart_pb2, cart_pb2_grpc
from marketplace.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from services.kit.clients import call, error_info
from services.kit.errors import FailedPrecondition
from services.order.domain import OrderLine

# The catalog's refusals that the order passes on to its caller as its own.
PASSED_ON = frozenset({"OUT_OF_STOCK", "PRODUCT_UNAVAILABLE"})


@dataclass(frozen=True)
class CartItem:
    product_id: str
    variant_id: str
    quantity: int


class CartClient:
    def __init__(self, channel: grpc.aio.Channel, *, timeout: float) -> None:
        self._stub = cart_pb2_grpc.CartServiceStub(channel)
        self._timeout = timeout

    async def lines(self, buyer_id: str) -> list[CartItem]:
        response = await call(
            self._stub.GetCartLines, cart_pb2.GetCartLinesRequest(buyer_id=buyer_id), timeout=self._timeout
        )
        return [CartItem(line.product_id, line.variant_id, line.quantity) for line in response.lines]


class CatalogClient:
    def __init__(self, channel: grpc.aio.Channel, *, timeout: float) -> None:
        self._stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        self._timeout = timeout

    async def reserve(
        self, reservation_id: str, order_id: str, items: Sequence[CartItem], ttl: timedelta
    ) -> list[OrderLine]:
        """All the items or none, held for `ttl`; the lines as the catalog priced them, in the items' order.
        Idempotent by `reservation_id` (a retry gets the first answer)."""
        request = catalog_pb2.ReserveStockRequest(
            reservation_id=reservation_id,
            order_id=order_id,
            items=[
                catalog_pb2.ReservationItem(
                    product_id=item.product_id, variant_id=item.variant_id, quantity=item.quantity
                )
                for item in items
            ],
            ttl=Duration(seconds=int(ttl.total_seconds())),
        )
        try:
            response = await call(self._stub.ReserveStock, request, timeout=self._timeout)
        except grpc.aio.AioRpcError as error:
            reason, metadata = error_info(error)
            if error.code() != grpc.StatusCode.FAILED_PRECONDITION or reason not in PASSED_ON:
                raise
            raise await self._refusal(reason, metadata, items) from None
        return [
            OrderLine(
                product_id=item.product_id,
                variant_id=item.variant_id,
                seller_id=item.seller_id,
                sku=item.sku,
                title=item.title,
                option_values=dict(item.option_values),
                unit_price=item.unit_price.units,
                currency=item.unit_price.currency_code,
                quantity=item.quantity,
                image_url=item.image_url,
            )
            for item in response.items
        ]

    async def release(self, reservation_id: str) -> None:
        await call(
            self._stub.ReleaseReservation,
            catalog_pb2.ReleaseReservationRequest(reservation_id=reservation_id),
            timeout=self._timeout,
        )

    async def _refusal(self, reason: str, metadata: dict[str, str], items: Sequence[CartItem]) -> FailedPrecondition:
        """The catalog names the first line it could not hold; the buyer is told every short line at once."""
        wanted = {item.variant_id: item for item in items}
        response = await call(
            self._stub.GetVariants,
            catalog_pb2.GetVariantsRequest(variant_ids=list(wanted)),
            timeout=self._timeout,
        )
        known = {variant.variant_id: variant for variant in response.variants}
        short = []
        for variant_id, item in wanted.items():
            variant = known.get(variant_id)
            active = (
                variant is not None and variant.status == variant.product_status == catalog_pb2.PRODUCT_STATUS_ACTIVE
            )
            available = max(variant.available, 0) if variant is not None and active else 0
            if available < item.quantity:
                short.append(f"{variant_id}={available}")
        details = dict(metadata) | {"short": ",".join(short)}
        message = "not enough stock" if reason == "OUT_OF_STOCK" else "a product in the cart cannot be ordered"
        return FailedPrecondition(message, reason=reason, metadata=details)
