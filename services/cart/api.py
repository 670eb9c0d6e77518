"""The CartService servicer: protobuf <-> domain translation only. Errors are mapped by the kit's interceptor."""

from __future__ import annotations

from typing import Any

import grpc

from marketplace.cart.v1 import cart_pb2, cart_pb2_grpc
from marketplace.common.v1 import money_pb2
from services.cart import domain
from services.cart.domain import PricedCart, PricedLine
from services.cart.handlers import cart_lines, orders
from services.cart.handlers.deps import Deps, actor_of
from services.kit.principal import current_principal
from services.kit.protos import timestamp

Context = grpc.aio.ServicerContext[Any, Any]

_ACTORS = {domain.BUYER: cart_pb2.CART_ACTOR_BUYER, domain.ASSISTANT: cart_pb2.CART_ACTOR_ASSISTANT}


def _money(units: int, currency: str) -> money_pb2.Money:
    return money_pb2.Money(currency_code=currency, units=units)


def _line(priced: PricedLine) -> cart_pb2.CartLine:
    line = priced.line
    return cart_pb2.CartLine(
        product_id=line.product_id,
        seller_id=priced.seller_id,
        title=priced.title,
        unit_price=_money(priced.price_units, priced.currency),
        image_url=priced.image_url,
        quantity=line.quantity,
        line_total=_money(priced.total_units, priced.currency),
        available=priced.available,
        added_by=_ACTORS[line.added_by.kind],
        added_by_actor=line.added_by.assistant,
        add_time=timestamp(line.created_at),
        variant_id=line.variant_id,
        sku=priced.sku,
        option_values=dict(priced.option_values),
        price_changed=priced.price_changed,
        added_unit_price=_money(line.price_units, line.currency),
        available_quantity=priced.available_quantity,
    )


def _cart(priced: PricedCart) -> cart_pb2.Cart:
    cart = cart_pb2.Cart(
        buyer_id=priced.buyer_id,
        lines=[_line(line) for line in priced.lines],
        item_count=priced.item_count,
        mixed_currencies=priced.mixed_currencies,
    )
    if priced.lines:
        cart.subtotal.CopyFrom(_money(priced.subtotal_units, priced.currency))
    if priced.updated_at is not None:
        cart.update_time.CopyFrom(timestamp(priced.updated_at))
    return cart


class CartApi(cart_pb2_grpc.CartServiceServicer):  # type: ignore[misc]  # generated base is untyped
    def __init__(self, deps: Deps):
        self._deps = deps

    async def GetCart(self, request: cart_pb2.GetCartRequest, context: Context) -> cart_pb2.GetCartResponse:
        priced = await cart_lines.get_cart(self._deps, current_principal().subject)
        return cart_pb2.GetCartResponse(cart=_cart(priced))

    async def AddCartItem(self, request: cart_pb2.AddCartItemRequest, context: Context) -> cart_pb2.AddCartItemResponse:
        priced, variant_id = await cart_lines.add_item(
            self._deps,
            actor_of(current_principal()),
            product_id=request.product_id,
            variant_id=request.variant_id,
            quantity=request.quantity,
        )
        response = cart_pb2.AddCartItemResponse(cart=_cart(priced))
        for line in priced.lines:
            if line.line.variant_id == variant_id:
                response.line.CopyFrom(_line(line))
        return response

    async def UpdateCartItem(
        self, request: cart_pb2.UpdateCartItemRequest, context: Context
    ) -> cart_pb2.UpdateCartItemResponse:
        priced = await cart_lines.update_item(
            self._deps, actor_of(current_principal()), variant_id=request.variant_id, quantity=request.quantity
        )
        return cart_pb2.UpdateCartItemResponse(cart=_cart(priced))

    async def RemoveCartItem(
        self, request: cart_pb2.RemoveCartItemRequest, context: Context
    ) -> cart_pb2.RemoveCartItemResponse:
        priced = await cart_lines.remove_item(self._deps, actor_of(current_principal()), request.variant_id)
        return cart_pb2.RemoveCartItemResponse(cart=_cart(priced))

    async def ClearCart(self, request: cart_pb2.ClearCartRequest, context: Context) -> cart_pb2.ClearCartResponse:
        priced = await cart_lines.clear_cart(self._deps, actor_of(current_principal()))
        return cart_pb2.ClearCartResponse(cart=_cart(priced))

    async def GetCartLines(
        self, request: cart_pb2.GetCartLinesRequest, context: Context
    ) -> cart_pb2.GetCartLinesResponse:
        lines = await orders.cart_lines(self._deps, request.buyer_id)
        return cart_pb2.GetCartLinesResponse(
            lines=[
                cart_pb2.CartLineItem(product_id=line.product_id, variant_id=line.variant_id, quantity=line.quantity)
                for line in lines
            ]
        )
