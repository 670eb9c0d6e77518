"""The real catalog service (and the real auth service for tokens) on free ports, against fresh databases."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest

from marketplace.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from marketplace.common.v1 import money_pb2, roles_pb2
from services.catalog.service import DEFINITION, MAX_MESSAGE_BYTES
from services.catalog.settings import CatalogSettings
from services.kit.server import RunningService
from tests.support.auth import Auth, StartAuth, bearer, service_token, start_auth
from tests.support.serving import migrate_service, serving, settings_under_test
from tests.support.sql import run_sql

__all__ = ["Catalog", "StartCatalog", "catalog", "start_auth", "start_catalog"]


@dataclass
class Catalog:
    running: RunningService
    channel: grpc.aio.Channel
    stub: catalog_pb2_grpc.CatalogServiceStub
    settings: CatalogSettings
    auth: Auth

    async def sql(self, statement: str, **params: Any) -> list[Any]:
        return await run_sql(self.running.runtime.sessions, statement, **params)

    async def seller(self) -> tuple[tuple[tuple[str, str]], str]:
        """A new seller's (call metadata, user id)."""
        token, user_id = await self.auth.user_token(role=roles_pb2.ROLE_SELLER)
        return bearer(token), user_id

    async def buyer(self) -> tuple[tuple[tuple[str, str]], str]:
        token, user_id = await self.auth.user_token()
        return bearer(token), user_id

    async def admin(self) -> tuple[tuple[tuple[str, str]], str]:
        token, user_id = await self.auth.admin()
        return bearer(token), user_id

    async def service(self, name: str = "order") -> tuple[tuple[str, str]]:
        return bearer(await service_token(self.auth, name))

    async def create(self, metadata: tuple[tuple[str, str]], **fields: Any) -> catalog_pb2.Product:
        """Creates a product with sensible values; `fields` override them (price as units)."""
        values: dict[str, Any] = {
            "sku": "SKU-" + uuid.uuid4().hex[:10],
            "title": "Insulated travel mug",
            "description": "Keeps coffee hot for hours.",
            "category": "kitchen",
            "brand": "Thermia",
            "attributes": {"color": "blue"},
            "stock": 10,
        }
        price = fields.pop("price", 1999)
        currency = fields.pop("currency", "USD")
        values.update(fields)
        product = catalog_pb2.Product(price=money_pb2.Money(currency_code=currency, units=price), **values)
        response = await self.stub.CreateProduct(
            catalog_pb2.CreateProductRequest(product=product, request_id=str(uuid.uuid4())), metadata=metadata
        )
        created: catalog_pb2.Product = response.product
        return created


def catalog_settings(
    database_url: str, redis_url: str, url: str, auth_target: str, **overrides: Any
) -> CatalogSettings:
    values: dict[str, Any] = {
        "auth_target": auth_target,
        "catalog_image_port": 0,
        "catalog_reservation_sweep_seconds": 0.2,
        # Each test consumes its own order stream: another test's events never reach it.
        "catalog_order_events_stream": f"events.order.test-{uuid.uuid4().hex[:8]}",
    }
    return settings_under_test(CatalogSettings, database_url, redis_url, url, **(values | overrides))


StartCatalog = Callable[..., Awaitable[Catalog]]


@pytest.fixture
async def start_catalog(
    infra: Any, fresh_database: Any, start_auth: StartAuth, tmp_path: Path
) -> AsyncIterator[StartCatalog]:
    """`catalog = await start_catalog(**setting_overrides)`: auth, a migrated catalog database, the service."""
    auth: Auth | None = None
    async with AsyncExitStack() as stack:

        async def start(**overrides: Any) -> Catalog:
            nonlocal auth
            if auth is None:
                auth = await start_auth()
            url = overrides.pop("service_database_url", None) or await fresh_database("catalog")
            await migrate_service(DEFINITION, url)
            overrides.setdefault("catalog_image_dir", tmp_path / f"images-{uuid.uuid4().hex[:6]}")
            settings = catalog_settings(infra.database_url, infra.redis_url, url, auth.running.address, **overrides)
            running, channel = await stack.enter_async_context(
                serving(DEFINITION, settings, channel_options=CHANNEL_OPTIONS)
            )
            return Catalog(running, channel, catalog_pb2_grpc.CatalogServiceStub(channel), settings, auth)

        yield start


CHANNEL_OPTIONS = (
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
)


@pytest.fixture
async def catalog(start_catalog: StartCatalog) -> Catalog:
    return await start_catalog()
