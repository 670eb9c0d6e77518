from __future__ import annotations

import pytest
from google.protobuf.wrappers_pb2 import Int64Value, StringValue
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import func, select

from marketplace.events.v1.envelope_pb2 import Envelope
from services.kit.ids import is_uuid
from tests.kit.data.example import Widget, outbox, widgets


async def count(db, table) -> int:
    async with db.engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(table)))


async def test_change_and_its_events_commit_together(example_db):
    db = example_db
    async with db.uow() as uow:
        await uow.session.execute(widgets.insert().values(id="w1", name="old", quantity=1))
        widget = uow.track(Widget("w1", "old"))
        widget.rename("new")
        await uow.commit()

    assert await count(db, widgets) == 1
    async with db.engine.connect() as connection:
        rows = (await connection.execute(select(outbox).order_by(outbox.c.position))).mappings().all()
    assert len(rows) == 1
    row = rows[0]
    assert row["subject"] == "w1"
    assert row["stream"] == f"events.{db.source}"
    assert row["type"] == "google.protobuf.StringValue"
    assert row["published_at"] is None
    envelope = Envelope.FromString(row["envelope"])
    assert envelope.id == row["id"]
    assert widget.events == []  # drained at commit, so a second commit writes nothing twice


async def test_exception_inside_the_block_writes_nothing(example_db):
    db = example_db
    with pytest.raises(RuntimeError, match="boom"):
        async with db.uow() as uow:
            await uow.session.execute(widgets.insert().values(id="w1", name="a", quantity=1))
            uow.emit("w1", StringValue(value="a"))
            await uow.session.flush()
            raise RuntimeError("boom")
    assert await count(db, widgets) == 0
    assert await count(db, outbox) == 0


async def test_leaving_without_commit_rolls_back(example_db):
    db = example_db
    async with db.uow() as uow:
        await uow.session.execute(widgets.insert().values(id="w1", name="a", quantity=1))
        uow.emit("w1", StringValue(value="a"))
    assert await count(db, widgets) == 0
    assert await count(db, outbox) == 0


async def test_every_tracked_event_is_written_with_its_envelope(example_db):
    db = example_db
    provider = TracerProvider()
    with provider.get_tracer("test").start_as_current_span("request") as span:
        async with db.uow() as uow:
            first = uow.track(Widget("w1", "a"))
            second = uow.track(Widget("w2", "b"))
            uow.track(first)  # tracking twice does not write twice
            first.rename("a2")
            second.rename("b2")
            first.rename("a3")
            uow.emit("w9", Int64Value(value=7))
            await uow.commit()
    trace_id = format(span.get_span_context().trace_id, "032x")

    async with db.engine.connect() as connection:
        rows = (await connection.execute(select(outbox).order_by(outbox.c.position))).mappings().all()
    envelopes = [Envelope.FromString(row["envelope"]) for row in rows]
    assert [(e.subject, e.type) for e in envelopes] == [
        ("w1", "google.protobuf.StringValue"),
        ("w1", "google.protobuf.StringValue"),
        ("w2", "google.protobuf.StringValue"),
        ("w9", "google.protobuf.Int64Value"),
    ]
    values = []
    for envelope in envelopes[:3]:
        payload = StringValue()
        assert envelope.payload.Unpack(payload)
        values.append(payload.value)
    assert values == ["a2", "a3", "b2"]
    for envelope in envelopes:
        assert is_uuid(envelope.id)
        assert envelope.source == db.source
        assert envelope.occurred_at.seconds > 0
        assert envelope.traceparent.startswith(f"00-{trace_id}-")
    assert len({e.id for e in envelopes}) == 4


async def test_commit_without_a_span_leaves_traceparent_empty(example_db):
    db = example_db
    assert not trace.get_current_span().get_span_context().is_valid
    async with db.uow() as uow:
        uow.emit("w1", StringValue(value="a"))
        await uow.commit()
    async with db.engine.connect() as connection:
        raw = await connection.scalar(select(outbox.c.envelope))
    assert Envelope.FromString(raw).traceparent == ""
