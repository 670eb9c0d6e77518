"""Unit of work: one transaction, and the events of what it touched written to the outbox in the same commit."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.kit.outbox import make_envelope, write_outbox


class Aggregate(Protocol):
    """Anything that records domain events in an `events` list (the domain appends, the unit of work drains)."""

    events: list[Any]


AggregateT = TypeVar("AggregateT", bound=Aggregate)

# Turns a domain event into (subject, payload message): the only place domain events meet protobuf.
EventMapper = Callable[[Any], tuple[str, Message]]


class UnitOfWork:
    """`async with uow:` opens a transaction; `await uow.commit()` writes the outbox rows and commits.

    Leaving the block without `commit()` rolls back: the change and its events are written together or not at all.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        source: str,
        events: EventMapper | None = None,
    ) -> None:
        self._sessions = sessions
        self._source = source
        self._mapper = events
        self._session: AsyncSession | None = None
        self._tracked: list[Aggregate] = []
        self._emitted: list[tuple[str, Message]] = []

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("unit of work is already open")
        self._session = self._sessions()
        await self._session.begin()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        session, self._session = self._session, None
        self._tracked.clear()
        self._emitted.clear()
        if session is not None:
            try:
                await session.rollback()  # a no-op after commit
            finally:
                await session.close()

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("unit of work is not open: use `async with uow:`")
        return self._session

    def track(self, aggregate: AggregateT) -> AggregateT:
        """Collects `aggregate.events` at commit. Returns the aggregate, for `order = uow.track(repo.get(id))`."""
        if not any(tracked is aggregate for tracked in self._tracked):
            self._tracked.append(aggregate)
        return aggregate

    def emit(self, subject: str, payload: Message) -> None:
        """Records an event directly (without a domain event); written at commit after the tracked aggregates'."""
        self._emitted.append((subject, payload))

    async def commit(self) -> None:
        """Writes one outbox row per event of this transaction, then commits. The unit of work stays usable."""
        session = self.session
        events = self._collect()
        # Flush the change first: an aggregate's row lock is then taken before its events get their positions.
        await session.flush()
        await write_outbox(session, [make_envelope(self._source, subject, payload) for subject, payload in events])
        await session.commit()
        self._forget_events()

    async def rollback(self) -> None:
        await self.session.rollback()
        self._forget_events()

    def _collect(self) -> list[tuple[str, Message]]:
        collected: list[tuple[str, Message]] = []
        for aggregate in self._tracked:
            if not aggregate.events:
                continue
            if self._mapper is None:
                raise RuntimeError(f"unit of work for {self._source!r} has no event mapper")
            collected.extend(self._mapper(event) for event in aggregate.events)
        collected.extend(self._emitted)
        return collected

    def _forget_events(self) -> None:
        for aggregate in self._tracked:
            aggregate.events.clear()
        self._emitted.clear()
