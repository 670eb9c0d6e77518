"""The OrderService servicer: protobuf <-> domain translation only. Errors are mapped by the kit's interceptor."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import grpc

from marketplace.common.v1 import money_pb2
from marketplace.order.v1 import order_pb2, order_pb2_grpc
from services.kit.principal import current_principal
from services.kit.protos import timestamp
from services.kit.watch import SubjectWatchers
from services.order import domain
from services.order.domain import Address, Order
from services.order.handlers import fulfilment, placing, reading
from services.order.handlers.deps import Deps

Context = grpc.aio.ServicerContext[Any, Any]

STATUS_VALUES = {
    domain.PENDING_PAYMENT: order_pb2.ORDER_STATUS_PENDING_PAYMENT,
    domain.PAID: order_pb2.ORDER_STATUS_PAID,
    domain.PARTIALLY_SHIPPED: order_pb2.ORDER_STATUS_PARTIALLY_SHIPPED,
    domain.SHIPPED: order_pb2.ORDER_STATUS_SHIPPED,
    domain.DELIVERED: order_pb2.ORDER_STATUS_DELIVERED,
    domain.CANCELLED: order_pb2.ORDER_STATUS_CANCELLED,
    domain.REFUNDED: order_pb2.ORDER_STATUS_REFUNDED,
}
STATUS_NAMES = {value: name for name, value in STATUS_VALUES.items()}
_PART_VALUES = {
    domain.AWAITING_PAYMENT: order_pb2.FULFILMENT_STATUS_AWAITING_PAYMENT,
    domain.TO_SHIP: order_pb2.FULFILMENT_STATUS_TO_SHIP,
    domain.PART_SHIPPED: order_pb2.FULFILMENT_STATUS_SHIPPED,
    domain.PART_DELIVERED: order_pb2.FULFILMENT_STATUS_DELIVERED,
    domain.PART_CANCELLED: order_pb2.FULFILMENT_STATUS_CANCELLED,
}
_REASON_VALUES = {
    domain.BY_BUYER: order_pb2.CANCELLATION_REASON_BUYER,
    domain.PAYMENT_EXPIRED: order_pb2.CANCELLATION_REASON_PAYMENT_EXPIRED,
    domain.BY_REFUND: order_pb2.CANCELLATION_REASON_REFUNDED,
}


def _money(units: int, currency: str) -> money_pb2.Money:
    return money_pb2.Money(currency_code=currency, units=units)


def _address(message: order_pb2.ShippingAddress) -> Address:
    return Address(
        recipient_name=message.recipient_name,
        line1=message.line1,
        line2=message.line2,
        city=message.city,
        region=message.region,
        postal_code=message.postal_code,
        country_code=message.country_code,
        phone=message.phone,
    )


def order_message(order: Order) -> order_pb2.Order:
    address = order.address
    message = order_pb2.Order(
        id=order.id,
        buyer_id=order.buyer_id,
        status=STATUS_VALUES[order.status],
        lines=[
            order_pb2.OrderLine(
                product_id=line.product_id,
                seller_id=line.seller_id,
                sku=line.sku,
                title=line.title,
                unit_price=_money(line.unit_price, line.currency),
                quantity=line.quantity,
                line_total=_money(line.total, line.currency),
                image_url=line.image_url,
                variant_id=line.variant_id,
                option_values=line.option_values,
            )
            for line in order.lines
        ],
        total=_money(order.total, order.currency),
        shipping_address=order_pb2.ShippingAddress(
            recipient_name=address.recipient_name,
            line1=address.line1,
            line2=address.line2,
            city=address.city,
            region=address.region,
            postal_code=address.postal_code,
            country_code=address.country_code,
            phone=address.phone,
        ),
        payment_id=order.payment_id,
        create_time=timestamp(order.created_at),
        update_time=timestamp(order.updated_at),
        payment_due_time=timestamp(order.payment_due_at),
        cancellation_reason=_REASON_VALUES.get(order.cancellation_reason, order_pb2.CANCELLATION_REASON_UNSPECIFIED),
        cancellation_note=order.cancellation_note,
    )
    if order.paid_at is not None:
        message.pay_time.CopyFrom(timestamp(order.paid_at))
    if order.cancelled_at is not None:
        message.cancel_time.CopyFrom(timestamp(order.cancelled_at))
    for part in order.fulfilments:
        fulfilment_message = message.fulfilments.add(
            seller_id=part.seller_id,
            status=_PART_VALUES[part.status],
            subtotal=_money(order.subtotal_of(part.seller_id), order.currency),
        )
        if part.shipment is not None:
            shipment = fulfilment_message.shipment
            shipment.carrier, shipment.tracking_number = part.shipment.carrier, part.shipment.tracking_number
            shipment.ship_time.CopyFrom(timestamp(part.shipment.shipped_at))
            if part.shipment.delivered_at is not None:
                shipment.deliver_time.CopyFrom(timestamp(part.shipment.delivered_at))
    return message


class OrderApi(order_pb2_grpc.OrderServiceServicer):  # type: ignore[misc]  # generated base is untyped
    def __init__(self, deps: Deps, watchers: SubjectWatchers[Order]):
        self._deps = deps
        self._watchers = watchers

    async def CreateOrder(
        self, request: order_pb2.CreateOrderRequest, context: Context
    ) -> order_pb2.CreateOrderResponse:
        order = await placing.create_order(
            self._deps,
            current_principal(),
            request_id=request.request_id,
            address=_address(request.shipping_address),
            fingerprint=hashlib.sha256(request.SerializeToString(deterministic=True)).hexdigest(),
        )
        return order_pb2.CreateOrderResponse(order=order_message(order))

    async def GetOrder(self, request: order_pb2.GetOrderRequest, context: Context) -> order_pb2.GetOrderResponse:
        order = await reading.get_order(self._deps, current_principal(), request.id)
        return order_pb2.GetOrderResponse(order=order_message(order))

    async def ListOrders(self, request: order_pb2.ListOrdersRequest, context: Context) -> order_pb2.ListOrdersResponse:
        page, token = await reading.list_orders(
            self._deps,
            current_principal(),
            status=STATUS_NAMES.get(request.status),
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return order_pb2.ListOrdersResponse(orders=[order_message(order) for order in page], next_page_token=token)

    async def CancelOrder(
        self, request: order_pb2.CancelOrderRequest, context: Context
    ) -> order_pb2.CancelOrderResponse:
        order = await fulfilment.cancel_order(self._deps, current_principal(), request.id, request.note)
        return order_pb2.CancelOrderResponse(order=order_message(order))

    async def UpdateShippingAddress(
        self, request: order_pb2.UpdateShippingAddressRequest, context: Context
    ) -> order_pb2.UpdateShippingAddressResponse:
        order = await fulfilment.update_shipping_address(
            self._deps, current_principal(), request.id, _address(request.shipping_address)
        )
        return order_pb2.UpdateShippingAddressResponse(order=order_message(order))

    async def ShipOrder(self, request: order_pb2.ShipOrderRequest, context: Context) -> order_pb2.ShipOrderResponse:
        order = await fulfilment.ship(
            self._deps,
            current_principal(),
            request.id,
            seller_id=request.seller_id,
            carrier=request.carrier,
            tracking_number=request.tracking_number,
        )
        return order_pb2.ShipOrderResponse(order=order_message(order))

    async def MarkDelivered(
        self, request: order_pb2.MarkDeliveredRequest, context: Context
    ) -> order_pb2.MarkDeliveredResponse:
        order = await fulfilment.mark_delivered(
            self._deps, current_principal(), request.id, seller_id=request.seller_id
        )
        return order_pb2.MarkDeliveredResponse(order=order_message(order))

    async def WatchOrder(
        self, request: order_pb2.WatchOrderRequest, context: Context
    ) -> AsyncIterator[order_pb2.WatchOrderResponse]:
        async for order in reading.watch_order(self._deps, self._watchers, current_principal(), request.id):
            yield order_pb2.WatchOrderResponse(order=order_message(order))

    async def GetOrderSummary(
        self, request: order_pb2.GetOrderSummaryRequest, context: Context
    ) -> order_pb2.GetOrderSummaryResponse:
        order = await reading.order_summary(self._deps, request.id)
        return order_pb2.GetOrderSummaryResponse(
            id=order.id,
            buyer_id=order.buyer_id,
            status=STATUS_VALUES[order.status],
            total=_money(order.total, order.currency),
            payment_due_time=timestamp(order.payment_due_at),
        )
