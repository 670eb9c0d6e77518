"""The real cart service, with the real catalog and auth services, on free ports against fresh databases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import grpc
import pytest

from marketplace.cart.v1 import cart_pb2_grpc
from services.cart.service import DEFINITION
from services.cart.settings import CartSettings
from services.kit.server import RunningService
from tests.catalog.conftest import Catalog, StartCatalog, start_auth, start_catalog
from tests.support.auth import service_secret
from tests.support.events import outbox_events
from tests.support.serving import migrate_service, serving, settings_under_test
from tests.support.sql import run_sql

__all__ = ["CartService", "StartCart", "cart", "start_auth", "start_cart", "start_catalog"]


@dataclass
class CartService:
    running: RunningService
    channel: grpc.aio.Channel
    stub: cart_pb2_grpc.CartServiceStub
    settings: CartSettings
    catalog: Catalog

    async def sql(self, statement: str, **params: Any) -> list[Any]:
        return await run_sql(self.running.runtime.sessions, statement, **params)

    async def events(self) -> list[tuple[str, Any]]:
        """Every event in the service's outbox, oldest first: (type, unpacked payload)."""
        return await outbox_events(self.running.runtime.sessions)


def cart_settings(
    database_url: str, redis_url: str, url: str, auth_target: str, catalog_target: str, **overrides: Any
) -> CartSettings:
    values: dict[str, Any] = {
        "auth_target": auth_target,
        "catalog_target": catalog_target,
        "service_client_secret": service_secret("cart"),
    }
    return settings_under_test(CartSettings, database_url, redis_url, url, **(values | overrides))


StartCart = Callable[..., Awaitable[CartService]]


@pytest.fixture
async def start_cart(infra: Any, fresh_database: Any, start_catalog: StartCatalog) -> AsyncIterator[StartCart]:
    """`cart = await start_cart(**setting_overrides)`: auth, the catalog, a migrated cart database, the service."""
    async with AsyncExitStack() as stack:

        async def start(catalog: Catalog | None = None, **overrides: Any) -> CartService:
            catalog = catalog or await start_catalog()
            url = overrides.pop("service_database_url", None) or await fresh_database("cart")
            await migrate_service(DEFINITION, url)
            settings = cart_settings(
                infra.database_url,
                infra.redis_url,
                url,
                catalog.auth.running.address,
                catalog.running.address,
                **overrides,
            )
            running, channel = await stack.enter_async_context(serving(DEFINITION, settings))
            return CartService(running, channel, cart_pb2_grpc.CartServiceStub(channel), settings, catalog)

        yield start


@pytest.fixture
async def cart(start_cart: StartCart) -> CartService:
    return await start_cart()
