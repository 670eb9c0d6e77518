"""The order service as payment sees it: GetOrderSummary (internal), called with payment's service token."""

from __future__ import annotations

from datetime import UTC

import grpc

from marketplace.order.v1 import order_pb2, order_pb2_grpc
from services.kit.clients import call
from services.kit.errors import NotFound
from services.payment.domain import OrderSummary


class OrderClient:
    def __init__(self, channel: grpc.aio.Channel, *, timeout: float) -> None:
        self._stub = order_pb2_grpc.OrderServiceStub(channel)
        self._timeout = timeout

    async def summary(self, order_id: str) -> OrderSummary:
        """What paying the order needs; NotFound when the order service has no such order."""
        try:
            response = await call(
                self._stub.GetOrderSummary, order_pb2.GetOrderSummaryRequest(id=order_id), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                raise NotFound("order not found", metadata={"order_id": order_id}) from None
            raise
        status = order_pb2.OrderStatus.Name(response.status).removeprefix("ORDER_STATUS_")
        return OrderSummary(
            order_id=response.id or order_id,
            buyer_id=response.buyer_id,
            status=status,
            total_units=response.total.units,
            currency=response.total.currency_code,
            payment_due=response.payment_due_time.ToDatetime(tzinfo=UTC)
            if response.HasField("payment_due_time")
            else None,
        )
