"""Shared steps of the order tests: a shop with two sellers, a buyer's cart, and paying through the payment
stream as the payment service would."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import grpc
import pytest

from marketplace.cart.v1 import cart_pb2
from marketplace.catalog.v1 import catalog_pb2
from marketplace.common.v1 import money_pb2
from marketplace.events.v1 import events_pb2
from marketplace.order.v1 import order_pb2
from tests.order.conftest import OrderService
from tests.support.polling import eventually

Metadata = tuple[tuple[str, str]]


def address(**fields: Any) -> order_pb2.ShippingAddress:
    values = {"recipient_name": "Ada Buyer", "line1": "1 Main St", "city": "Berlin", "country_code": "DE"}
    return order_pb2.ShippingAddress(**(values | fields))


def create(request_id: str | None = None, **fields: Any) -> order_pb2.CreateOrderRequest:
    return order_pb2.CreateOrderRequest(request_id=request_id or str(uuid.uuid4()), shipping_address=address(**fields))


async def refused(call: Any, code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert caught.value.code() == code, caught.value.details()
    return caught.value


@dataclass
class Shop:
    """Two sellers: one sells a shoe in sizes 41–43 (10 each, 80.00), the other a mug (10, 19.99)."""

    order: OrderService
    shoe_seller: Metadata
    shoe_seller_id: str
    mug_seller: Metadata
    mug_seller_id: str
    shoe: catalog_pb2.Product
    mug: catalog_pb2.Product

    @classmethod
    async def open(cls, order: OrderService) -> Shop:
        catalog = order.cart.catalog
        shoe_seller, shoe_seller_id = await catalog.seller()
        mug_seller, mug_seller_id = await catalog.seller()
        shoe = await catalog.create(
            shoe_seller,
            title="Trail running shoe",
            price=8000,
            options=[catalog_pb2.ProductOption(name="size", values=["41", "42", "43"])],
        )
        mug = await catalog.create(mug_seller, price=1999, stock=10)
        return cls(order, shoe_seller, shoe_seller_id, mug_seller, mug_seller_id, shoe, mug)

    def size(self, value: str) -> catalog_pb2.ProductVariant:
        return next(variant for variant in self.shoe.variants if variant.option_values["size"] == value)

    async def buyer(self) -> tuple[Metadata, str]:
        return await self.order.cart.catalog.buyer()

    async def fill_cart(self, buyer: Metadata, *, sizes: dict[str, int] | None = None, mugs: int = 1) -> None:
        for size, quantity in (sizes if sizes is not None else {"42": 1, "43": 2}).items():
            await self.order.cart.stub.AddCartItem(
                cart_pb2.AddCartItemRequest(product_id=self.shoe.id, variant_id=self.size(size).id, quantity=quantity),
                metadata=buyer,
            )
        if mugs:
            await self.order.cart.stub.AddCartItem(
                cart_pb2.AddCartItemRequest(product_id=self.mug.id, quantity=mugs), metadata=buyer
            )

    async def place(self, buyer: Metadata, **cart: Any) -> order_pb2.Order:
        await self.fill_cart(buyer, **cart)
        response = await self.order.stub.CreateOrder(create(), metadata=buyer)
        placed: order_pb2.Order = response.order
        return placed

    async def get(self, order_id: str, who: Metadata) -> order_pb2.Order:
        found: order_pb2.Order = (
            await self.order.stub.GetOrder(order_pb2.GetOrderRequest(id=order_id), metadata=who)
        ).order
        return found

    async def pay(self, placed: order_pb2.Order, payment_id: str | None = None) -> str:
        """A PaymentSucceeded for the order's total on the payment stream; waits until the order took it."""
        payment_id = payment_id or str(uuid.uuid4())
        await self.order.publish_payment_event(
            payment_id,
            events_pb2.PaymentSucceeded(
                payment_id=payment_id,
                order_id=placed.id,
                buyer_id=placed.buyer_id,
                amount=money_pb2.Money(currency_code=placed.total.currency_code, units=placed.total.units),
                provider="local",
            ),
        )
        return payment_id

    async def status_becomes(self, order_id: str, who: Metadata, status: int, timeout: float = 10.0) -> None:
        async def reached() -> bool:
            return (await self.get(order_id, who)).status == status

        await eventually(reached, timeout=timeout, message=f"order never reached {order_pb2.OrderStatus.Name(status)}")

    async def stock(self, variant_id: str) -> tuple[int, int]:
        """(units in stock, units reserved) of a variant, as the catalog's database holds them."""
        ((stock, reserved),) = await self.order.cart.catalog.sql(
            "SELECT stock, reserved FROM product_variants WHERE id = :id", id=variant_id
        )
        return int(stock), int(reserved)
