"""SubjectWatchers: each change of a watched subject read once and handed to every watcher of it; a watcher that
falls behind is dropped, the others go on; nothing is read for subjects nobody watches."""

from __future__ import annotations

import asyncio

import pytest

from marketplace.events.v1.envelope_pb2 import Envelope
from services.kit.errors import RateLimited
from services.kit.watch import SubjectWatchers


class States:
    """A subject's state is how many times it was read: each read is visible in what watchers get."""

    def __init__(self) -> None:
        self.reads: dict[str, int] = {}

    async def load(self, subject: str) -> int | None:
        if subject == "gone":
            return None
        self.reads[subject] = self.reads.get(subject, 0) + 1
        return self.reads[subject]


def ready() -> asyncio.Event:
    event = asyncio.Event()
    event.set()
    return event


async def test_each_change_is_read_once_for_all_watchers_of_its_subject() -> None:
    states = States()
    hub: SubjectWatchers[int] = SubjectWatchers(states.load, ready(), queue_size=4)
    await hub.on_event(Envelope(subject="a"))  # nobody watches: nothing is read
    assert states.reads == {}
    async with hub.subscription("a") as first, hub.subscription("a") as second, hub.subscription("b") as other:
        assert (hub.watching("a"), hub.watching("b")) == (2, 1)
        await hub.on_event(Envelope(subject="a"))
        await hub.on_event(Envelope(subject="a"))
        assert [await first(), await first()] == [1, 2]
        assert [await second(), await second()] == [1, 2]
        await hub.on_event(Envelope(subject="b"))
        assert await other() == 1
        assert states.reads == {"a": 2, "b": 1}
    assert (hub.watching("a"), hub.watching("b")) == (0, 0)


async def test_a_watcher_that_falls_behind_is_dropped_and_the_others_go_on() -> None:
    states = States()
    hub: SubjectWatchers[int] = SubjectWatchers(states.load, ready(), queue_size=2)
    async with hub.subscription("a") as slow, hub.subscription("a") as keen:
        for _ in range(3):
            await hub.on_event(Envelope(subject="a"))
            assert await keen() == states.reads["a"]
        # The slow one read nothing: its queue overflowed on the third change.
        with pytest.raises(RateLimited) as caught:
            for _ in range(3):
                await slow()
        assert caught.value.reason == "WATCHER_TOO_SLOW"
        await hub.on_event(Envelope(subject="a"))
        assert await keen() == 4


async def test_a_subject_that_is_gone_sends_nothing() -> None:
    hub: SubjectWatchers[int] = SubjectWatchers(States().load, ready(), queue_size=2)
    async with hub.subscription("gone") as next_state:
        await hub.on_event(Envelope(subject="gone"))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(next_state(), 0.1)
