"""`python -m services dead-letters`: through real Redis and PostgreSQL, with real consumers."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.wrappers_pb2 import StringValue
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services import __main__ as services_main
from services.kit import dead_letters
from services.kit.bus import StreamConsumer
from services.kit.db import create_engine, session_factory
from services.kit.outbox import make_envelope
from services.kit.settings import DATA_DIR_ENV, RUN_FILE_NAME, write_run_file
from services.kit.uow import UnitOfWork
from tests.kit.data.example import inbox, metadata, widget_event


@dataclass
class Mesh:
    """One stream, the example database its consumers write to, and the Redis URL the command is given."""

    redis: Redis
    redis_url: str
    sessions: async_sessionmaker[AsyncSession]
    engine: AsyncEngine
    stream: str

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, source="example", events=widget_event)


@pytest.fixture
async def mesh(infra, fresh_database) -> AsyncIterator[Mesh]:
    engine = create_engine(await fresh_database("deadletters"), pool_size=5)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    redis = Redis.from_url(infra.redis_url)
    stream = f"events.test{uuid.uuid4().hex[:10]}"
    try:
        yield Mesh(redis, infra.redis_url, session_factory(engine), engine, stream)
    finally:
        await redis.delete(stream, f"{stream}.dead")
        await redis.aclose()
        await engine.dispose()


@dataclass
class Handler:
    """Records each event it handles; raises while `failing` (the bug an operator fixes before replaying)."""

    failing: bool = False
    handled: list[str] = field(default_factory=list)

    async def __call__(self, uow: UnitOfWork, envelope: Any, payload: StringValue) -> None:
        if self.failing:
            raise ValueError(f"cannot handle {payload.value}")
        self.handled.append(payload.value)


def consumer(mesh: Mesh, group: str, handler: Handler) -> StreamConsumer:
    # One try before the dead stream, and a claim pass on every poll; claim_idle keeps its production value, so
    # a replayed event is not picked up merely because the test waited.
    return StreamConsumer(
        mesh.redis,
        mesh.uow,
        stream=mesh.stream,
        group=group,
        consumer=f"{group}-1",
        handlers={StringValue: handler},
        block=0.01,
        claim_interval=0.0,
        max_deliveries=1,
    )


async def publish(mesh: Mesh, value: str, subject: str = "w1") -> Any:
    envelope = make_envelope("example", subject, StringValue(value=value))
    await mesh.redis.xadd(mesh.stream, {"envelope": envelope.SerializeToString()})
    return envelope


async def polls(*consumers: StreamConsumer, times: int = 5) -> None:
    """Polls each consumer a few times: enough for a claim pass and a read of anything new."""
    for _ in range(times):
        for each in consumers:
            await each.poll_once()


async def inbox_rows(mesh: Mesh, group: str) -> int:
    async with mesh.engine.connect() as connection:
        query = select(func.count()).select_from(inbox).where(inbox.c.consumer_group == group)
        return int(await connection.scalar(query) or 0)


async def command(*argv: str, redis_url: str | None = None) -> int:
    """The command's real entry point, in a thread of its own (it runs its own event loop, as from a shell)."""
    arguments = list(argv) if redis_url is None else ["--redis-url", redis_url, *argv]
    return await asyncio.to_thread(services_main.main, ["dead-letters", *arguments])


async def dead_ids(mesh: Mesh) -> list[str]:
    return [entry_id.decode() for entry_id, _fields in await mesh.redis.xrange(f"{mesh.stream}.dead")]


async def parked(mesh: Mesh) -> tuple[Any, Handler, Handler, StreamConsumer, StreamConsumer]:
    """An event `notify` fails and dead-letters while `audit` handles it; returns it, the handlers, the consumers."""
    failing, fine = Handler(failing=True), Handler()
    notify, audit = consumer(mesh, "notify", failing), consumer(mesh, "audit", fine)
    for each in (notify, audit):
        await each.ensure_group()
    envelope = await publish(mesh, "parcel")
    await polls(notify, audit, times=1)
    assert len(await dead_ids(mesh)) == 1
    assert fine.handled == ["parcel"]
    return envelope, failing, fine, notify, audit


async def test_list_shows_each_dead_letter_on_one_line_and_as_json(mesh, capsys):
    envelope, *_ = await parked(mesh)
    [dead_id] = await dead_ids(mesh)
    capsys.readouterr()

    assert await command("list", "--stream", mesh.stream, redis_url=mesh.redis_url) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    line = lines[0]
    for expected in (
        dead_id,
        mesh.stream,
        "group=notify",
        "google.protobuf.StringValue",
        envelope.id,
        "subject=w1",
        "deliveries=1",
        "ValueError: cannot handle parcel",
        " UTC ",
    ):
        assert expected in line

    assert await command("list", "--json", redis_url=mesh.redis_url) == 0
    listed = [item for item in json.loads(capsys.readouterr().out) if item["stream"] == mesh.stream]
    assert len(listed) == 1
    assert listed[0] | {"dead_lettered_at": None, "occurred_at": None} == {
        "id": dead_id,
        "stream": mesh.stream,
        "group": "notify",
        "event_type": "google.protobuf.StringValue",
        "event_id": envelope.id,
        "subject": "w1",
        "error": "ValueError: cannot handle parcel",
        "deliveries": 1,
        "original_id": listed[0]["original_id"],
        "dead_lettered_at": None,
        "occurred_at": None,
    }
    assert listed[0]["occurred_at"].startswith(envelope.occurred_at.ToDatetime().date().isoformat())

    # Filters: another group has none; the dead stream's own name means the same stream.
    assert await command("list", "--stream", mesh.stream, "--group", "audit", redis_url=mesh.redis_url) == 0
    assert capsys.readouterr().out.strip() == "no dead letters"
    assert await command("list", "--stream", f"{mesh.stream}.dead", "--json", redis_url=mesh.redis_url) == 0
    assert [item["id"] for item in json.loads(capsys.readouterr().out)] == [dead_id]


async def test_replay_hands_the_event_to_the_failed_group_only_and_exactly_once(mesh, capsys):
    envelope, failing, fine, notify, audit = await parked(mesh)
    [dead_id] = await dead_ids(mesh)
    await polls(notify, audit)
    assert failing.handled == [] and fine.handled == ["parcel"]

    failing.failing = False  # the fix is deployed
    assert await command("replay", dead_id, redis_url=mesh.redis_url) == 0
    assert f"replayed {dead_id} (google.protobuf.StringValue {envelope.id}" in capsys.readouterr().out
    assert await dead_ids(mesh) == []  # removed once the event was back
    assert await mesh.redis.xlen(mesh.stream) == 1  # handed back in place, not added for every group again

    await polls(notify, audit)
    assert failing.handled == ["parcel"]
    assert fine.handled == ["parcel"]  # audit, which had handled it, is not bothered
    assert await inbox_rows(mesh, "notify") == 1
    assert await inbox_rows(mesh, "audit") == 1
    assert int((await mesh.redis.xpending(mesh.stream, "notify"))["pending"]) == 0

    # Again: the letter is gone, so nothing is handed back, and the command says so.
    assert await command("replay", dead_id, redis_url=mesh.redis_url) == 1
    assert f"no dead letter {dead_id}" in capsys.readouterr().err
    await polls(notify, audit)
    assert failing.handled == ["parcel"]
    assert fine.handled == ["parcel"]


async def test_a_replayed_event_that_fails_again_goes_back_to_the_dead_stream(mesh, capsys):
    _envelope, failing, _fine, notify, _audit = await parked(mesh)
    [dead_id] = await dead_ids(mesh)
    assert await command("replay", dead_id, redis_url=mesh.redis_url) == 0  # not fixed yet
    await polls(notify)
    [again] = await dead_ids(mesh)
    assert again != dead_id
    assert failing.handled == []


async def test_replay_of_an_event_the_stream_no_longer_holds_needs_re_add(mesh, capsys):
    _envelope, failing, fine, notify, audit = await parked(mesh)
    [dead_id] = await dead_ids(mesh)
    # As the relay's MAXLEN trimming would: the original entry is gone from the stream.
    [(original_id, _fields)] = await mesh.redis.xrange(mesh.stream)
    await mesh.redis.xdel(mesh.stream, original_id)
    failing.failing = False

    assert await command("replay", dead_id, redis_url=mesh.redis_url) == 1
    assert "--re-add" in capsys.readouterr().err
    assert await dead_ids(mesh) == [dead_id]  # kept, since nothing was handed back

    assert await command("replay", dead_id, "--re-add", redis_url=mesh.redis_url) == 0
    assert await dead_ids(mesh) == []
    await polls(notify, audit)
    assert failing.handled == ["parcel"]
    # audit reads the re-added entry too, and its inbox knows the event id: not handled a second time.
    assert fine.handled == ["parcel"]
    assert int((await mesh.redis.xpending(mesh.stream, "audit"))["pending"]) == 0
    assert await inbox_rows(mesh, "audit") == 1


async def test_replay_all_keeps_to_the_group_asked_for(mesh, capsys):
    failing_a, failing_b = Handler(failing=True), Handler(failing=True)
    first, second = consumer(mesh, "first", failing_a), consumer(mesh, "second", failing_b)
    for each in (first, second):
        await each.ensure_group()
    await publish(mesh, "one")
    await polls(first, second, times=1)
    assert len(await dead_ids(mesh)) == 2
    failing_a.failing = failing_b.failing = False

    assert await command("replay", "--all", "--stream", mesh.stream, "--group", "first", redis_url=mesh.redis_url) == 0
    await polls(first, second)
    assert failing_a.handled == ["one"]
    assert failing_b.handled == []
    [left] = await mesh.redis.xrange(f"{mesh.stream}.dead")
    assert left[1][b"group"] == b"second"


async def test_unknown_and_malformed_ids_are_clear_errors_and_nothing_is_replayed(mesh, capsys):
    _envelope, failing, _fine, notify, _audit = await parked(mesh)
    [dead_id] = await dead_ids(mesh)
    failing.failing = False

    assert await command("replay", dead_id, "1-0", "--stream", mesh.stream, redis_url=mesh.redis_url) == 1
    error = capsys.readouterr().err
    assert f"no dead letter 1-0 in {mesh.stream}.dead" in error
    assert "Traceback" not in error
    await polls(notify)
    assert failing.handled == []  # one unknown id stops the whole replay before it starts
    assert await dead_ids(mesh) == [dead_id]

    assert await command("replay", "not-an-id", "--stream", mesh.stream, redis_url=mesh.redis_url) == 1
    assert "not-an-id is not a stream entry id" in capsys.readouterr().err


async def test_drop_deletes_only_with_yes(mesh, capsys):
    await parked(mesh)
    [dead_id] = await dead_ids(mesh)

    assert await command("drop", dead_id, "--stream", mesh.stream, redis_url=mesh.redis_url) == 1
    assert "--yes" in capsys.readouterr().err
    assert await dead_ids(mesh) == [dead_id]

    assert await command("drop", dead_id, "--stream", mesh.stream, "--yes", redis_url=mesh.redis_url) == 0
    assert await dead_ids(mesh) == []
    assert await command("drop", dead_id, "--stream", mesh.stream, "--yes", redis_url=mesh.redis_url) == 1


async def test_the_redis_url_comes_from_the_run_file(mesh, capsys, monkeypatch, tmp_path: Path):
    await parked(mesh)
    [dead_id] = await dead_ids(mesh)
    # A second terminal with nothing exported: only the running stack's run file says where Redis is. setenv
    # first so that the teardown also removes what the command adds to the environment from the file.
    monkeypatch.setenv("REDIS_URL", "unused")
    monkeypatch.delenv("REDIS_URL")
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    write_run_file(tmp_path / RUN_FILE_NAME, {"REDIS_URL": mesh.redis_url})

    assert await command("list", "--stream", mesh.stream) == 0
    assert dead_id in capsys.readouterr().out


async def test_an_unreachable_redis_is_one_line_and_a_nonzero_exit(capsys):
    assert await command("list", redis_url="redis://:secret@127.0.0.1:1/0") == 1
    error = capsys.readouterr().err
    assert error.startswith("dead-letters list: cannot reach Redis at redis://***@127.0.0.1:1/0")
    assert "secret" not in error
    assert len(error.strip().splitlines()) == 1


def test_a_dead_stream_name_means_its_stream():
    assert dead_letters.source_stream("events.order.dead") == "events.order"
    assert dead_letters.source_stream("events.order") == "events.order"


async def test_list_reads_a_long_dead_stream_page_by_page(mesh, capsys, monkeypatch):
    monkeypatch.setattr(dead_letters, "PAGE", 2)
    failing = Handler(failing=True)
    notify = consumer(mesh, "notify", failing)
    await notify.ensure_group()
    for value in ("a", "b", "c", "d", "e"):
        await publish(mesh, value)
    await polls(notify, times=1)
    ids = await dead_ids(mesh)
    assert len(ids) == 5
    capsys.readouterr()

    assert await command("list", "--stream", mesh.stream, "--json", redis_url=mesh.redis_url) == 0
    assert [item["id"] for item in json.loads(capsys.readouterr().out)] == ids
