"""The kit's loop helpers: a stop-aware sleep and the retry delay of a failing loop."""

from __future__ import annotations

import asyncio
import time

from services.kit.loops import Backoff, wait_for_stop


async def test_backoff_doubles_up_to_its_maximum_and_resets() -> None:
    backoff = Backoff(first=0.001, maximum=0.004)
    stop = asyncio.Event()
    delays = []
    for _ in range(4):
        delays.append(backoff.delay)
        assert not await backoff.wait(stop)
    assert delays == [0.001, 0.002, 0.004, 0.004]
    backoff.reset()
    assert backoff.delay == 0.001


async def test_a_set_stop_ends_the_wait_at_once() -> None:
    stop = asyncio.Event()
    stop.set()
    started = time.monotonic()
    assert await Backoff(first=30).wait(stop)
    assert await wait_for_stop(stop, 30)
    assert time.monotonic() - started < 1


async def test_wake_ends_the_sleep_without_stopping() -> None:
    stop, wake = asyncio.Event(), asyncio.Event()
    asyncio.get_running_loop().call_later(0.01, wake.set)
    started = time.monotonic()
    assert not await wait_for_stop(stop, 30, wake=wake)
    assert time.monotonic() - started < 1
