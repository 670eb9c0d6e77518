"""WatchProduct: one task per process tails `events.catalog` and fans each product's changes out to its watchers.

Plain XREAD (not a consumer group): every catalog process sees every event and serves its own watchers. For
an event about a watched product the hub reads the product once and hands its state to each watcher's
bounded queue; a watcher whose queue is full has fallen behind and is dropped (RESOURCE_EXHAUSTED, reason
WATCHER_TOO_SLOW) rather than slowing the others or growing without bound.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.events.v1.envelope_pb2 import Envelope
from services.catalog.domain import ARCHIVED, Caller, Product
from services.catalog.store import Products
from services.kit.errors import NotFound, RateLimited
from services.kit.outbox import stream_for, wait_for_stop

log = logging.getLogger(__name__)

ENVELOPE_FIELD = b"envelope"
BLOCK_MILLISECONDS = 500
READ_BATCH = 200
MAX_BACKOFF_SECONDS = 5.0
# How long a new watcher waits for the hub to be reading (only right after the service starts).
HUB_READY_SECONDS = 5.0


@dataclass(frozen=True)
class ProductState:
    """What a watcher sees of a product."""

    product_id: str
    price_units: int
    currency: str
    available: int
    status: str
    updated_at: datetime

    @classmethod
    def of(cls, product: Product) -> ProductState:
        return cls(
            product.id, product.price_units, product.currency, product.available, product.status, product.updated_at
        )

    def same_as(self, other: ProductState) -> bool:
        return (self.price_units, self.currency, self.available, self.status) == (
            other.price_units,
            other.currency,
            other.available,
            other.status,
        )


@dataclass(eq=False)
class _Watcher:
    queue: asyncio.Queue[ProductState | None]
    dropped: bool = False


@dataclass
class ProductWatchers:
    redis: Redis
    sessions: async_sessionmaker[AsyncSession]
    queue_size: int = 64
    stream: str = stream_for("catalog")
    _watchers: dict[str, set[_Watcher]] = field(default_factory=dict)
    _reading: asyncio.Event = field(default_factory=asyncio.Event)

    def watching(self, product_id: str) -> int:
        return len(self._watchers.get(product_id, ()))

    async def watch(self, product_id: str, caller: Caller) -> AsyncIterator[ProductState]:
        """The product's current state, then each change, until it is archived or the caller goes away."""
        try:
            await asyncio.wait_for(self._reading.wait(), HUB_READY_SECONDS)
        except TimeoutError:
            log.warning("watching before the catalog event stream is being read")
        watcher = _Watcher(asyncio.Queue(maxsize=self.queue_size))
        # Registered before the first read: a change between the two is not lost.
        self._watchers.setdefault(product_id, set()).add(watcher)
        try:
            product = await self._load(product_id)
            if product is None:
                raise NotFound("product not found", metadata={"product_id": product_id})
            product.ensure_visible_to(caller)
            last = ProductState.of(product)
            yield last
            while last.status != ARCHIVED:
                state = await watcher.queue.get()
                if state is None:
                    raise RateLimited("the watcher fell behind the product's changes", reason="WATCHER_TOO_SLOW")
                if not state.same_as(last):
                    last = state
                    yield state
        finally:
            watchers = self._watchers.get(product_id)
            if watchers is not None:
                watchers.discard(watcher)
                if not watchers:
                    del self._watchers[product_id]

    async def _load(self, product_id: str) -> Product | None:
        async with self.sessions() as session:
            return await Products(session).get(product_id)

    async def _publish(self, product_id: str) -> None:
        if not self._watchers.get(product_id):
            return
        product = await self._load(product_id)
        if product is None:
            return
        state = ProductState.of(product)
        for watcher in list(self._watchers.get(product_id, ())):
            if watcher.dropped:
                continue
            try:
                watcher.queue.put_nowait(state)
            except asyncio.QueueFull:
                watcher.dropped = True
                # Make room for the signal that ends the slow watcher's stream.
                watcher.queue.get_nowait()
                watcher.queue.put_nowait(None)

    async def _subject_of(self, fields: Mapping[Any, Any]) -> str | None:
        raw = fields.get(ENVELOPE_FIELD, fields.get(ENVELOPE_FIELD.decode()))
        if not isinstance(raw, bytes):
            return None
        envelope = Envelope()
        envelope.ParseFromString(raw)
        return str(envelope.subject)

    async def run(self, stop: asyncio.Event) -> None:
        """Tails the stream from its current end until `stop` is set (the shape of `Runtime.add_task`)."""
        position: str | None = None
        backoff = 0.1
        while not stop.is_set():
            try:
                if position is None:
                    position = await _stream_end(self.redis, self.stream)
                    self._reading.set()
                replies = await self.redis.xread({self.stream: position}, count=READ_BATCH, block=BLOCK_MILLISECONDS)
                backoff = 0.1
                for _stream, messages in replies or []:
                    for message_id, fields in messages:
                        position = message_id.decode() if isinstance(message_id, bytes) else str(message_id)
                        subject = await self._subject_of(fields)
                        if subject:
                            await self._publish(subject)
            except (RedisError, OSError) as error:
                log.warning("watchers cannot read catalog events; retrying", extra={"fields": {"error": str(error)}})
                if await wait_for_stop(stop, backoff):
                    return
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
            except Exception:
                log.exception("watchers could not apply a catalog event")


async def _stream_end(redis: Redis, stream: str) -> str:
    """The id of the stream's last entry ("0-0" when empty or absent): reading after it gets only new events."""
    last = await redis.xrevrange(stream, count=1)
    if not last:
        return "0-0"
    message_id = last[0][0]
    return message_id.decode() if isinstance(message_id, bytes) else str(message_id)
