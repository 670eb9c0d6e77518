"""The transactional outbox: the `outbox` and `inbox` tables, event envelopes, and the relay to Redis Streams.

A unit of work writes one outbox row per event in the same transaction as the change; `OutboxRelay` then adds
each row to the stream `events.<source>` and marks it published. Consumers record handled event ids in `inbox`.

The relay does not poll: the transaction that writes outbox rows also notifies `OUTBOX_CHANNEL`, which
PostgreSQL delivers when (and only if) it commits, and an idle relay waits for that notification on a
connection of its own. A slow fallback pass (`idle_interval`) covers notifications missed while that
connection was down and rows another relay left behind; without the connection the relay polls every
`poll_interval`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from google.protobuf.any_pb2 import Any as AnyMessage
from google.protobuf.message import Message
from opentelemetry import propagate
from redis.asyncio import Redis
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from marketplace.events.v1.envelope_pb2 import Envelope
from services.kit.ids import new_id
from services.kit.loops import Backoff, wait_for_stop

log = logging.getLogger(__name__)

OUTBOX_TABLE = "outbox"
INBOX_TABLE = "inbox"
UNPUBLISHED_INDEX = "ix_outbox_unpublished"
UNPUBLISHED_SUBJECT_INDEX = "ix_outbox_unpublished_subject"
# Notified by every transaction that writes outbox rows (notifications are per database).
OUTBOX_CHANNEL = "marketplace_outbox"


def stream_for(source: str) -> str:
    """The stream a service's events go to: one stream per producing service."""
    return f"events.{source}"


def dead_letter_stream(stream: str) -> str:
    return f"{stream}.dead"


# --- tables ---------------------------------------------------------------------------------------------------


def outbox_columns() -> list[Column[Any]]:
    """Fresh column objects of the `outbox` table (a Column belongs to one Table, so each caller gets new ones)."""
    return [
        Column("id", String(36), primary_key=True),  # the event id (Envelope.id)
        # Commit order is not known in advance; this sequence gives the order the relay publishes in.
        Column("position", BigInteger, Identity(always=True), nullable=False, unique=True),
        Column("stream", Text, nullable=False),
        Column("subject", Text, nullable=False),
        Column("type", Text, nullable=False),
        Column("envelope", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True), nullable=True),
    ]


def inbox_columns() -> list[Column[Any]]:
    return [
        Column("event_id", String(36), primary_key=True),
        Column("consumer_group", Text, primary_key=True),
        Column("handled_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ]


def outbox_indexes(outbox: Table) -> list[Index]:
    unpublished = outbox.c.published_at.is_(None)
    return [
        Index(UNPUBLISHED_INDEX, outbox.c.position, postgresql_where=unpublished),
        Index(UNPUBLISHED_SUBJECT_INDEX, outbox.c.subject, outbox.c.position, postgresql_where=unpublished),
    ]


def add_kit_tables(metadata: MetaData) -> tuple[Table, Table]:
    """Adds the `outbox` and `inbox` tables to a service's `metadata`; returns them."""
    outbox = Table(OUTBOX_TABLE, metadata, *outbox_columns())
    outbox_indexes(outbox)  # an Index on a table's columns attaches itself to that table
    inbox = Table(INBOX_TABLE, metadata, *inbox_columns())
    return outbox, inbox


# The kit's own handles on the tables, for its queries; every service's tables have this same shape.
_kit_metadata = MetaData()
outbox_table, inbox_table = add_kit_tables(_kit_metadata)

# The statements every event costs, built once with bound parameters: SQLAlchemy then finds each one's
# compiled form from a cache key it memoized, where a statement built per call costs about 40 % more CPU to
# execute (about 0.1 ms each; bench/README.md, "Fifth runs").
# One statement: the rows, and the notification delivered at commit to the relays listening on this database
# (see the module's docstring). PostgreSQL sends one notification per channel and payload per transaction,
# however many rows returned it; several rows go as one multi-row INSERT (SQLAlchemy's "insertmanyvalues").
_WRITE_OUTBOX = outbox_table.insert().returning(func.pg_notify(OUTBOX_CHANNEL, ""))
_RECORD_INBOX = (
    pg_insert(inbox_table)
    .values(event_id=bindparam("event_id"), consumer_group=bindparam("consumer_group"))
    .on_conflict_do_nothing()
    .returning(inbox_table.c.event_id)
)
# Unpublished rows of these subjects up to the batch's last one, locked by this relay or not (a plain read sees
# them all).
_UNPUBLISHED_OF_SUBJECTS = text(
    "SELECT subject, position FROM outbox "
    "WHERE published_at IS NULL AND subject = ANY(:subjects) AND position <= :last ORDER BY position"
)
_MARK_PUBLISHED = (
    update(outbox_table)
    .where(outbox_table.c.id == func.any(bindparam("ids", type_=ARRAY(String))))
    .values(published_at=func.now())
)


# --- envelopes ------------------------------------------------------------------------------------------------


def make_envelope(source: str, subject: str, payload: Message, *, occurred_at: datetime | None = None) -> Any:
    """An `Envelope` around `payload`, carrying the current trace context (empty when no span is active)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    packed = AnyMessage()
    packed.Pack(payload)
    envelope = Envelope(
        id=new_id(),
        type=payload.DESCRIPTOR.full_name,
        source=source,
        subject=subject,
        traceparent=carrier.get("traceparent", ""),
        payload=packed,
    )
    envelope.occurred_at.FromDatetime(occurred_at or datetime.now(UTC))
    return envelope


def outbox_row(envelope: Any) -> dict[str, Any]:
    return {
        "id": envelope.id,
        "stream": stream_for(envelope.source),
        "subject": envelope.subject,
        "type": envelope.type,
        "envelope": envelope.SerializeToString(),
    }


async def write_outbox(session: AsyncSession, envelopes: list[Any]) -> None:
    if envelopes:
        (await session.execute(_WRITE_OUTBOX, [outbox_row(envelope) for envelope in envelopes])).all()


async def record_inbox(session: AsyncSession, event_id: str, group: str) -> bool:
    """Records that `group` handles `event_id` in the session's transaction; False when it was handled already.

    A concurrent handler of the same event waits on the primary key until the first one commits or rolls back.
    """
    result = await session.execute(_RECORD_INBOX, {"event_id": event_id, "consumer_group": group})
    return result.first() is not None


# --- relay ----------------------------------------------------------------------------------------------------

# KEYS: stream1, dedupe1, stream2, dedupe2, ...; ARGV: ttl seconds, maxlen, envelope1, envelope2, ...
# One script per batch keeps the batch's order: if an XADD fails, the later ones never run. The dedupe key is
# set only after its XADD succeeded, so an entry is added exactly once however often a batch is retried.
_PUBLISH_SCRIPT = """
local added = {}
for i = 1, #KEYS, 2 do
  local dedupe = KEYS[i + 1]
  local existing = redis.call('GET', dedupe)
  if existing then
    added[#added + 1] = existing
  else
    local id = redis.call('XADD', KEYS[i], 'MAXLEN', '~', ARGV[2], '*', 'envelope', ARGV[(i + 1) / 2 + 2])
    redis.call('SET', dedupe, id, 'EX', ARGV[1])
    added[#added + 1] = id
  end
end
return added
"""


def dedupe_key(event_id: str) -> str:
    return f"outbox:sent:{event_id}"


@dataclass(frozen=True)
class PendingRow:
    id: str
    position: int
    stream: str
    subject: str
    envelope: bytes


class OutboxListener:
    """A connection of its own that LISTENs on `OUTBOX_CHANNEL` and sets `wake` on each notification.

    A dedicated asyncpg connection rather than one of the engine's: it stays open as long as the relay runs,
    and its loss is noticed here (and retried every `retry_after` seconds) without touching the pool.
    """

    def __init__(self, connect_args: dict[str, Any], wake: asyncio.Event, *, retry_after: float = 5.0) -> None:
        self._connect_args = connect_args
        self._wake = wake
        self._retry_after = retry_after
        self._connection: asyncpg.Connection | None = None
        self._next_attempt = 0.0
        self._warned = False

    async def connected(self) -> bool:
        """Whether notifications are being received; (re)connects when the last attempt is old enough."""
        if self._connection is not None and not self._connection.is_closed():
            return True
        self._connection = None
        loop = asyncio.get_running_loop()
        if loop.time() < self._next_attempt:
            return False
        self._next_attempt = loop.time() + self._retry_after
        connection: asyncpg.Connection | None = None
        try:
            connection = await asyncpg.connect(**self._connect_args, timeout=2)
            await connection.add_listener(OUTBOX_CHANNEL, self._notified)
            # A lost connection wakes the relay too, which then polls until the listener is back.
            connection.add_termination_listener(self._notified)
        except Exception as error:  # whatever the failure, the relay goes on polling
            if connection is not None:
                with contextlib.suppress(Exception):
                    await connection.close(timeout=2)
            if not self._warned:
                log.warning("outbox relay cannot listen for commits; polling instead: %s", error)
                self._warned = True
            return False
        if self._warned:
            log.info("outbox relay listening for commits again")
            self._warned = False
        self._connection = connection
        # Rows committed while nobody listened are picked up by the batch that follows.
        self._wake.set()
        return True

    def _notified(self, *_: object) -> None:
        self._wake.set()

    async def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close(timeout=2)
            self._connection = None


class OutboxRelay:
    """Publishes a service's outbox to Redis Streams, at least once from PostgreSQL and exactly once on the stream.

    Several relays may run: rows are locked with `FOR UPDATE SKIP LOCKED`, and a row is published only when no
    earlier unpublished row of the same subject is held by another relay, so each subject's order is kept.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        redis: Redis,
        *,
        batch_size: int = 100,
        poll_interval: float = 0.1,
        idle_interval: float = 5.0,
        max_backoff: float = 5.0,
        listen_connect_args: dict[str, Any] | None = None,
        max_stream_length: int = 100_000,
        dedupe_ttl: timedelta = timedelta(days=7),
    ) -> None:
        self._engine = engine
        self._redis = redis
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._idle_interval = idle_interval
        self._max_backoff = max_backoff
        # asyncpg's arguments for the engine's own database (a unix socket for the embedded PostgreSQL).
        self._listen_connect_args = listen_connect_args or dict(engine.dialect.create_connect_args(engine.url)[1])
        self._max_stream_length = max_stream_length
        self._dedupe_ttl_seconds = int(dedupe_ttl.total_seconds())
        self._publish_script = redis.register_script(_PUBLISH_SCRIPT)
        table = outbox_table
        self._lock_batch_statement = (
            select(table.c.id, table.c.position, table.c.stream, table.c.subject, table.c.envelope)
            .where(table.c.published_at.is_(None))
            .order_by(table.c.position)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Publishes until `stop` is set; errors (PostgreSQL or Redis down) are logged and retried with backoff."""
        wake = asyncio.Event()
        listener = OutboxListener(self._listen_connect_args, wake, retry_after=self._max_backoff)
        backoff = Backoff(self._poll_interval, self._max_backoff)
        try:
            while not stop.is_set():
                listening = await listener.connected()
                # Cleared before the batch: a commit notified while it runs wakes the next wait at once.
                wake.clear()
                try:
                    published = await self.publish_batch()
                except Exception:
                    log.exception("outbox relay failed; retrying in %.1f s", backoff.delay)
                    await backoff.wait(stop)
                    continue
                backoff.reset()
                if published < self._batch_size:
                    await wait_for_stop(stop, self._idle_interval if listening else self._poll_interval, wake=wake)
        finally:
            await listener.close()

    async def publish_batch(self) -> int:
        """Publishes one batch of unpublished rows; returns how many were published."""
        async with self._engine.begin() as connection:
            rows = await self._lock_batch(connection)
            if not rows:
                return 0
            publishable = await self._in_subject_order(connection, rows)
            if not publishable:
                return 0
            await self._add_to_streams(publishable)
            await self.mark_published(connection, [row.id for row in publishable])
        return len(publishable)

    async def _lock_batch(self, connection: AsyncConnection) -> list[PendingRow]:
        result = await connection.execute(self._lock_batch_statement)
        return [PendingRow(*row) for row in result.all()]

    async def _in_subject_order(self, connection: AsyncConnection, rows: list[PendingRow]) -> list[PendingRow]:
        """The rows of `rows` that may go now: for each subject, those before its first row another relay holds."""
        subjects = sorted({row.subject for row in rows})
        last_position = rows[-1].position
        ours = {row.position for row in rows}
        # A subject is blocked from its first row that another relay holds; rows after it wait for a later batch.
        first_foreign: dict[str, int] = {}
        found = await connection.execute(_UNPUBLISHED_OF_SUBJECTS, {"subjects": subjects, "last": last_position})
        for subject, position in found.all():
            if position not in ours and subject not in first_foreign:
                first_foreign[subject] = position
        return [row for row in rows if row.position < first_foreign.get(row.subject, last_position + 1)]

    async def _add_to_streams(self, rows: list[PendingRow]) -> None:
        keys: list[str] = []
        envelopes: list[bytes] = []
        for row in rows:
            keys += [row.stream, dedupe_key(row.id)]
            envelopes.append(row.envelope)
        await self._publish_script(keys=keys, args=[self._dedupe_ttl_seconds, self._max_stream_length, *envelopes])

    async def mark_published(self, connection: AsyncConnection, ids: list[str]) -> None:
        """Marks rows published; runs after their XADD, in the transaction that locked them."""
        await connection.execute(_MARK_PUBLISHED, {"ids": ids})
