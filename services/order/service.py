"""The order service's definition: what the kit's server runs."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

from marketplace.order.v1 import order_pb2, order_pb2_grpc
from services.kit import clients
from services.kit.bus import StreamTail
from services.kit.loops import wait_for_stop
from services.kit.outbox import stream_for
from services.kit.server import Runtime, ServiceDefinition
from services.kit.watch import SubjectWatchers
from services.order.api import OrderApi
from services.order.consumers import payment_events_consumer
from services.order.domain import Order
from services.order.handlers import fulfilment, reading
from services.order.handlers.deps import Deps
from services.order.settings import OrderSettings
from services.order.upstream import CartClient, CatalogClient


async def setup(runtime: Runtime) -> None:
    settings = runtime.settings
    if not isinstance(settings, OrderSettings):
        raise TypeError("the order service needs OrderSettings")
    if runtime.sessions is None or runtime.reads is None or runtime.redis is None:
        raise RuntimeError("the order service needs its database and Redis")
    # The catalog's ReserveStock and the cart's GetCartLines take a service token: the order's own, from auth.
    peers = clients.Peers(settings.auth_target, settings.service, settings.service_client_secret)
    runtime.on_close(peers.close)
    catalog, cart = peers.channel(settings.catalog_target), peers.channel(settings.cart_target)
    timeout = settings.order_call_timeout_seconds
    deps = Deps(
        settings=settings,
        sessions=runtime.sessions,
        reads=runtime.reads,
        catalog=CatalogClient(catalog, timeout=timeout),
        cart=CartClient(cart, timeout=timeout),
    )
    # One tail of the order's own events per process feeds its WatchOrder streams.
    tail = StreamTail(runtime.redis, stream_for("order"))
    watchers: SubjectWatchers[Order] = SubjectWatchers(
        functools.partial(reading.load, deps), tail.reading, queue_size=settings.order_watch_queue_size
    )
    tail.add_handler(watchers.on_event)

    async def expire_overdue(stop: asyncio.Event) -> None:
        while not await wait_for_stop(stop, settings.order_expiry_sweep_seconds):
            # A full batch means more may be waiting: go again at once.
            while await fulfilment.expire_overdue(deps) >= settings.order_expiry_sweep_batch:
                pass

    runtime.add_task("order-events", tail.run)
    runtime.add_task("payment-events", payment_events_consumer(deps, runtime.redis).run)
    runtime.add_task("payment-expiry", expire_overdue)
    order_pb2_grpc.add_OrderServiceServicer_to_server(OrderApi(deps, watchers), runtime.server)


DEFINITION = ServiceDefinition(
    name="order",
    settings_type=OrderSettings,
    grpc_services=[order_pb2.DESCRIPTOR.services_by_name["OrderService"]],
    setup=setup,
    migrations=Path(__file__).resolve().parent / "migrations",
)
