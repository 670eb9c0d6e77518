"""Server-streaming watches fed by a process's event tail: each change of a watched subject (a product, an order)
is loaded once and handed to every watcher of it.

A `StreamTail` handler (`on_event`) looks at each event's subject; when the subject has watchers, the state is
read once (`load`) and put on each watcher's bounded queue. A watcher whose queue is full has fallen behind
and is dropped (RESOURCE_EXHAUSTED, reason WATCHER_TOO_SLOW) rather than slowing the others or growing without
bound. A watcher registers before it reads the first state, so a change between the two is not lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from marketplace.events.v1.envelope_pb2 import Envelope
from services.kit.errors import RateLimited

log = logging.getLogger(__name__)

# How long a new watcher waits for the tail to be reading (only right after the service starts).
TAIL_READY_SECONDS = 5.0

State = TypeVar("State")


@dataclass(eq=False)
class _Watcher(Generic[State]):
    queue: asyncio.Queue[State | None]
    dropped: bool = False

    async def next(self) -> State:
        """The next state; RateLimited once this watcher was dropped for falling behind."""
        state = await self.queue.get()
        if state is None:
            raise RateLimited("the watcher fell behind the changes", reason="WATCHER_TOO_SLOW")
        return state


@dataclass
class SubjectWatchers(Generic[State]):
    """Watchers by subject; `load(subject)` reads a subject's current state (None: gone)."""

    load: Callable[[str], Awaitable[State | None]]
    # Set once the event tail is reading: from then on every change reaches the watchers.
    reading: asyncio.Event
    queue_size: int = 64
    _watchers: dict[str, set[_Watcher[State]]] = field(default_factory=dict)

    def watching(self, subject: str) -> int:
        return len(self._watchers.get(subject, ()))

    @asynccontextmanager
    async def subscription(self, subject: str) -> AsyncIterator[Callable[[], Awaitable[State]]]:
        """`async with hub.subscription(id) as next_state:` registered from here on; `await next_state()` waits
        for the subject's next state. Read the current state inside the block, after registering."""
        try:
            await asyncio.wait_for(self.reading.wait(), TAIL_READY_SECONDS)
        except TimeoutError:
            log.warning("watching before the event stream is being read")
        watcher: _Watcher[State] = _Watcher(asyncio.Queue(maxsize=self.queue_size))
        self._watchers.setdefault(subject, set()).add(watcher)
        try:
            yield watcher.next
        finally:
            watchers = self._watchers.get(subject)
            if watchers is not None:
                watchers.discard(watcher)
                if not watchers:
                    del self._watchers[subject]

    async def publish(self, subject: str) -> None:
        if not self._watchers.get(subject):
            return
        state = await self.load(subject)
        if state is None:
            return
        for watcher in list(self._watchers.get(subject, ())):
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
        """A `StreamTail` handler: the subject the event is about goes to its watchers, if it has any."""
        if envelope.subject:
            await self.publish(envelope.subject)
