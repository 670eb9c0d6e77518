"""Serving a service: the grpc.aio server, health, reflection, background tasks and a graceful drain.

`run_service` connects the service's database and Redis, builds the interceptor chain, lets the service's
`setup` add its servicers and tasks, and serves until `stop` is set. Health (`grpc.health.v1.Health`, for the
overall server "" and each of the service's gRPC services) follows the dependencies: a background loop pings
them about every second and reports NOT_SERVING while one does not answer, and from the start of the drain.
Migrations are not run here: the launcher and the tests apply them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
from google.protobuf.descriptor import ServiceDescriptor
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection, reflection_pb2_grpc
from grpc_reflection.v1alpha._async import ReflectionServicer
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.kit import clients, db
from services.kit.interceptors import kit_interceptors
from services.kit.outbox import OutboxRelay
from services.kit.persistence import warn_unless_persistent
from services.kit.settings import SUPERVISOR_PID_ENV, ServiceSettings
from services.kit.tokens import RevocationList, TokenVerifier

log = logging.getLogger("services.kit.server")

HEALTH_INTERVAL_SECONDS = 1.0
HEALTH_CHECK_TIMEOUT_SECONDS = 1.0
# Background tasks get this long to notice `stop` before they are cancelled.
TASK_STOP_SECONDS = 2.0

HealthCheck = Callable[[], Awaitable[None]]
Task = Callable[[asyncio.Event], Awaitable[None]]


@dataclass
class ServiceDefinition:
    name: str  # "auth"
    settings_type: type[ServiceSettings]
    grpc_services: Sequence[ServiceDescriptor]  # e.g. auth_pb2.DESCRIPTOR.services_by_name["AuthService"]
    setup: Callable[[Runtime], Awaitable[None]]  # builds the service's objects, adds servicers to runtime.server
    migrations: Path | None = None  # the service's Alembic folder (script_location)
    uses_redis: bool = True
    uses_database: bool = True
    # Largest request or response message, in bytes; None: gRPC's default (4 MiB). The catalog takes 5 MB images.
    max_message_bytes: int | None = None
    # The service writes events through the outbox: the kit runs its relay (needs the database and Redis).
    publishes_events: bool = True


class HandlerRegistry:
    """What servicers are added to (`add_XServicer_to_server(servicer, runtime.server)`): the server's handlers,
    registered as generic handlers only.

    The generated `add_..._to_server` registers each method twice: in a generic handler, and as a "registered
    method". grpc.aio keeps one pending request per registered method and waits on all of them for every
    incoming call, a cost in the number of methods paid by each RPC (about a tenth of the CPU of a cached
    GetProduct with the catalog's methods, bench/README.md). The generic handler alone serves every method.
    """

    def __init__(self, server: grpc.aio.Server) -> None:
        self._server = server

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler[Any, Any]]) -> None:
        self._server.add_generic_rpc_handlers(handlers)

    def add_registered_method_handlers(self, service_name: str, method_handlers: dict[str, Any]) -> None:
        """Ignored: the same handlers came through `add_generic_rpc_handlers` (see the class docstring)."""


class Runtime:
    """What a service's `setup` builds on: the server, its connections, and hooks for tasks and checks."""

    def __init__(
        self,
        settings: ServiceSettings,
        server: HandlerRegistry,
        engine: AsyncEngine | None,
        sessions: async_sessionmaker[AsyncSession] | None,
        redis: Redis | None,
        verifier: TokenVerifier,
    ) -> None:
        self.settings = settings
        self.server = server
        self.engine = engine
        self.sessions = sessions
        # One-statement reads without a transaction around them (`db.read_session_factory`), on the same pool.
        self.reads = db.read_session_factory(engine) if engine is not None else None
        self.redis = redis
        self.verifier = verifier  # replaceable in setup (auth verifies with its own keys)
        self.tasks: list[tuple[str, Task]] = []
        self.closers: list[Callable[[], Awaitable[None]]] = []
        self.health_checks: dict[str, HealthCheck] = {}

    def add_task(self, name: str, run: Task) -> None:
        """A background task (relay, consumer...) started with the server; it should return once the event is set."""
        self.tasks.append((name, run))

    def on_close(self, close: Callable[[], Awaitable[None]]) -> None:
        """Called during the drain, after the server stopped and the tasks ended, in reverse order."""
        self.closers.append(close)

    def add_health_check(self, name: str, check: HealthCheck) -> None:
        """A dependency check run about every second; raising (or taking over a second) means unhealthy."""
        self.health_checks[name] = check


@dataclass
class RunningService:
    port: int
    address: str
    runtime: Runtime
    stop: asyncio.Event
    health: HealthServicer = field(repr=False)


class _HealthMonitor:
    def __init__(self, servicer: HealthServicer, services: Sequence[str], runtime: Runtime) -> None:
        self._servicer = servicer
        self._services = ["", *services]
        self._runtime = runtime
        self._failing: list[str] | None = None

    async def _failures(self) -> list[str]:
        checks = dict(self._runtime.health_checks)

        async def failed(name: str, check: HealthCheck) -> str | None:
            try:
                await asyncio.wait_for(check(), HEALTH_CHECK_TIMEOUT_SECONDS)
            except Exception:
                return name
            return None

        results = await asyncio.gather(*(failed(name, check) for name, check in checks.items()))
        return [name for name in results if name is not None]

    async def update(self) -> None:
        failing = await self._failures()
        if failing != self._failing:
            if failing:
                log.warning("dependencies unavailable: NOT_SERVING", extra={"fields": {"failing": failing}})
            elif self._failing is not None:
                log.info("dependencies available again: SERVING")
        self._failing = failing
        status = health_pb2.HealthCheckResponse.NOT_SERVING if failing else health_pb2.HealthCheckResponse.SERVING
        for service in self._services:
            await self._servicer.set(service, status)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), HEALTH_INTERVAL_SECONDS)
            if not stop.is_set():
                await self.update()


async def _run_task(name: str, run: Task, stop: asyncio.Event) -> None:
    try:
        await run(stop)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("background task failed", extra={"fields": {"task": name}})


async def run_service(
    definition: ServiceDefinition,
    settings: ServiceSettings,
    *,
    stop: asyncio.Event,
    on_ready: Callable[[RunningService], None] | None = None,
) -> None:
    """Serves `definition` until `stop` is set, then drains."""
    engine = (
        db.create_engine(
            settings.service_database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
        )
        if definition.uses_database
        else None
    )
    sessions = db.session_factory(engine) if engine is not None else None
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=2) if definition.uses_redis else None
    auth_channel = clients.channel(settings.auth_target)
    verifier = TokenVerifier(
        clients.jwks_from_auth(auth_channel),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        revocations=RevocationList(redis) if redis is not None else None,
    )
    runtime: Runtime | None = None
    options: list[tuple[str, Any]] = []
    if definition.max_message_bytes is not None:
        options += [
            ("grpc.max_receive_message_length", definition.max_message_bytes),
            ("grpc.max_send_message_length", definition.max_message_bytes),
        ]
    server = grpc.aio.server(
        interceptors=kit_interceptors(definition.name, lambda: _verifier_of(runtime)), options=options
    )
    registry = HandlerRegistry(server)
    runtime = Runtime(settings, registry, engine, sessions, redis, verifier)
    if engine is not None:
        runtime.add_health_check("database", lambda: db.ping(engine, timeout=HEALTH_CHECK_TIMEOUT_SECONDS))
    if redis is not None:
        runtime.add_health_check("redis", lambda: _ping_redis(redis))
    if definition.publishes_events and engine is not None and redis is not None:
        runtime.add_task("outbox-relay", OutboxRelay(engine, redis).run)

    tasks: list[asyncio.Task[None]] = []
    started = False
    try:
        if redis is not None:
            # Once per service: a Redis that forgets on restart silently undoes revocations and loses events.
            await warn_unless_persistent(redis, settings.redis_url, definition.name)
        await definition.setup(runtime)
        servicer = HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(servicer, registry)
        names = [service.full_name for service in definition.grpc_services]
        reflection_pb2_grpc.add_ServerReflectionServicer_to_server(
            ReflectionServicer([*names, health.SERVICE_NAME, reflection.SERVICE_NAME]), registry
        )
        port = server.add_insecure_port(f"{settings.grpc_host}:{settings.port}")
        monitor = _HealthMonitor(servicer, names, runtime)
        await monitor.update()
        await server.start()
        started = True
        tasks.append(asyncio.create_task(monitor.run(stop), name="health"))
        for name, run in runtime.tasks:
            tasks.append(asyncio.create_task(_run_task(name, run, stop), name=name))
        address = f"{settings.grpc_host}:{port}"
        log.info("serving", extra={"fields": {"service": definition.name, "address": address}})
        if on_ready is not None:
            on_ready(RunningService(port, address, runtime, stop, servicer))
        await stop.wait()
        log.info("draining", extra={"fields": {"service": definition.name}})
        # Load balancers watching health stop sending new calls before the server refuses them.
        await servicer.enter_graceful_shutdown()
        await asyncio.sleep(settings.drain_notice_seconds)
        await server.stop(settings.drain_grace_seconds)
    finally:
        stop.set()
        if started:
            await server.stop(0)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=TASK_STOP_SECONDS)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for close in reversed(runtime.closers):
            try:
                await close()
            except Exception:
                log.exception("close callback failed")
        await auth_channel.close(None)
        if redis is not None:
            await redis.aclose()
        if engine is not None:
            await engine.dispose()
        log.info("stopped", extra={"fields": {"service": definition.name}})


def _verifier_of(runtime: Runtime | None) -> TokenVerifier:
    assert runtime is not None, "no RPC is served before the runtime exists"
    return runtime.verifier


async def _ping_redis(redis: Redis) -> None:
    await asyncio.wait_for(redis.ping(), HEALTH_CHECK_TIMEOUT_SECONDS)


@asynccontextmanager
async def started(definition: ServiceDefinition, settings: ServiceSettings) -> AsyncIterator[RunningService]:
    """Runs the service in the current event loop for the duration of the block (tests; port 0 = any free port)."""
    stop = asyncio.Event()
    ready: asyncio.Future[RunningService] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(run_service(definition, settings, stop=stop, on_ready=ready.set_result))
    waiters: list[asyncio.Future[Any]] = [task, ready]
    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    if not ready.done():
        await task  # raises what stopped the service from starting
        raise RuntimeError(f"{definition.name} stopped before it was ready")
    try:
        yield ready.result()
    finally:
        stop.set()
        await task


SUPERVISOR_CHECK_SECONDS = 1.0


async def _watch_supervisor(supervisor_pid: int, stop: asyncio.Event) -> None:
    """Stops the service when the process that started it is gone (even SIGKILLed): no orphaned services."""
    while not stop.is_set():
        if os.getppid() != supervisor_pid:
            log.warning("the supervising process is gone: draining", extra={"fields": {"pid": supervisor_pid}})
            stop.set()
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), SUPERVISOR_CHECK_SECONDS)


def _freeze_startup_heap(_: RunningService) -> None:
    """What start-up built (modules, the catalog's search index and model...) lives as long as the process: it
    is moved out of the garbage collector's reach, so that full collections stop walking it again and again
    under load. Only in a service's own process (tests start services many times in one process)."""
    gc.collect()
    gc.freeze()


async def serve(definition: ServiceDefinition, settings: ServiceSettings | None = None) -> None:
    """Serves until SIGTERM or SIGINT (or the supervising launcher's death), then drains."""
    settings = settings or definition.settings_type.load()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    supervisor = os.environ.get(SUPERVISOR_PID_ENV, "")
    watchdog = asyncio.ensure_future(_watch_supervisor(int(supervisor), stop)) if supervisor.isdigit() else None
    try:
        await run_service(definition, settings, stop=stop, on_ready=_freeze_startup_heap)
    finally:
        if watchdog is not None:
            watchdog.cancel()
        for signum in signals:
            loop.remove_signal_handler(signum)


def main(definition: ServiceDefinition, argv: Sequence[str] | None = None) -> None:
    """`python -m services.<svc> [serve]`: logging, telemetry, uvloop, serve until SIGTERM/SIGINT."""
    import uvloop

    from services.kit.logs import configure_logging
    from services.kit.telemetry import setup_telemetry

    args = list(sys.argv[1:] if argv is None else argv)
    if args not in ([], ["serve"]):
        sys.exit(f"usage: python -m services.{definition.name} [serve]")
    settings = definition.settings_type.load()
    configure_logging(settings.log_level, settings.log_format)
    shutdown_telemetry = setup_telemetry(definition.name, settings)
    try:
        uvloop.run(serve(definition, settings))
    finally:
        shutdown_telemetry()
