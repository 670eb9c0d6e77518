"""A readers-writer lock for in-process indexes read from worker threads: searches run side by side (numpy
releases the GIL in its array work, so two searches use two cores), an update runs alone."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ReadWriteLock:
    """Many readers or one writer. A waiting writer keeps new readers out, so a steady stream of searches cannot
    starve an update. A thread may take `read()` again while it reads and either lock while it writes; a reader
    asking for `write()` is an error (two such readers would wait on each other forever)."""

    def __init__(self) -> None:
        self._state = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer: int | None = None
        self._writer_depth = 0
        self._writers_waiting = 0
        self._reading = threading.local()

    def _read_depth(self) -> int:
        return int(getattr(self._reading, "depth", 0))

    @contextmanager
    def read(self) -> Iterator[None]:
        me = threading.get_ident()
        depth = self._read_depth()
        with self._state:
            if self._writer == me:
                self._writer_depth += 1
            else:
                # A thread already reading goes on even past a waiting writer: that writer waits for it anyway.
                while depth == 0 and (self._writer is not None or self._writers_waiting):
                    self._state.wait()
                self._readers += 1
                self._reading.depth = depth + 1
        try:
            yield
        finally:
            with self._state:
                if self._writer == me:
                    self._writer_depth -= 1
                else:
                    self._readers -= 1
                    self._reading.depth = depth
                    if self._readers == 0:
                        self._state.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        me = threading.get_ident()
        with self._state:
            if self._writer == me:
                self._writer_depth += 1
            else:
                if self._read_depth():
                    raise RuntimeError("a reader cannot take the write lock: release the read lock first")
                self._writers_waiting += 1
                try:
                    while self._writer is not None or self._readers:
                        self._state.wait()
                finally:
                    self._writers_waiting -= 1
                self._writer, self._writer_depth = me, 1
        try:
            yield
        finally:
            with self._state:
                self._writer_depth -= 1
                if self._writer_depth == 0:
                    self._writer = None
                    self._state.notify_all()
