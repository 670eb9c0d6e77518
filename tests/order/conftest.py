"""The real order service with the real cart, catalog and auth services, on free ports against fresh databases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from redis.asyncio import Redis

from marketplace.order.v1 import order_pb2_grpc
from services.kit.bus import ENVELOPE_FIELD
from services.kit.outbox import make_envelope, stream_for
from services.kit.server import RunningService
from services.order.service import DEFINITION
from services.order.settings import OrderSettings
from tests.cart.conftest import CartService, StartCart, start_auth, start_cart, start_catalog
from tests.catalog.conftest import StartCatalog
from tests.support.auth import service_secret
from tests.support.events import outbox_events
from tests.support.serving import migrate_service, serving, settings_under_test
from tests.support.sql import run_sql

__all__ = ["OrderService", "StartOrder", "order", "start_auth", "start_cart", "start_catalog", "start_order"]


@dataclass
class OrderService:
    running: RunningService
    channel: grpc.aio.Channel
    stub: order_pb2_grpc.OrderServiceStub
    settings: OrderSettings
    cart: CartService

    async def sql(self, statement: str, **params: Any) -> list[Any]:
        return await run_sql(self.running.runtime.sessions, statement, **params)

    async def events(self) -> list[tuple[str, Any]]:
        """Every event in the service's outbox, oldest first: (type, unpacked payload)."""
        return await outbox_events(self.running.runtime.sessions)

    async def publish_payment_event(self, subject: str, payload: Message) -> str:
        """Adds an event to the payment stream as the payment service's relay would; returns its id."""
        redis = self.running.runtime.redis
        assert isinstance(redis, Redis)
        envelope = make_envelope("payment", subject, payload)
        await redis.xadd(stream_for("payment"), {ENVELOPE_FIELD: envelope.SerializeToString()})
        return str(envelope.id)


def order_settings(
    database_url: str,
    redis_url: str,
    url: str,
    auth_target: str,
    catalog_target: str,
    cart_target: str,
    **overrides: Any,
) -> OrderSettings:
    values: dict[str, Any] = {
        "auth_target": auth_target,
        "catalog_target": catalog_target,
        "cart_target": cart_target,
        "service_client_secret": service_secret("order"),
        "order_expiry_sweep_seconds": 0.2,
    }
    return settings_under_test(OrderSettings, database_url, redis_url, url, **(values | overrides))


StartOrder = Callable[..., Awaitable[OrderService]]


@pytest.fixture
async def start_order(
    infra: Any, fresh_database: Any, start_catalog: StartCatalog, start_cart: StartCart
) -> AsyncIterator[StartOrder]:
    """`order = await start_order(**setting_overrides)`: auth, the catalog, the cart and the order service."""
    async with AsyncExitStack() as stack:

        async def start(cart: CartService | None = None, **overrides: Any) -> OrderService:
            # The catalog takes the order's real events (commit, release), as in a running mesh.
            cart = cart or await start_cart(await start_catalog(catalog_order_events_stream=stream_for("order")))
            url = overrides.pop("service_database_url", None) or await fresh_database("order")
            await migrate_service(DEFINITION, url)
            settings = order_settings(
                infra.database_url,
                infra.redis_url,
                url,
                cart.catalog.auth.running.address,
                cart.catalog.running.address,
                cart.running.address,
                **overrides,
            )
            running, channel = await stack.enter_async_context(serving(DEFINITION, settings))
            return OrderService(running, channel, order_pb2_grpc.OrderServiceStub(channel), settings, cart)

        yield start


@pytest.fixture
async def order(start_order: StartOrder) -> OrderService:
    return await start_order()
