"""WatchProduct: the process's catalog event tail (`StreamTail`) fans each product's changes out to its watchers
through the kit's `SubjectWatchers`.

The tail reads with plain XREAD (not a consumer group): every catalog process sees every event and serves its
own watchers. A watcher that falls behind is dropped (RESOURCE_EXHAUSTED, reason WATCHER_TOO_SLOW).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.events.v1.envelope_pb2 import Envelope
from services.catalog.domain import ARCHIVED, Caller, Product
from services.catalog.store.products import Products
from services.kit.errors import NotFound
from services.kit.watch import SubjectWatchers


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


class ProductWatchers:
    """WatchProduct streams, fed by the kit's `SubjectWatchers` (one read per change, bounded queues)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], reading: asyncio.Event, queue_size: int = 64):
        self._sessions = sessions
        self._hub: SubjectWatchers[ProductState] = SubjectWatchers(self._state, reading, queue_size)

    def watching(self, product_id: str) -> int:
        return self._hub.watching(product_id)

    async def watch(self, product_id: str, caller: Caller) -> AsyncIterator[ProductState]:
        """The product's current state, then each change, until it is archived or the caller goes away."""
        async with self._hub.subscription(product_id) as next_state:
            product = await self._load(product_id)
            if product is None:
                raise NotFound("product not found", metadata={"product_id": product_id})
            product.ensure_visible_to(caller)
            last = ProductState.of(product)
            yield last
            while last.status != ARCHIVED:
                state = await next_state()
                if not state.same_as(last):
                    last = state
                    yield state

    async def _load(self, product_id: str) -> Product | None:
        async with self._sessions() as session:
            return await Products(session).get(product_id)

    async def _state(self, product_id: str) -> ProductState | None:
        product = await self._load(product_id)
        return ProductState.of(product) if product is not None else None

    async def on_event(self, envelope: Envelope) -> None:
        """A `StreamTail` handler: the product the event is about goes to its watchers, if it has any."""
        await self._hub.on_event(envelope)
