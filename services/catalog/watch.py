"""WatchProduct: the process's catalog event tail (`StreamTail`) fans each product's changes out to its watchers.

The tail reads with plain XREAD (not a consumer group): every catalog process sees every event and serves its
own watchers. For an event about a watched product the hub reads the product once and hands its state to each watcher's
bounded queue; a watcher whose queue is full has fallen behind and is dropped (RESOURCE_EXHAUSTED, reason
WATCHER_TOO_SLOW) rather than slowing the others or growing without bound.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.events.v1.envelope_pb2 import Envelope
from services.catalog.domain import ARCHIVED, Caller, Product
from services.catalog.store import Products
from services.kit.errors import NotFound, RateLimited

log = logging.getLogger(__name__)

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
    # Each live variant: (id, price, available, status), in the product's order.
    variants: tuple[tuple[str, int, int, str], ...] = ()

    @classmethod
    def of(cls, product: Product) -> ProductState:
        variants = tuple(
            (variant.id, product.unit_price(variant), variant.available, variant.status)
            for variant in product.live_variants
        )
        return cls(
            product.id,
            product.price_units,
            product.currency,
            product.available,
            product.status,
            product.updated_at,
            variants,
        )

    def same_as(self, other: ProductState) -> bool:
        return (self.price_units, self.currency, self.available, self.status, self.variants) == (
            other.price_units,
            other.currency,
            other.available,
            other.status,
            other.variants,
        )


@dataclass(eq=False)
class _Watcher:
    queue: asyncio.Queue[ProductState | None]
    dropped: bool = False


@dataclass
class ProductWatchers:
    sessions: async_sessionmaker[AsyncSession]
    # Set once the event tail is reading: from then on every change reaches the watchers.
    reading: asyncio.Event
    queue_size: int = 64
    _watchers: dict[str, set[_Watcher]] = field(default_factory=dict)

    def watching(self, product_id: str) -> int:
        return len(self._watchers.get(product_id, ()))

    async def watch(self, product_id: str, caller: Caller) -> AsyncIterator[ProductState]:
        """The product's current state, then each change, until it is archived or the caller goes away."""
        try:
            await asyncio.wait_for(self.reading.wait(), HUB_READY_SECONDS)
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

    async def on_event(self, envelope: Envelope) -> None:
        """A `StreamTail` handler: the product the event is about goes to its watchers, if it has any."""
        if envelope.subject:
            await self._publish(envelope.subject)
