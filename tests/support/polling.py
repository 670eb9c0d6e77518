"""Waiting in a test for something that happens in the background (a relay, a consumer, a tail, a health check)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


async def eventually(
    check: Callable[[], Awaitable[bool]],
    *,
    timeout: float = 5.0,
    interval: float = 0.05,
    message: str = "condition not met in time",
) -> None:
    """Polls `check` every `interval` seconds until it is true; fails with `message` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        await asyncio.sleep(interval)
