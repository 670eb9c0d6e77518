"""The in-process product cache behind GetProduct: product id -> a ready-built value (the response message).

Only ACTIVE products are stored (they look the same to every caller). An entry leaves when the catalog event
tail reports a change of its product (any catalog process's write), right after this process commits a change
(a seller reads their own write at once), when it is older than the TTL (a safety net for a missed event), or
when the least recently used entries make room. The tail clears the whole cache when it may have missed events.

A read that misses loads the product from the database and then stores it. A change committed while that read
was running would be lost if the read stored its older copy after the invalidation; so every id has a
generation, bumped by each invalidation, and a read stores only if the generation it saw before loading is
still current.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

Value = TypeVar("Value")


class ProductCache(Generic[Value]):
    def __init__(
        self, *, max_entries: int = 50_000, ttl_seconds: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._max_entries = max_entries
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Value]] = OrderedDict()  # id -> (expiry, value), LRU order
        # Generations of ids invalidated since the last clear; an id never invalidated is at generation 0.
        self._generations: dict[str, int] = {}
        self._epoch = 0  # bumped by clear(): a read that began before a clear stores nothing

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, product_id: str) -> Value | None:
        entry = self._entries.get(product_id)
        if entry is None:
            return None
        expires, value = entry
        if expires <= self._clock():
            del self._entries[product_id]
            return None
        self._entries.move_to_end(product_id)
        return value

    def generation(self, product_id: str) -> tuple[int, int]:
        """Taken before loading a product; `put` stores only if it is unchanged by then."""
        return self._epoch, self._generations.get(product_id, 0)

    def put(self, product_id: str, value: Value, generation: tuple[int, int]) -> bool:
        """Stores `value` unless the product was invalidated since `generation` was taken; True when stored."""
        if self._max_entries <= 0 or generation != self.generation(product_id):
            return False
        self._entries[product_id] = (self._clock() + self._ttl, value)
        self._entries.move_to_end(product_id)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        return True

    def invalidate(self, product_id: str) -> None:
        self._entries.pop(product_id, None)
        self._generations[product_id] = self._generations.get(product_id, 0) + 1
        if len(self._generations) > 4 * max(self._max_entries, 1):
            # Keeps the counters bounded; a clear also refuses every read in progress (new epoch).
            self.clear()

    def clear(self) -> None:
        self._entries.clear()
        self._generations.clear()
        self._epoch += 1
