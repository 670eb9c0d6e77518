"""StreamTail: every event, in order, to every handler; survives failing handlers and Redis outages."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from google.protobuf.wrappers_pb2 import StringValue
from redis.asyncio import Redis

from marketplace.events.v1.envelope_pb2 import Envelope
from services.kit.bus import StreamTail
from services.kit.outbox import make_envelope
from tests.kit.rpc.proxy import CuttableProxy
from tests.kit.rpc.test_server import redis_proxy_target, redis_url_through
from tests.support.polling import eventually


@pytest.fixture
async def stream(redis: Redis) -> AsyncIterator[str]:
    name = f"events.tail{uuid.uuid4().hex[:10]}"
    yield name
    await redis.delete(name)


async def add(redis: Redis, stream: str, value: str) -> None:
    envelope = make_envelope("test", f"subject-{value}", StringValue(value=value))
    await redis.xadd(stream, {"envelope": envelope.SerializeToString()})


def value_of(envelope: Envelope) -> str:
    payload = StringValue()
    assert envelope.payload.Unpack(payload)
    return payload.value


class Recorder:
    def __init__(self, fail_on: str | None = None) -> None:
        self.values: list[str] = []
        self.fail_on = fail_on

    async def __call__(self, envelope: Envelope) -> None:
        value = value_of(envelope)
        self.values.append(value)
        if value == self.fail_on:
            raise RuntimeError("handler failed")


async def running(tail: StreamTail, stop: asyncio.Event) -> asyncio.Task[None]:
    task = asyncio.create_task(tail.run(stop))
    await asyncio.wait_for(tail.reading.wait(), 5)
    return task


async def test_delivers_new_events_in_order_to_every_handler(redis: Redis, stream: str) -> None:
    await add(redis, stream, "before")  # already there when the tail starts: not delivered
    first, second = Recorder(), Recorder()
    order: list[str] = []

    async def third(envelope: Envelope) -> None:
        order.append(f"third:{value_of(envelope)}")

    tail = StreamTail(redis, stream, block_ms=20)
    tail.add_handler(first)
    tail.add_handler(second)
    tail.add_handler(third)
    stop = asyncio.Event()
    task = await running(tail, stop)
    try:
        for index in range(5):
            await add(redis, stream, str(index))

        async def all_seen() -> bool:
            return len(first.values) == len(second.values) == len(order) == 5

        await eventually(all_seen)
        assert first.values == second.values == ["0", "1", "2", "3", "4"]
        assert order == [f"third:{index}" for index in range(5)]
    finally:
        stop.set()
        await asyncio.wait_for(task, 2)


async def test_a_failing_handler_stops_neither_the_others_nor_the_tail(redis: Redis, stream: str) -> None:
    failing, healthy = Recorder(fail_on="bad"), Recorder()
    tail = StreamTail(redis, stream, block_ms=20)
    tail.add_handler(failing)
    tail.add_handler(healthy)
    stop = asyncio.Event()
    task = await running(tail, stop)
    try:
        await add(redis, stream, "bad")
        await redis.xadd(stream, {"envelope": b"\xff not an envelope"})
        await add(redis, stream, "after")

        async def after_seen() -> bool:
            return healthy.values == ["bad", "after"]

        await eventually(after_seen)
        assert failing.values == ["bad", "after"]
        assert not task.done()
    finally:
        stop.set()
        await asyncio.wait_for(task, 2)


async def test_resumes_after_a_redis_outage_without_losing_events(infra: Any, redis: Redis, stream: str) -> None:
    proxy = await CuttableProxy(redis_proxy_target(infra.redis_url)).start()
    through = Redis.from_url(redis_url_through(infra.redis_url, proxy.port), socket_timeout=1)
    gaps: list[str] = []
    recorder = Recorder()
    tail = StreamTail(through, stream, block_ms=50, max_backoff=0.2, on_gap=lambda: gaps.append("gap"))
    tail.add_handler(recorder)
    stop = asyncio.Event()
    task = await running(tail, stop)
    try:
        await add(redis, stream, "1")
        await eventually(lambda: _equals(recorder.values, ["1"]))
        assert gaps == ["gap"]  # the first start has no position
        proxy.cut()
        await asyncio.sleep(0.3)  # the tail notices and backs off
        for value in ("2", "3", "4"):  # written directly, while the tail cannot reach Redis
            await add(redis, stream, value)
        await asyncio.sleep(0.2)
        assert recorder.values == ["1"]
        proxy.restore()
        await eventually(lambda: _equals(recorder.values, ["1", "2", "3", "4"]))
        assert gaps == ["gap", "gap"]  # back after an outage: derived state may be stale
    finally:
        stop.set()
        await asyncio.wait_for(task, 2)
        await through.aclose()
        await proxy.close()


async def test_stops_promptly(redis: Redis, stream: str) -> None:
    tail = StreamTail(redis, stream, block_ms=200)
    stop = asyncio.Event()
    task = await running(tail, stop)
    await asyncio.sleep(0.05)
    loop = asyncio.get_running_loop()
    began = loop.time()
    stop.set()
    await asyncio.wait_for(task, 2)
    assert loop.time() - began < 0.5


async def test_stops_promptly_while_redis_is_unreachable() -> None:
    unreachable = Redis.from_url("redis://127.0.0.1:1", socket_connect_timeout=0.2)
    tail = StreamTail(unreachable, "events.nowhere", max_backoff=5)
    stop = asyncio.Event()
    task = asyncio.create_task(tail.run(stop))
    await asyncio.sleep(0.5)
    assert not task.done()  # retrying, not crashed
    stop.set()
    await asyncio.wait_for(task, 1)
    await unreachable.aclose()


async def _equals(actual: list[str], expected: list[str]) -> bool:
    return actual == expected
