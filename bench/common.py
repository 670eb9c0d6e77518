"""What several benchmarks share: where the repository and the logs are, free ports, waiting for a service to
serve, percentiles, CPU time of processes and of the machine from /proc, the load average, and users registered
through auth."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from marketplace.auth.v1 import auth_pb2, auth_pb2_grpc
from marketplace.common.v1 import roles_pb2
from services import launcher

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = Path(__file__).resolve().parent / ".cache"
PASSWORD = "bench user password"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_serving(name: str, address: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    """Until the process answers the gRPC health check SERVING (TimeoutError after `timeout` seconds); a
    process that exited (a port taken, say) is not waited for."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode} before serving: see {log}")
        try:
            await launcher.wait_serving(address, timeout=1.0)
            return
        except TimeoutError:
            if time.monotonic() > deadline:
                raise


def plain_url(url: str) -> str:
    """An SQLAlchemy URL (postgresql+asyncpg://) as asyncpg takes it."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


# --- figures ----------------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float, *, between_ends: bool = False) -> float:
    """The sorted value at rank `fraction` × n (nan when there is none). With `between_ends`, the one nearest
    `fraction` of the way from the least to the greatest instead: the seller benchmark's figures were always
    taken so, and stay comparable with its earlier runs."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = round(fraction * (len(ordered) - 1)) if between_ends else int(fraction * len(ordered))
    return ordered[min(len(ordered) - 1, index)]


# --- CPU time from /proc ------------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(own utime+stime, reaped children's cutime+cstime) of a process in seconds; zeros once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    # After the ")" the fields start at the state (field 3): utime is field 14, cstime field 17.
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return (utime + stime) / CLK_TCK, (cutime + cstime) / CLK_TCK


def own_cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU seconds of the processes (all their threads, not their children)."""
    return sum(cpu_seconds(pid)[0] for pid in pids)


def machine_busy() -> tuple[float, float]:
    """CPU seconds so far of the whole machine (every core; /proc/stat): (busy, stolen by the hypervisor).
    Busy leaves idle and iowait out and counts steal in."""
    values = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / CLK_TCK, values[7] / CLK_TCK


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as /proc/loadavg gives them."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError):
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@dataclass
class Watched:
    """A process whose CPU is counted; with `tree`, its children too (PostgreSQL's backends)."""

    name: str
    pid: int
    tree: bool = False

    def sample(self) -> dict[int, float]:
        own, reaped = cpu_seconds(self.pid)
        sample = {self.pid: own, -self.pid: reaped if self.tree else 0.0}
        if self.tree:
            for child in children_of(self.pid):
                sample[child] = cpu_seconds(child)[0]
        return sample

    @staticmethod
    def used(before: Mapping[int, float], after: Mapping[int, float]) -> float:
        """CPU seconds between two samples: processes alive at the end count from the start (or from zero when
        they started meanwhile); those reaped meanwhile are in the parent's children's time."""
        return sum(value - before.get(pid, 0.0) for pid, value in after.items())


# --- users --------------------------------------------------------------------------------------------------------


async def register(
    auth: auth_pb2_grpc.AuthServiceStub, role: roles_pb2.Role, *, store_name: str = "", timeout: float = 30.0
) -> auth_pb2.RegisterResponse:
    """A new user through auth's Register, with a name of its own (no run meets an earlier run's users)."""
    name = "b" + uuid.uuid4().hex[:12]
    response: auth_pb2.RegisterResponse = await auth.Register(
        auth_pb2.RegisterRequest(
            email=f"{name}@example.com", username=name, password=PASSWORD, role=role, store_name=store_name
        ),
        timeout=timeout,
    )
    return response
