from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from google.protobuf.any_pb2 import Any as AnyMessage
from google.protobuf.wrappers_pb2 import Int64Value, StringValue
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import func, select

from marketplace.events.v1.envelope_pb2 import Envelope
from services.kit.bus import StreamConsumer
from services.kit.outbox import make_envelope
from tests.kit.data.example import inbox, widgets
from tests.support.polling import eventually


@pytest.fixture
async def stream(redis):
    name = f"events.test{uuid.uuid4().hex[:10]}"
    yield name
    await redis.delete(name, f"{name}.dead")


def envelope_of(subject: str, payload) -> Any:
    return make_envelope("test", subject, payload)


async def add(redis, stream: str, envelope) -> bytes:
    message_id: bytes = await redis.xadd(stream, {"envelope": envelope.SerializeToString()})
    return message_id


class Recorder:
    """A handler that inserts a widget per event (so its DB write can be checked) and can fail on demand."""

    def __init__(self, fail_times: int = 0, error: Exception | None = None) -> None:
        self.calls: list[str] = []
        self.fail_times = fail_times
        self.error = error or RuntimeError("handler failed")
        self.traceparents: list[str] = []

    async def __call__(self, uow, envelope, payload: StringValue) -> None:
        self.calls.append(payload.value)
        span = trace.get_current_span().get_span_context()
        self.traceparents.append(format(span.trace_id, "032x") if span.is_valid else "")
        await uow.session.execute(widgets.insert().values(id=envelope.id, name=payload.value, quantity=1))
        if len(self.calls) <= self.fail_times:
            raise self.error


def consumer_for(db, redis, stream, handler, *, name: str = "c1", group: str = "g", **options) -> StreamConsumer:
    options.setdefault("block", 0.01)
    options.setdefault("claim_idle", 0.05)
    options.setdefault("claim_interval", 0.0)
    return StreamConsumer(
        redis, db.uow, stream=stream, group=group, consumer=name, handlers={StringValue: handler}, **options
    )


async def count(db, table) -> int:
    async with db.engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(table)))


async def pending(redis, stream, group="g") -> int:
    return int((await redis.xpending(stream, group))["pending"])


async def drain(consumer: StreamConsumer, until, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        await consumer.poll_once()
        while not await until():
            await consumer.poll_once()


async def test_handles_an_event_and_acks_it(example_db, redis, stream):
    handler = Recorder()
    consumer = consumer_for(example_db, redis, stream, handler)
    await consumer.ensure_group()
    await add(redis, stream, envelope_of("w1", StringValue(value="hello")))
    await consumer.poll_once()
    assert handler.calls == ["hello"]
    assert await count(example_db, widgets) == 1
    assert await count(example_db, inbox) == 1
    assert await pending(redis, stream) == 0


async def test_a_new_group_sees_the_backlog(example_db, redis, stream):
    await add(redis, stream, envelope_of("w1", StringValue(value="early")))
    handler = Recorder()
    consumer = consumer_for(example_db, redis, stream, handler)
    await consumer.ensure_group()
    await consumer.ensure_group()  # idempotent
    await consumer.poll_once()
    assert handler.calls == ["early"]


async def test_the_same_event_delivered_twice_is_handled_once(example_db, redis, stream):
    handler = Recorder()
    consumer = consumer_for(example_db, redis, stream, handler)
    await consumer.ensure_group()
    envelope = envelope_of("w1", StringValue(value="once"))
    await add(redis, stream, envelope)
    await add(redis, stream, envelope)  # at-least-once upstream: the same event again
    await consumer.poll_once()
    assert handler.calls == ["once"]
    assert await count(example_db, widgets) == 1
    assert await pending(redis, stream) == 0  # the duplicate is acked too


async def test_handler_writes_and_inbox_row_roll_back_together(example_db, redis, stream):
    handler = Recorder(fail_times=1)
    consumer = consumer_for(example_db, redis, stream, handler, max_deliveries=3)
    await consumer.ensure_group()
    await add(redis, stream, envelope_of("w1", StringValue(value="x")))
    await consumer.poll_once()
    assert handler.calls == ["x"]
    assert await count(example_db, widgets) == 0
    assert await count(example_db, inbox) == 0
    assert await pending(redis, stream) == 1  # not acked: it will be tried again

    await drain(consumer, lambda: pending_is_zero(redis, stream))
    assert handler.calls == ["x", "x"]
    assert await count(example_db, widgets) == 1
    assert await count(example_db, inbox) == 1


async def pending_is_zero(redis, stream) -> bool:
    return await pending(redis, stream) == 0


async def test_a_consumer_that_dies_before_ack_gets_the_message_again_through_claim(example_db, redis, stream):
    # The first consumer reads the message and dies: it is left pending, owned by that consumer.
    dead = consumer_for(example_db, redis, stream, Recorder(), name="dead")
    await dead.ensure_group()
    await add(redis, stream, envelope_of("w1", StringValue(value="orphan")))
    read = await redis.xreadgroup("g", "dead", {stream: ">"}, count=10)
    assert len(read[0][1]) == 1

    handler = Recorder()
    survivor = consumer_for(example_db, redis, stream, handler, name="survivor")
    await drain(survivor, lambda: pending_is_zero(redis, stream))
    assert handler.calls == ["orphan"]
    assert await count(example_db, widgets) == 1


async def test_a_poison_message_goes_to_the_dead_letter_stream_after_max_tries(example_db, redis, stream):
    handler = Recorder(fail_times=100, error=ValueError("cannot handle this"))
    consumer = consumer_for(example_db, redis, stream, handler, max_deliveries=3)
    await consumer.ensure_group()
    envelope = envelope_of("w1", StringValue(value="poison"))
    message_id = await add(redis, stream, envelope)
    good = envelope_of("w2", StringValue(value="fine"))

    await drain(consumer, lambda: pending_is_zero(redis, stream))
    assert handler.calls == ["poison"] * 3
    dead = await redis.xrange(f"{stream}.dead")
    assert len(dead) == 1
    fields = dead[0][1]
    assert Envelope.FromString(fields[b"envelope"]).id == envelope.id
    assert fields[b"group"] == b"g"
    assert fields[b"deliveries"] == b"3"
    assert fields[b"original_id"] == message_id
    assert b"ValueError: cannot handle this" in fields[b"error"]
    assert await count(example_db, widgets) == 0

    # The stream keeps flowing after the poison message.
    handler.fail_times = 0
    await add(redis, stream, good)
    await consumer.poll_once()
    assert handler.calls[-1] == "fine"


async def test_a_message_never_acked_goes_to_dead_letters_without_running(example_db, redis, stream):
    consumer = consumer_for(example_db, redis, stream, Recorder(), max_deliveries=2)
    await consumer.ensure_group()
    await add(redis, stream, envelope_of("w1", StringValue(value="crashes")))
    # Three consumers read it and die without acking (delivery count 3 > max 2).
    await redis.xreadgroup("g", "x1", {stream: ">"}, count=1)
    for name in ("x2", "x3"):
        await asyncio.sleep(0.06)
        await redis.xautoclaim(stream, "g", name, 50, "0-0")
    await asyncio.sleep(0.06)
    handler = Recorder()
    survivor = consumer_for(example_db, redis, stream, handler, name="survivor", max_deliveries=2)
    await drain(survivor, lambda: pending_is_zero(redis, stream))
    assert handler.calls == []
    dead = await redis.xrange(f"{stream}.dead")
    assert len(dead) == 1
    assert b"not acknowledged" in dead[0][1][b"error"]


async def test_unknown_payload_types_and_malformed_envelopes_are_acked(example_db, redis, stream):
    handler = Recorder()
    consumer = consumer_for(example_db, redis, stream, handler)
    await consumer.ensure_group()
    await add(redis, stream, envelope_of("w1", Int64Value(value=5)))
    await redis.xadd(stream, {"envelope": b"\xff\xff not protobuf"})
    await consumer.poll_once()
    assert handler.calls == []
    assert await pending(redis, stream) == 0
    dead = await redis.xrange(f"{stream}.dead")
    assert len(dead) == 1  # only the malformed one; the unknown type is just ignored


async def test_trace_context_is_restored_around_the_handler(example_db, redis, stream):
    with TracerProvider().get_tracer("test").start_as_current_span("request") as span:
        envelope = envelope_of("w1", StringValue(value="traced"))
    handler = Recorder()
    consumer = consumer_for(example_db, redis, stream, handler)
    await consumer.ensure_group()
    await add(redis, stream, envelope)
    await consumer.poll_once()
    assert handler.traceparents == [format(span.get_span_context().trace_id, "032x")]


async def test_run_consumes_until_stopped(example_db, redis, stream):
    handler = Recorder()
    consumer = consumer_for(example_db, redis, stream, handler, block=0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        for i in range(5):
            await add(redis, stream, envelope_of(f"w{i}", StringValue(value=str(i))))

        async def all_handled() -> bool:
            return len(handler.calls) == 5

        await eventually(all_handled)
    finally:
        stop.set()
        async with asyncio.timeout(1):
            await task
    assert handler.calls == ["0", "1", "2", "3", "4"]


def test_envelope_payload_is_an_any():
    assert isinstance(envelope_of("w1", StringValue(value="a")).payload, AnyMessage)


async def test_a_client_that_decodes_responses_is_refused(example_db, infra, stream):
    from redis.asyncio import Redis

    decoding = Redis.from_url(infra.redis_url, decode_responses=True)
    try:
        with pytest.raises(ValueError, match="decode_responses"):
            consumer_for(example_db, decoding, stream, Recorder())
    finally:
        await decoding.aclose()


class Overlaps:
    """A slow handler that notes, per event, its subject and how many handlers were running beside it."""

    def __init__(self) -> None:
        self.running: dict[str, int] = {}
        self.order: list[tuple[str, str]] = []
        self.most_at_once = 0
        self.same_subject_overlap = False

    async def __call__(self, uow, envelope, payload: StringValue) -> None:
        subject = envelope.subject
        if self.running.get(subject):
            self.same_subject_overlap = True
        self.running[subject] = self.running.get(subject, 0) + 1
        self.most_at_once = max(self.most_at_once, sum(self.running.values()))
        self.order.append((subject, payload.value))
        await uow.session.execute(widgets.insert().values(id=envelope.id, name=payload.value, quantity=1))
        await asyncio.sleep(0.05)
        self.running[subject] -= 1


async def test_concurrent_handling_keeps_each_subjects_order_and_the_bound(example_db, redis, stream):
    handler = Overlaps()
    consumer = consumer_for(example_db, redis, stream, handler, concurrency=3)
    await consumer.ensure_group()
    sent = [("a", "a1"), ("b", "b1"), ("a", "a2"), ("c", "c1"), ("d", "d1"), ("a", "a3"), ("e", "e1"), ("b", "b2")]
    for subject, value in sent:
        await add(redis, stream, envelope_of(subject, StringValue(value=value)))
    assert await consumer.poll_once() == len(sent)
    assert sorted(handler.order) == sorted(sent)
    for subject in "ab":
        assert [value for s, value in handler.order if s == subject] == [v for s, v in sent if s == subject]
    assert not handler.same_subject_overlap
    assert handler.most_at_once == 3
    assert await count(example_db, widgets) == len(sent)
    assert await pending(redis, stream) == 0


async def test_one_at_a_time_by_default(example_db, redis, stream):
    handler = Overlaps()
    consumer = consumer_for(example_db, redis, stream, handler)
    await consumer.ensure_group()
    for subject in "abc":
        await add(redis, stream, envelope_of(subject, StringValue(value=subject)))
    await consumer.poll_once()
    assert handler.most_at_once == 1
    assert [value for _subject, value in handler.order] == ["a", "b", "c"]


async def test_run_reads_on_while_a_slow_message_is_handled(example_db, redis, stream):
    entered, release = asyncio.Event(), asyncio.Event()
    handled: list[str] = []

    async def handler(uow, envelope, payload: StringValue) -> None:
        if payload.value == "slow":
            entered.set()
            await release.wait()
        handled.append(payload.value)

    consumer = consumer_for(example_db, redis, stream, handler, concurrency=2, block=0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        await add(redis, stream, envelope_of("a", StringValue(value="slow")))
        async with asyncio.timeout(5):
            await entered.wait()
        # Read and handled while the first is still running: it did not wait for that one's batch to end.
        await add(redis, stream, envelope_of("b", StringValue(value="quick")))

        async def quick_done() -> bool:
            return handled == ["quick"]

        await eventually(quick_done)
        release.set()

        async def both_done() -> bool:
            return handled == ["quick", "slow"] and await pending(redis, stream) == 0

        await eventually(both_done)
    finally:
        release.set()
        stop.set()
        async with asyncio.timeout(2):
            await task
