"""Health follows the dependencies, draining turns it NOT_SERVING, reflection lists the service."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlparse

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from sqlalchemy.engine import make_url

from marketplace.testing.v1 import probe_pb2, probe_pb2_grpc
from services.kit.server import started
from tests.kit.rpc.proxy import CuttableProxy, connector
from tests.kit.rpc.support import ProbeServicer, ProbeSettings, bearer, probe_definition
from tests.support.polling import eventually

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
PROBE_SERVICE = "marketplace.testing.v1.ProbeService"


def postgres_proxy_target(database_url: str):
    url = make_url(database_url)
    socket_dir = url.query.get("host")
    if socket_dir:
        socket_dir = socket_dir[0] if isinstance(socket_dir, tuple) else socket_dir
        return connector(None, None, f"{socket_dir}/.s.PGSQL.{url.port or 5432}")
    return connector(url.host, url.port or 5432, None)


def postgres_url_through(database_url: str, port: int) -> str:
    url = make_url(database_url)
    url = url.set(host="127.0.0.1", port=port, query={k: v for k, v in url.query.items() if k != "host"})
    return url.render_as_string(hide_password=False)


def redis_proxy_target(redis_url: str):
    parsed = urlparse(redis_url)
    if parsed.scheme == "unix":
        return connector(None, None, parsed.path)
    return connector(parsed.hostname, parsed.port or 6379, None)


def redis_url_through(redis_url: str, port: int) -> str:
    parsed = urlparse(redis_url)
    db = parse_qs(parsed.query).get("db", [parsed.path.lstrip("/") or "0"])[0]
    return f"redis://127.0.0.1:{port}/{db}"


async def health_of(channel, service: str = "") -> int:
    response = await health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service=service), timeout=2
    )
    return int(response.status)


async def wait_for_health(channel, expected: int, timeout: float = 8.0) -> None:
    async def reached() -> bool:
        return await health_of(channel) == expected

    await eventually(reached, timeout=timeout, interval=0.1, message=f"health never became {expected}")


@pytest.mark.parametrize("dependency", ["database", "redis"])
async def test_health_follows_a_dependency_going_away_and_coming_back(infra, fresh_database, dependency):
    database_url = await fresh_database("health")
    if dependency == "database":
        proxy = await CuttableProxy(postgres_proxy_target(database_url)).start()
        settings = ProbeSettings(
            redis_url=infra.redis_url, port=0, service_database_url=postgres_url_through(database_url, proxy.port)
        )
    else:
        proxy = await CuttableProxy(redis_proxy_target(infra.redis_url)).start()
        settings = ProbeSettings(
            redis_url=redis_url_through(infra.redis_url, proxy.port), port=0, service_database_url=database_url
        )
    settings.drain_grace_seconds = 0.5
    try:
        definition = probe_definition(ProbeServicer(), None, uses_database=True)
        async with started(definition, settings) as service, grpc.aio.insecure_channel(service.address) as channel:
            assert await health_of(channel) == SERVING
            assert await health_of(channel, PROBE_SERVICE) == SERVING
            proxy.cut()
            await wait_for_health(channel, NOT_SERVING)
            assert await health_of(channel, PROBE_SERVICE) == NOT_SERVING
            # Serving RPCs that need neither dependency goes on; only the status changed.
            await probe_pb2_grpc.ProbeServiceStub(channel).PublicPing(probe_pb2.PublicPingRequest(), timeout=2)
            proxy.restore()
            await wait_for_health(channel, SERVING)
            assert await health_of(channel, PROBE_SERVICE) == SERVING
    finally:
        await proxy.close()


async def test_health_is_not_serving_while_draining(probe):
    watch = health_pb2_grpc.HealthStub(probe.channel).Watch(health_pb2.HealthCheckRequest(service=""), timeout=10)
    assert (await watch.read()).status == SERVING
    probe.service.stop.set()
    assert (await watch.read()).status == NOT_SERVING
    watch.cancel()


async def test_a_draining_server_keeps_serving_for_the_notice_period(infra):
    settings = ProbeSettings(redis_url=infra.redis_url, port=0, drain_notice_seconds=1.5, drain_grace_seconds=0.5)
    async with (
        started(probe_definition(ProbeServicer(), None), settings) as service,
        grpc.aio.insecure_channel(service.address) as channel,
    ):
        service.stop.set()
        await wait_for_health(channel, NOT_SERVING)
        # Told NOT_SERVING, yet still answering: a balancer that has not polled yet loses no call.
        stub = probe_pb2_grpc.ProbeServiceStub(channel)
        await stub.PublicPing(probe_pb2.PublicPingRequest(), timeout=1)
        await asyncio.sleep(1.8)
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.PublicPing(probe_pb2.PublicPingRequest(), timeout=1)


async def test_drain_lets_a_call_in_flight_finish(probe):
    token = probe.key.mint()
    call = probe.stub.Chat(metadata=bearer(token), timeout=10)
    await call.write(probe_pb2.ChatRequest(name="before"))
    assert (await call.read()).name == "before"
    probe.service.stop.set()
    await asyncio.sleep(0.1)
    await call.write(probe_pb2.ChatRequest(name="during"))
    assert (await call.read()).name == "during"
    await call.done_writing()


async def test_reflection_lists_the_service(probe):
    stub = reflection_pb2_grpc.ServerReflectionStub(probe.channel)

    async def requests():
        yield reflection_pb2.ServerReflectionRequest(list_services="")

    names: set[str] = set()
    async for response in stub.ServerReflectionInfo(requests(), timeout=5):
        names.update(service.name for service in response.list_services_response.service)
    assert {PROBE_SERVICE, "grpc.health.v1.Health"} <= names


async def test_started_refuses_a_service_whose_setup_fails(infra):
    definition = probe_definition(ProbeServicer(), None)

    async def broken(runtime):
        raise RuntimeError("setup failed")

    definition.setup = broken
    with pytest.raises(RuntimeError, match="setup failed"):
        async with started(definition, ProbeSettings(redis_url=infra.redis_url, port=0)):
            pass
