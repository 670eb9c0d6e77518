"""The notify service's definition: what the kit's server runs (the API, the event consumers and the relay
that hands notification records to the email queue). The email worker is a process of its own (`worker.py`)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from marketplace.notify.v1 import notify_pb2, notify_pb2_grpc
from services.kit import clients
from services.kit.server import Runtime, ServiceDefinition
from services.notify.api import NotifyApi
from services.notify.consumers import event_consumers
from services.notify.directory import AuthDirectory
from services.notify.queue import EmailRelay
from services.notify.settings import NotifySettings
from services.notify.wiring import arq_redis, deps_of


async def setup(runtime: Runtime) -> None:
    settings = runtime.settings
    if not isinstance(settings, NotifySettings):
        raise TypeError("the notify service needs NotifySettings")
    if runtime.sessions is None or runtime.redis is None or runtime.engine is None:
        raise RuntimeError("the notify service needs its database and Redis")
    # Auth's GetUserContact takes a service token: notify's own, from auth.
    auth = clients.channel(settings.auth_target)
    token = clients.ServiceToken(auth, settings.service, settings.service_client_secret)
    contacts = clients.channel(settings.auth_target, token=token)
    deps = deps_of(settings, runtime.sessions, AuthDirectory(contacts))
    arq = arq_redis(settings)

    async def close() -> None:
        await arq.aclose(close_connection_pool=True)
        await contacts.close(None)
        await auth.close(None)

    runtime.on_close(close)
    notify_pb2_grpc.add_NotifyServiceServicer_to_server(NotifyApi(deps), runtime.server)
    for source, consumer in event_consumers(deps, runtime.redis, settings).items():
        runtime.add_task(f"{source}-events", consumer.run)
    relay = EmailRelay(
        deps,
        runtime.engine,
        arq,
        queue_name=settings.notify_queue_name,
        requeue_after=timedelta(seconds=settings.notify_requeue_after_seconds),
    )
    runtime.add_task("email-relay", relay.run)


DEFINITION = ServiceDefinition(
    name="notify",
    settings_type=NotifySettings,
    grpc_services=[notify_pb2.DESCRIPTOR.services_by_name["NotifyService"]],
    setup=setup,
    migrations=Path(__file__).resolve().parent / "migrations",
    publishes_events=False,
)
