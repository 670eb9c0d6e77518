"""One real stack per test module: auth, catalog and cart on free ports against fresh databases, and real Envoy
in front of them with the config generated from the contracts (for this stack's ports)."""

from __future__ import annotations

import shutil
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from marketplace.auth.v1 import auth_pb2_grpc
from marketplace.cart.v1 import cart_pb2_grpc
from marketplace.catalog.v1 import catalog_pb2_grpc
from services.auth.service import DEFINITION as AUTH
from services.cart.service import DEFINITION as CART
from services.catalog.service import DEFINITION as CATALOG
from services.edge.runner import Edge, start_edge, stop_edge
from services.edge.settings import (
    DEFAULT_RATE_LIMITS,
    EDGE_DESCRIPTORS,
    OPENAPI_PATH,
    EdgeSettings,
    RateLimit,
    Upstream,
)
from services.kit.db import drop_database, ensure_database
from tests.cart.conftest import cart_settings
from tests.catalog.conftest import CHANNEL_OPTIONS, Catalog, catalog_settings
from tests.support.auth import Auth, auth_settings, service_secret
from tests.support.serving import migrate_service, serving

WEB_ORIGIN = "https://shop.example.com"
# Small enough to reach in a test, on an RPC no other test of the module calls.
RESET_LIMIT = RateLimit(3, 60)
# Short, so a key rotation reaches the edge within a test; auth publishes a rotated key longer than that before
# it signs with it, as in production (40 s against 30).
JWKS_CACHE_SECONDS = 2
KEY_ROTATION_LEAD_SECONDS = JWKS_CACHE_SECONDS + 2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Stack:
    auth: Auth
    catalog: Catalog
    cart: cart_pb2_grpc.CartServiceStub
    edge: Edge
    http: httpx.AsyncClient
    log: Path

    @property
    def url(self) -> str:
        return self.edge.url

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.edge.settings.listen_port}"

    def access_log(self) -> list[dict[str, Any]]:
        import json

        entries = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                entries.append(json.loads(line))
        return entries


@pytest.fixture(scope="module")
async def stack(infra: Any) -> AsyncIterator[Stack]:
    made: list[str] = []

    async def database(prefix: str) -> str:
        name = f"t_{prefix}_{uuid.uuid4().hex[:12]}"
        made.append(name)
        return await ensure_database(infra.database_url, name)

    work = Path(tempfile.mkdtemp(prefix="mesh-edge-"))
    async with AsyncExitStack() as exits:
        try:
            url = await database("auth")
            await migrate_service(AUTH, url)
            settings = auth_settings(
                infra.database_url, infra.redis_url, url, auth_key_rotation_lead_seconds=KEY_ROTATION_LEAD_SECONDS
            )
            running, channel = await exits.enter_async_context(serving(AUTH, settings))
            auth = Auth(running, channel, auth_pb2_grpc.AuthServiceStub(channel), settings)

            url = await database("catalog")
            await migrate_service(CATALOG, url)
            catalog_config = catalog_settings(
                infra.database_url,
                infra.redis_url,
                url,
                auth.running.address,
                catalog_image_dir=work / "images",
                service_client_secret=service_secret("catalog"),
            )
            running, channel = await exits.enter_async_context(
                serving(CATALOG, catalog_config, channel_options=CHANNEL_OPTIONS)
            )
            catalog = Catalog(running, channel, catalog_pb2_grpc.CatalogServiceStub(channel), catalog_config, auth)

            url = await database("cart")
            await migrate_service(CART, url)
            cart_config = cart_settings(
                infra.database_url, infra.redis_url, url, auth.running.address, catalog.running.address
            )
            running, channel = await exits.enter_async_context(serving(CART, cart_config))

            def upstream(address: str) -> Upstream:
                host, port = address.rsplit(":", 1)
                return Upstream(host, int(port))

            edge_settings = EdgeSettings(
                upstreams={
                    "auth": upstream(auth.running.address),
                    "catalog": upstream(catalog.running.address),
                    "cart": upstream(running.address),
                },
                listen_port=free_port(),
                admin_port=free_port(),
                web_origins=(WEB_ORIGIN,),
                descriptor_path=str(EDGE_DESCRIPTORS),
                openapi_path=str(OPENAPI_PATH),
                rate_limits=DEFAULT_RATE_LIMITS | {"auth.RequestPasswordReset": RESET_LIMIT},
                jwks_cache_seconds=JWKS_CACHE_SECONDS,
            )
            log = work / "envoy.log"
            edge = await start_edge(edge_settings, work, log_path=log, concurrency=1)
            exits.push_async_callback(stop_edge, edge)
            http = await exits.enter_async_context(httpx.AsyncClient(base_url=edge.url, timeout=10.0))
            yield Stack(auth, catalog, cart_pb2_grpc.CartServiceStub(channel), edge, http, log)
        finally:
            await exits.aclose()
            for name in made:
                await drop_database(infra.database_url, name)
            shutil.rmtree(work, ignore_errors=True)
