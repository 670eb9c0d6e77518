"""The real seller service beside the five checkout services (auth, catalog, cart, order, payment), every one on
a free port against a fresh database, all on the real event streams. Each test's seller reads the streams as a
consumer group of its own, from their first entry."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from redis.asyncio import Redis

from marketplace.seller.v1 import seller_pb2_grpc
from services.kit.server import RunningService
from services.seller.handlers.deps import Deps
from services.seller.service import DEFINITION
from services.seller.settings import SellerSettings
from tests.checkout.conftest import (
    Checkout,
    StartCheckout,
    start_auth,
    start_cart,
    start_catalog,
    start_checkout,
    start_order,
)
from tests.support.serving import migrate_service, serving, settings_under_test
from tests.support.sql import run_sql

__all__ = [
    "SellerService",
    "StartSeller",
    "start_auth",
    "start_cart",
    "start_catalog",
    "start_checkout",
    "start_order",
    "start_seller",
]


def seller_settings(database_url: str, redis_url: str, url: str, auth_target: str, **overrides: Any) -> SellerSettings:
    values: dict[str, Any] = {
        "auth_target": auth_target,
        "seller_events_group": f"seller-{uuid.uuid4().hex[:12]}",
        "seller_marketplace_fee_rate": 1250,
    }
    return settings_under_test(SellerSettings, database_url, redis_url, url, **(values | overrides))


@dataclass
class SellerService:
    checkout: Checkout
    running: RunningService
    channel: grpc.aio.Channel
    stub: seller_pb2_grpc.SellerServiceStub
    settings: SellerSettings

    async def sql(self, statement: str, **params: Any) -> list[Any]:
        return await run_sql(self.running.runtime.sessions, statement, **params)

    @property
    def redis(self) -> Redis:
        redis = self.running.runtime.redis
        assert isinstance(redis, Redis)
        return redis

    def deps(self) -> Deps:
        sessions = self.running.runtime.sessions
        assert sessions is not None
        return Deps(settings=self.settings, sessions=sessions)


StartSeller = Callable[..., Awaitable[SellerService]]


@pytest.fixture
async def start_seller(infra: Any, fresh_database: Any, start_checkout: StartCheckout) -> AsyncIterator[StartSeller]:
    """`seller = await start_seller(**settings)`: the checkout's five services and the seller service."""
    async with AsyncExitStack() as stack:

        async def start(**overrides: Any) -> SellerService:
            checkout = await start_checkout()
            url = await fresh_database("seller")
            await migrate_service(DEFINITION, url)
            auth_target = checkout.order.cart.catalog.auth.running.address
            settings = seller_settings(infra.database_url, infra.redis_url, url, auth_target, **overrides)
            running, channel = await stack.enter_async_context(serving(DEFINITION, settings))
            return SellerService(checkout, running, channel, seller_pb2_grpc.SellerServiceStub(channel), settings)

        yield start
