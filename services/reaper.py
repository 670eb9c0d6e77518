"""`python -m services.reaper LAUNCHER_PID --postgres PID --valkey PID --remove FILE`: stops the embedded servers
(and removes the run file) when the launcher is gone without doing it.

The launcher stops PostgreSQL and Valkey itself on a normal exit (and stops this process first). When it
cannot, killed by SIGKILL or the OOM killer, the servers would run on, holding the data directory and the
socket paths of the next `make run`. The launcher starts this process in its own session, so that it outlives
the launcher: it waits for the launcher to end, then asks each server still running to shut down (PostgreSQL:
SIGINT, its fast shutdown; Valkey: SIGTERM). Processes are watched and signalled through pidfds, so a pid
reused after a server exited is never signalled.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import signal
import sys
import time
from pathlib import Path

STOP_TIMEOUT_SECONDS = 15.0


def _open(pid: int) -> int | None:
    """A pidfd for `pid`, or None when the process is already gone."""
    try:
        return os.pidfd_open(pid)
    except ProcessLookupError:
        return None


def _ended(pidfd: int, timeout: float | None) -> bool:
    """Whether the process ended within `timeout` seconds (None: wait as long as it takes)."""
    readable, _, _ = select.select([pidfd], [], [], timeout)
    return bool(readable)


def reap(launcher: int, servers: dict[str, tuple[int, signal.Signals]]) -> list[str]:
    """Waits for `launcher` to end, then stops every server still running; returns the names it stopped."""
    watched = {name: (fd, signum) for name, (pid, signum) in servers.items() if (fd := _open(pid)) is not None}
    launcher_fd = _open(launcher)
    if launcher_fd is not None:
        _ended(launcher_fd, None)
    stopped = []
    for name, (fd, signum) in watched.items():
        if _ended(fd, 0):
            continue  # the launcher stopped it
        with contextlib.suppress(ProcessLookupError):
            signal.pidfd_send_signal(fd, signum)
            stopped.append(name)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    for name in stopped:
        fd = watched[name][0]
        if not _ended(fd, max(0.0, deadline - time.monotonic())):
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(fd, signal.SIGKILL)
    return stopped


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m services.reaper", description=__doc__.split("\n\n")[0])
    parser.add_argument("launcher", type=int, help="the launcher's pid")
    parser.add_argument("--postgres", type=int, help="the embedded PostgreSQL's postmaster pid")
    parser.add_argument("--valkey", type=int, help="the embedded Valkey's pid")
    parser.add_argument("--remove", type=Path, action="append", default=[], help="a file of the run to remove")
    args = parser.parse_args(argv)
    servers: dict[str, tuple[int, signal.Signals]] = {}
    if args.postgres:
        servers["postgres"] = (args.postgres, signal.SIGINT)
    if args.valkey:
        servers["valkey"] = (args.valkey, signal.SIGTERM)
    # A Ctrl-C meant for the launcher must not stop the watch before the launcher has ended.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stopped = reap(args.launcher, servers)
    for path in args.remove:
        # The run file names servers that are gone now: commands must not try them.
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    if stopped:
        print(f"the launcher is gone: stopped {', '.join(stopped)}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
