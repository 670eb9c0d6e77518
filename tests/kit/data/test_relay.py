from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator

from google.protobuf.wrappers_pb2 import StringValue
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from marketplace.events.v1.envelope_pb2 import Envelope
from services.kit.outbox import OutboxRelay, dedupe_key, stream_for
from tests.kit.data.example import outbox
from tests.support.polling import eventually


async def write_events(db, events: list[tuple[str, str]], per_commit: int = 1) -> list[str]:
    """Writes (subject, value) events through units of work; returns their values in commit order."""
    for start in range(0, len(events), per_commit):
        async with db.uow() as uow:
            for subject, value in events[start : start + per_commit]:
                uow.emit(subject, StringValue(value=value))
            await uow.commit()
    return [value for _subject, value in events]


async def stream_events(redis, stream: str) -> list[tuple[str, str, str]]:
    """(event id, subject, value) of every entry of `stream`, in stream order."""
    result = []
    for _entry_id, fields in await redis.xrange(stream):
        envelope = Envelope.FromString(fields[b"envelope"])
        payload = StringValue()
        envelope.payload.Unpack(payload)
        result.append((envelope.id, envelope.subject, payload.value))
    return result


async def unpublished(db) -> int:
    async with db.engine.connect() as connection:
        return int(
            await connection.scalar(select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None)))
        )


async def all_published(db) -> bool:
    return await unpublished(db) == 0


async def cleanup(redis, stream: str, ids) -> None:
    await redis.delete(stream, *[dedupe_key(event_id) for event_id in ids])


async def test_publishes_every_row_in_order_and_marks_it(example_db, redis):
    db = example_db
    stream = stream_for(db.source)
    events = [(f"s{i % 3}", f"v{i}") for i in range(25)]
    await write_events(db, events, per_commit=2)

    relay = OutboxRelay(db.engine, redis, batch_size=10)
    total = 0
    while published := await relay.publish_batch():
        total += published
    try:
        assert total == 25
        assert await unpublished(db) == 0
        published_events = await stream_events(redis, stream)
        assert [(subject, value) for _id, subject, value in published_events] == events
    finally:
        await cleanup(redis, stream, [event_id for event_id, _s, _v in await stream_events(redis, stream)])


class DiesAfterXadd(OutboxRelay):
    async def mark_published(self, connection: AsyncConnection, ids: list[str]) -> None:
        raise ConnectionError("relay died between XADD and marking")


async def test_each_event_reaches_the_stream_once_when_the_relay_dies_before_marking(example_db, redis):
    db = example_db
    stream = stream_for(db.source)
    events = [("a", "1"), ("b", "2"), ("a", "3")]
    await write_events(db, events)

    dying = DiesAfterXadd(db.engine, redis)
    for _ in range(2):  # dies twice on the same rows
        try:
            await dying.publish_batch()
        except ConnectionError:
            pass
        else:
            raise AssertionError("the dying relay should have raised")
    assert await unpublished(db) == 3
    assert len(await stream_events(redis, stream)) == 3  # the XADDs happened

    assert await OutboxRelay(db.engine, redis).publish_batch() == 3
    try:
        published_events = await stream_events(redis, stream)
        assert [(subject, value) for _id, subject, value in published_events] == events
        assert len({event_id for event_id, _s, _v in published_events}) == 3
        assert await unpublished(db) == 0
    finally:
        await cleanup(redis, stream, [event_id for event_id, _s, _v in await stream_events(redis, stream)])


async def test_two_relays_publish_each_event_once_in_subject_order(example_db, redis):
    db = example_db
    stream = stream_for(db.source)
    events = [(f"subject{i % 4}", str(i)) for i in range(200)]
    await write_events(db, events, per_commit=5)

    stop = asyncio.Event()
    relays = [OutboxRelay(db.engine, redis, batch_size=7, poll_interval=0.01) for _ in range(2)]
    tasks = [asyncio.create_task(relay.run(stop)) for relay in relays]
    try:
        await eventually(lambda: all_published(db), timeout=20)
    finally:
        stop.set()
        async with asyncio.timeout(5):
            await asyncio.gather(*tasks)
    try:
        published_events = await stream_events(redis, stream)
        assert len(published_events) == 200
        assert len({event_id for event_id, _s, _v in published_events}) == 200
        for subject in {subject for subject, _value in events}:
            expected = [value for s, value in events if s == subject]
            assert [value for _id, s, value in published_events if s == subject] == expected
    finally:
        await cleanup(redis, stream, [event_id for event_id, _s, _v in await stream_events(redis, stream)])


async def test_a_row_waits_while_an_earlier_row_of_its_subject_is_locked(example_db, redis):
    db = example_db
    stream = stream_for(db.source)
    await write_events(db, [("a", "1"), ("a", "2"), ("b", "3")])
    relay = OutboxRelay(db.engine, redis)
    try:
        async with db.engine.begin() as other_relay:
            # Another relay holds the first row of subject "a".
            first = (
                await other_relay.execute(select(outbox.c.id).order_by(outbox.c.position).limit(1).with_for_update())
            ).scalar_one()
            assert await relay.publish_batch() == 1  # only "b"; "a"'s second row must wait
            assert [(s, v) for _id, s, v in await stream_events(redis, stream)] == [("b", "3")]
        assert await relay.publish_batch() == 2
        assert [(s, v) for _id, s, v in await stream_events(redis, stream)] == [("b", "3"), ("a", "1"), ("a", "2")]
        assert first
    finally:
        await cleanup(redis, stream, [event_id for event_id, _s, _v in await stream_events(redis, stream)])


async def test_relay_survives_redis_being_down_and_stops_promptly(example_db, redis, infra):
    db = example_db
    stream = stream_for(db.source)
    await write_events(db, [("a", "1")])
    from redis.asyncio import Redis

    broken = Redis(unix_socket_path="/nonexistent/redis.sock")
    stop = asyncio.Event()
    task = asyncio.create_task(OutboxRelay(db.engine, broken, poll_interval=0.01, max_backoff=0.05).run(stop))
    await asyncio.sleep(0.2)
    assert not task.done()  # it keeps retrying
    stop.set()
    async with asyncio.timeout(1):
        await task
    await broken.aclose()
    assert await unpublished(db) == 1

    stop = asyncio.Event()
    task = asyncio.create_task(OutboxRelay(db.engine, redis, poll_interval=0.01).run(stop))
    try:
        await eventually(lambda: all_published(db))
    finally:
        stop.set()
        await task
        await cleanup(redis, stream, [event_id for event_id, _s, _v in await stream_events(redis, stream)])


async def test_relay_survives_postgres_being_unreachable_and_stops_promptly(redis, infra):
    from services.kit.db import async_url, create_engine

    missing = async_url(infra.database_url).set(database="no_such_database_for_relay")
    engine = create_engine(missing.render_as_string(hide_password=False))
    stop = asyncio.Event()
    task = asyncio.create_task(OutboxRelay(engine, redis, poll_interval=0.01, max_backoff=0.05).run(stop))
    try:
        await asyncio.sleep(0.2)
        assert not task.done()
    finally:
        stop.set()
        async with asyncio.timeout(1):
            await task
        await engine.dispose()


@contextlib.asynccontextmanager
async def running(relay: OutboxRelay, redis, stream: str) -> AsyncIterator[None]:
    """`relay` running in the background for the block; then stopped (promptly) and its stream cleaned up."""
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await asyncio.sleep(0.5)  # connected and idle, waiting
        yield
    finally:
        stop.set()
        async with asyncio.timeout(2):
            await task
        await cleanup(redis, stream, [event_id for event_id, _s, _v in await stream_events(redis, stream)])


async def published_values(redis, stream: str) -> list[str]:
    return [value for _id, _subject, value in await stream_events(redis, stream)]


async def test_an_idle_relay_publishes_a_commit_at_once_without_polling(example_db, redis):
    db = example_db
    stream = stream_for(db.source)
    # The fallback pass is far beyond the test's patience: only the commit's notification can wake the relay.
    async with running(OutboxRelay(db.engine, redis, poll_interval=60, idle_interval=60), redis, stream):
        await write_events(db, [("a", "first")])
        await eventually(lambda: all_published(db), timeout=3)
        await asyncio.sleep(0.2)
        await write_events(db, [("a", "second"), ("b", "third")], per_commit=2)
        await eventually(lambda: all_published(db), timeout=3)
        assert await published_values(redis, stream) == ["first", "second", "third"]


async def test_a_rolled_back_transaction_publishes_nothing(example_db, redis):
    db = example_db
    stream = stream_for(db.source)
    async with running(OutboxRelay(db.engine, redis, poll_interval=60, idle_interval=60), redis, stream):
        async with db.uow() as uow:
            uow.emit("a", StringValue(value="never"))
            # Leaving the block without commit rolls the transaction (and its notification) back.
        await write_events(db, [("a", "kept")])
        await eventually(lambda: all_published(db), timeout=3)
        assert await published_values(redis, stream) == ["kept"]


async def test_without_its_listener_the_relay_still_publishes_by_polling(example_db, redis):
    db = example_db
    stream = stream_for(db.source)
    async with running(OutboxRelay(db.engine, redis, poll_interval=0.05, idle_interval=60), redis, stream):
        # Nobody is listening any more (as when the listening connection is lost): the relay falls back.
        async with db.engine.connect() as connection:
            terminated = await connection.scalar(
                text(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE query LIKE 'LISTEN%' AND datname = current_database()"
                )
            )
        assert terminated == 1
        await asyncio.sleep(0.3)
        await write_events(db, [("a", "polled")])
        await eventually(lambda: all_published(db), timeout=3)
        assert await published_values(redis, stream) == ["polled"]


def closed_port() -> int:
    """A local TCP port nothing listens on (bound once to pick it, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_relay_whose_listener_cannot_connect_publishes_by_polling(example_db, redis, caplog):
    db = example_db
    stream = stream_for(db.source)
    unreachable = {"host": "127.0.0.1", "port": closed_port(), "user": "nobody", "database": "none"}
    relay = OutboxRelay(
        db.engine, redis, poll_interval=0.05, idle_interval=60, max_backoff=0.05, listen_connect_args=unreachable
    )
    with caplog.at_level(logging.WARNING, logger="services.kit.outbox"):
        async with running(relay, redis, stream):  # retries its listener every 0.05 s meanwhile
            await write_events(db, [("a", "polled")])
            await eventually(lambda: all_published(db), timeout=3)
            assert await published_values(redis, stream) == ["polled"]
    warnings = [record for record in caplog.records if "cannot listen" in record.getMessage()]
    assert len(warnings) == 1  # once, not once per retry
