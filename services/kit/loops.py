"""What every background loop of a service (relay, consumers, tails, sweepers) is built with: a stop-aware sleep
and the retry delay of a loop whose dependency (PostgreSQL, Redis) is failing."""

from __future__ import annotations

import asyncio


async def wait_for_stop(stop: asyncio.Event, seconds: float, *, wake: asyncio.Event | None = None) -> bool:
    """Sleeps up to `seconds`, returning early when `stop` (or `wake`, when given) is set; True when `stop` is."""
    if stop.is_set():
        return True
    waiters = [asyncio.ensure_future(event.wait()) for event in (stop, wake) if event is not None]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
    return stop.is_set()


class Backoff:
    """The delay before a failing loop tries again: `first`, doubled after each failure up to `maximum`, and back
    to `first` once a try succeeds (`reset`)."""

    def __init__(self, first: float = 0.1, maximum: float = 5.0) -> None:
        self._first = first
        self._maximum = maximum
        self.delay = first  # what the next `wait` sleeps: log it before waiting

    def reset(self) -> None:
        self.delay = self._first

    async def wait(self, stop: asyncio.Event) -> bool:
        """Sleeps the current delay (less when `stop` is set) and doubles it; True when `stop` is set."""
        stopped = await wait_for_stop(stop, self.delay)
        self.delay = min(self.delay * 2, self._maximum)
        return stopped
