"""The readers-writer lock: readers side by side, a writer alone, a waiting writer ahead of new readers."""

from __future__ import annotations

import threading
import time

import pytest

from services.kit.locks import ReadWriteLock


def test_readers_hold_the_lock_together() -> None:
    lock = ReadWriteLock()
    inside = threading.Barrier(3, timeout=5)

    def read() -> None:
        with lock.read():
            inside.wait()  # all three readers at once, or the barrier breaks

    threads = [threading.Thread(target=read) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert not inside.broken


def test_a_writer_waits_for_readers_and_new_readers_wait_for_a_waiting_writer() -> None:
    lock = ReadWriteLock()
    events: list[str] = []
    reading = threading.Event()
    release_reader = threading.Event()

    def first_reader() -> None:
        with lock.read():
            reading.set()
            release_reader.wait(5)
            events.append("first reader out")

    def writer() -> None:
        with lock.write():
            events.append("writer in")

    def late_reader() -> None:
        with lock.read():
            events.append("late reader in")

    threads = [threading.Thread(target=first_reader)]
    threads[0].start()
    reading.wait(5)
    threads.append(threading.Thread(target=writer))
    threads[1].start()
    time.sleep(0.05)  # the writer is waiting now
    threads.append(threading.Thread(target=late_reader))
    threads[2].start()
    time.sleep(0.05)
    assert events == []  # the writer waits for the first reader, the late reader for the writer
    release_reader.set()
    for thread in threads:
        thread.join(5)
    assert events == ["first reader out", "writer in", "late reader in"]


def test_reentry_reads_within_reads_and_anything_within_a_write() -> None:
    lock = ReadWriteLock()
    with lock.read(), lock.read():
        pass
    with lock.write(), lock.read(), lock.write():
        pass
    with lock.read(), pytest.raises(RuntimeError, match="reader cannot take the write lock"), lock.write():
        pass
    # Everything was released: a writer in another thread gets in at once.
    done = threading.Event()

    def write() -> None:
        with lock.write():
            done.set()

    thread = threading.Thread(target=write)
    thread.start()
    assert done.wait(2)
    thread.join()
