"""The cart service's definition: what the kit's server runs."""

from __future__ import annotations

from pathlib import Path

from marketplace.cart.v1 import cart_pb2, cart_pb2_grpc
from services.cart.api import CartApi
from services.cart.catalog import CatalogClient
from services.cart.consumers import order_events_consumer
from services.cart.handlers.deps import Deps
from services.cart.settings import CartSettings
from services.kit import clients
from services.kit.server import Runtime, ServiceDefinition


async def setup(runtime: Runtime) -> None:
    settings = runtime.settings
    if not isinstance(settings, CartSettings):
        raise TypeError("the cart service needs CartSettings")
    if runtime.sessions is None or runtime.reads is None or runtime.redis is None:
        raise RuntimeError("the cart service needs its database and Redis")
    # The catalog's internal GetVariants takes a service token: the cart's own, from auth.
    peers = clients.Peers(settings.auth_target, settings.service, settings.service_client_secret)
    runtime.on_close(peers.close)
    catalog = peers.channel(settings.catalog_target)
    deps = Deps(
        sessions=runtime.sessions,
        reads=runtime.reads,
        catalog=CatalogClient(catalog, timeout=settings.cart_catalog_timeout_seconds),
    )
    runtime.add_task("order-events", order_events_consumer(deps, runtime.redis).run)
    cart_pb2_grpc.add_CartServiceServicer_to_server(CartApi(deps), runtime.server)


DEFINITION = ServiceDefinition(
    name="cart",
    settings_type=CartSettings,
    grpc_services=[cart_pb2.DESCRIPTOR.services_by_name["CartService"]],
    setup=setup,
    migrations=Path(__file__).resolve().parent / "migrations",
)
