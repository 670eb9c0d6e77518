"""The whole checkout: real auth, catalog, cart, order and payment services on free ports against fresh databases,
every consumer reading the real event streams the others publish to."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import grpc
import pytest

from marketplace.payment.v1 import payment_pb2_grpc
from services.kit.outbox import stream_for
from services.kit.server import RunningService
from services.payment.service import DEFINITION as PAYMENT
from services.payment.settings import PaymentSettings
from tests.order.conftest import OrderService, StartOrder, start_auth, start_cart, start_catalog, start_order
from tests.payment.conftest import payment_settings
from tests.support.serving import migrate_service, serving
from tests.support.sql import run_sql

__all__ = ["Checkout", "StartCheckout", "checkout", "start_auth", "start_cart", "start_catalog", "start_order"]


@dataclass
class Checkout:
    order: OrderService
    payment_running: RunningService
    payment_channel: grpc.aio.Channel
    payment: payment_pb2_grpc.PaymentServiceStub
    payment_settings: PaymentSettings

    async def payment_sql(self, statement: str, **params: Any) -> list[Any]:
        return await run_sql(self.payment_running.runtime.sessions, statement, **params)


StartCheckout = Callable[..., Awaitable[Checkout]]


@pytest.fixture
async def start_checkout(infra: Any, fresh_database: Any, start_order: StartOrder) -> AsyncIterator[StartCheckout]:
    """`shop = await start_checkout(order={...}, payment={...})`: the five services, settings overridden per service."""
    async with AsyncExitStack() as stack:

        async def start(order: dict[str, Any] | None = None, payment: dict[str, Any] | None = None) -> Checkout:
            orders = await start_order(**(order or {}))
            url = await fresh_database("payment")
            await migrate_service(PAYMENT, url)
            settings = payment_settings(
                infra.database_url,
                infra.redis_url,
                url,
                orders.cart.catalog.auth.running.address,
                orders.running.address,
                **({"payment_order_events_stream": stream_for("order")} | (payment or {})),
            )
            running, channel = await stack.enter_async_context(serving(PAYMENT, settings))
            return Checkout(orders, running, channel, payment_pb2_grpc.PaymentServiceStub(channel), settings)

        yield start


@pytest.fixture
async def checkout(start_checkout: StartCheckout) -> Checkout:
    return await start_checkout()
