"""Redis Streams consumers: consumer groups, claim of stuck messages, bounded retries, dead letters, inbox;
and broadcast tails (`StreamTail`) that every process reads in full.

Each message carries one serialized `Envelope` in the field `envelope`. A handler runs in a unit of work whose
transaction also inserts the (event id, group) inbox row, so an event is handled at most once per group even
when Redis delivers it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from google.protobuf.message import DecodeError, Message
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from marketplace.events.v1.envelope_pb2 import Envelope
from services.kit.loops import Backoff
from services.kit.outbox import dead_letter_stream, record_inbox
from services.kit.uow import UnitOfWork

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

ENVELOPE_FIELD = b"envelope"

Handler = Callable[[UnitOfWork, Any, Any], Awaitable[None]]  # (uow, envelope, payload)


class StreamConsumer:
    """Reads `stream` as a member `consumer` of `group` and dispatches payloads to `handlers` by message class.

    A message whose handler raises stays pending; once idle for `claim_idle` seconds a consumer of the group claims
    it (XAUTOCLAIM) and tries again. After `max_deliveries` tries it goes to `<stream>.dead` with the error and is
    acknowledged. Payload types without a handler are acknowledged and ignored.

    With `concurrency` above 1, messages are handled that many at a time, those of one subject (the envelope's
    `subject`: an order, a product) one after another in stream order, so events about different things do not
    queue behind each other. Handlers must then be safe to run side by side, as they are when several consumers
    share the group: each locks the rows it changes, in a fixed order. With 1, one message at a time, in stream
    order.

    `run` reads on while messages are being handled (up to `batch_size` of them taken and not yet done), so a
    message that arrives during a slow one waits only for its own subject's, not for a whole batch to end.
    """

    def __init__(
        self,
        redis: Redis,
        uow_factory: Callable[[], UnitOfWork],
        *,
        stream: str,
        group: str,
        consumer: str,
        handlers: Mapping[type[Message], Handler],
        batch_size: int = 50,
        block: float = 0.2,
        claim_idle: float = 30.0,
        claim_interval: float = 1.0,
        max_deliveries: int = 5,
        max_backoff: float = 5.0,
        concurrency: int = 1,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if redis.connection_pool.connection_kwargs.get("decode_responses"):
            raise ValueError("the bus reads binary envelopes: use a Redis client without decode_responses")
        self._redis = redis
        self._uow_factory = uow_factory
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self._handlers = {
            message_type.DESCRIPTOR.full_name: (message_type, handler) for message_type, handler in handlers.items()
        }
        self._batch_size = batch_size
        self._block_ms = max(1, int(block * 1000))
        self._claim_idle_ms = int(claim_idle * 1000)
        self._claim_interval = claim_interval
        self._max_deliveries = max_deliveries
        self._max_backoff = max_backoff
        self._concurrency = concurrency
        self._claim_cursor = "0-0"
        self._last_claim = 0.0
        self._slots = asyncio.Semaphore(concurrency)
        self._taken: set[asyncio.Task[None]] = set()  # taken from the stream, not yet done
        self._last_of_subject: dict[str, asyncio.Task[None]] = {}

    async def ensure_group(self) -> None:
        """Creates the group (and the stream) unless it exists; a new group starts at the stream's beginning."""
        try:
            await self._redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    async def run(self, stop: asyncio.Event) -> None:
        """Consumes until `stop` is set; Redis or database errors are logged and retried with backoff."""
        backoff = Backoff(maximum=self._max_backoff)
        group_ready = False
        try:
            while not stop.is_set():
                try:
                    if not group_ready:
                        await self.ensure_group()
                        group_ready = True
                    await self._read(drain=False)
                    backoff.reset()
                except Exception as error:
                    if isinstance(error, ResponseError) and "NOGROUP" in str(error):
                        group_ready = False  # the stream or group was deleted: create it again
                    log.exception("consumer %s/%s failed; retrying in %.1f s", self.stream, self.group, backoff.delay)
                    await backoff.wait(stop)
        finally:
            # No handler is left running behind the consumer's back (their failures were logged as they came).
            with contextlib.suppress(Exception):
                await self._drain()

    async def poll_once(self) -> int:
        """Claims stuck messages when due, reads new ones (blocking up to `block`) and handles them all before it
        returns; returns how many it saw."""
        return await self._read(drain=True)

    async def _read(self, *, drain: bool) -> int:
        # Taken but not done: at most a batch, so a slow handler holds back reading rather than piling up work.
        while len(self._taken) >= self._batch_size:
            await asyncio.wait(self._taken, return_when=asyncio.FIRST_COMPLETED)
        seen = 0
        now = time.monotonic()
        if now - self._last_claim >= self._claim_interval:
            self._last_claim = now
            seen += await self._claim_stuck()
        response = await self._redis.xreadgroup(
            self.group,
            self.consumer,
            {self.stream: ">"},
            count=self._batch_size - len(self._taken),
            block=self._block_ms,
        )
        for _stream, entries in response or []:
            for message_id, fields in entries:
                self._take(message_id, fields, deliveries=1)
            seen += len(entries)
        if drain:
            await self._drain()
        return seen

    def _take(self, message_id: bytes, fields: Mapping[bytes, bytes], *, deliveries: int) -> None:
        """Handles the message after the one taken before it of the same subject (of any, at concurrency 1)."""
        subject = _subject_of(fields) if self._concurrency > 1 else ""
        task = asyncio.create_task(
            self._process_after(self._last_of_subject.get(subject), message_id, fields, deliveries)
        )
        self._last_of_subject[subject] = task
        self._taken.add(task)
        task.add_done_callback(lambda done: self._done(subject, done))

    async def _process_after(
        self,
        previous: asyncio.Task[None] | None,
        message_id: bytes,
        fields: Mapping[bytes, bytes],
        deliveries: int,
    ) -> None:
        if previous is not None:
            await asyncio.wait([previous])  # whatever became of it: a failed message stays pending on its own
        async with self._slots:
            await self._process(message_id, fields, deliveries=deliveries)

    def _done(self, subject: str, task: asyncio.Task[None]) -> None:
        self._taken.discard(task)
        if self._last_of_subject.get(subject) is task:
            del self._last_of_subject[subject]
        if not task.cancelled() and (error := task.exception()) is not None:
            # Redis or the database failed around the handler: the message stays pending and is claimed again.
            log.warning("consumer %s/%s could not finish a message: %r", self.stream, self.group, error)

    async def _drain(self) -> None:
        """Waits for every message taken to be done; raises the first failure among them."""
        taken = list(self._taken)
        outcomes = await asyncio.gather(*taken, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _claim_stuck(self) -> int:
        cursor, entries, *_deleted = await self._redis.xautoclaim(
            self.stream,
            self.group,
            self.consumer,
            self._claim_idle_ms,
            start_id=self._claim_cursor,
            count=self._batch_size,
        )
        self._claim_cursor = cursor.decode() if isinstance(cursor, bytes) else str(cursor)
        entries = [(message_id, fields) for message_id, fields in entries if fields is not None]
        if not entries:
            return 0
        deliveries = await self._delivery_counts([message_id for message_id, _fields in entries])
        for message_id, fields in entries:
            self._take(message_id, fields, deliveries=deliveries.get(message_id, self._max_deliveries))
        return len(entries)

    async def _delivery_counts(self, message_ids: list[bytes]) -> dict[bytes, int]:
        pending = await self._redis.xpending_range(
            self.stream,
            self.group,
            min=message_ids[0],
            max=message_ids[-1],
            count=len(message_ids) + 100,
            consumername=self.consumer,
        )
        return {entry["message_id"]: int(entry["times_delivered"]) for entry in pending}

    async def _process(self, message_id: bytes, fields: Mapping[bytes, bytes], *, deliveries: int) -> None:
        raw = fields.get(ENVELOPE_FIELD, b"")
        envelope = Envelope()
        try:
            envelope.ParseFromString(raw)
        except DecodeError:
            await self._dead_letter(message_id, raw, "malformed envelope", deliveries)
            return
        if deliveries > self._max_deliveries:
            # Delivered again and again without an ack (the consumer died each time): stop trying.
            await self._dead_letter(message_id, raw, f"not acknowledged after {deliveries - 1} deliveries", deliveries)
            return
        registered = self._handlers.get(envelope.payload.TypeName())
        if registered is None:
            log.debug("ignoring %s %s on %s", envelope.type, envelope.id, self.stream)
            await self._redis.xack(self.stream, self.group, message_id)
            return
        message_type, handler = registered
        try:
            await self._handle(envelope, message_type, handler)
        except Exception as error:
            if deliveries >= self._max_deliveries:
                log.exception(
                    "event %s failed %d times; moving it to %s",
                    envelope.id,
                    deliveries,
                    dead_letter_stream(self.stream),
                )
                await self._dead_letter(message_id, raw, f"{type(error).__name__}: {error}", deliveries)
            else:
                log.warning("event %s failed (try %d of %d): %r", envelope.id, deliveries, self._max_deliveries, error)
            return
        await self._redis.xack(self.stream, self.group, message_id)

    async def _handle(self, envelope: Any, message_type: type[Message], handler: Handler) -> None:
        payload = message_type()
        if not envelope.payload.Unpack(payload):
            raise ValueError(f"payload is not a {message_type.DESCRIPTOR.full_name}")
        parent = propagate.extract({"traceparent": envelope.traceparent} if envelope.traceparent else {})
        token = otel_context.attach(parent)
        try:
            with tracer.start_as_current_span(f"consume {envelope.type}", kind=trace.SpanKind.CONSUMER):
                async with self._uow_factory() as uow:
                    if await record_inbox(uow.session, envelope.id, self.group):
                        await handler(uow, envelope, payload)
                    else:
                        log.debug("event %s already handled by %s", envelope.id, self.group)
                    await uow.commit()
        finally:
            otel_context.detach(token)

    async def _dead_letter(self, message_id: bytes, raw: bytes, error: str, deliveries: int) -> None:
        async with self._redis.pipeline(transaction=True) as pipeline:
            pipeline.xadd(
                dead_letter_stream(self.stream),
                {
                    "envelope": raw,
                    "group": self.group,
                    "error": error[:2000],
                    "deliveries": str(deliveries),
                    "original_id": message_id,
                },
            )
            pipeline.xack(self.stream, self.group, message_id)
            await pipeline.execute()


def _subject_of(fields: Mapping[bytes, bytes]) -> str:
    """The envelope's subject ("" for one that does not parse: `_process` dead-letters it)."""
    envelope = Envelope()
    try:
        envelope.ParseFromString(fields.get(ENVELOPE_FIELD, b""))
    except DecodeError:
        return ""
    return envelope.subject


# --- broadcast tails ------------------------------------------------------------------------------------------

TailHandler = Callable[[Envelope], Awaitable[None]]  # (envelope)
GapCallback = Callable[[], Awaitable[None] | None]


class StreamTail:
    """Follows `stream` from its end with plain XREAD: every process running a tail sees every event.

    Unlike `StreamConsumer` there is no group, no acknowledgement and no inbox: a tail keeps in-process state fresh
    (indexes, caches, fan-out to watchers). Each event's `Envelope` goes to every handler in registration order;
    a handler that raises is logged and the others, and the tail, go on. A Redis outage is logged and retried
    with backoff from the same position, so nothing the stream still holds is missed. `on_gap` callbacks run when
    the tail starts without a position (its first read) and when it is back after an outage (a restarted Redis
    may have lost events): whatever was derived from earlier events may be stale, so caches should be cleared.
    """

    def __init__(
        self,
        redis: Redis,
        stream: str,
        *,
        block_ms: int = 500,
        batch: int = 200,
        max_backoff: float = 5.0,
        on_gap: GapCallback | None = None,
    ) -> None:
        if redis.connection_pool.connection_kwargs.get("decode_responses"):
            raise ValueError("the bus reads binary envelopes: use a Redis client without decode_responses")
        self._redis = redis
        self.stream = stream
        self._block_ms = block_ms
        self._batch = batch
        self._max_backoff = max_backoff
        self._handlers: list[TailHandler] = []
        self._gap_callbacks: list[GapCallback] = [on_gap] if on_gap is not None else []
        self.position: str | None = None
        # Set once the tail has pinned its position: events added from then on reach the handlers.
        self.reading = asyncio.Event()

    def add_handler(self, handler: TailHandler) -> None:
        self._handlers.append(handler)

    def on_gap(self, callback: GapCallback) -> None:
        """Adds a callback run whenever the tail (re)starts without a position."""
        self._gap_callbacks.append(callback)

    async def run(self, stop: asyncio.Event) -> None:
        """Tails until `stop` is set (the shape of `Runtime.add_task`)."""
        backoff = Backoff(maximum=self._max_backoff)
        recovering = False
        while not stop.is_set():
            try:
                if self.position is None:
                    self.position = await self._stream_end()
                    recovering = True
                    self.reading.set()
                replies = await self._redis.xread({self.stream: self.position}, count=self._batch, block=self._block_ms)
                backoff.reset()
                if recovering:
                    recovering = False
                    await self._gap()
            except (RedisError, OSError) as error:
                log.warning(
                    "cannot read %s; retrying in %.1f s",
                    self.stream,
                    backoff.delay,
                    extra={"fields": {"stream": self.stream, "error": str(error)}},
                )
                recovering = True
                if await backoff.wait(stop):
                    return
                continue
            for _stream, messages in replies or []:
                for message_id, fields in messages:
                    self.position = message_id.decode() if isinstance(message_id, bytes) else str(message_id)
                    await self._deliver(fields)

    async def _stream_end(self) -> str:
        """The id of the stream's last entry ("0-0" when empty): XREAD from "$", pinned so no event slips by."""
        last = await self._redis.xrevrange(self.stream, count=1)
        if not last:
            return "0-0"
        message_id = last[0][0]
        return message_id.decode() if isinstance(message_id, bytes) else str(message_id)

    async def _gap(self) -> None:
        for callback in self._gap_callbacks:
            try:
                result = callback()
                if result is not None:
                    await result
            except Exception:
                log.exception("a gap callback of the tail of %s failed", self.stream)

    async def _deliver(self, fields: Mapping[bytes, bytes]) -> None:
        envelope = Envelope()
        try:
            envelope.ParseFromString(fields.get(ENVELOPE_FIELD, b""))
        except DecodeError:
            log.warning("malformed envelope on %s; skipped", self.stream)
            return
        for handler in self._handlers:
            try:
                await handler(envelope)
            except Exception:
                log.exception(
                    "a handler of the tail of %s failed",
                    self.stream,
                    extra={"fields": {"event_id": envelope.id, "type": envelope.type}},
                )
