"""Drives h2load (nghttp2-client) against a gRPC method and reads the latencies from its per-request log.

gRPC over plain HTTP/2: a POST to `/<package.Service>/<Method>` with `content-type: application/grpc` and
`te: trailers`, whose body is the request message behind the 5-byte gRPC frame header (a compression flag
and the big-endian length). h2load cannot read gRPC trailers, so the caller checks every request body once
with a real gRPC client before measuring (see `bench/catalog.py`).
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import percentile

INSTALL_HINT = "h2load is missing: install it with `apt-get install -y nghttp2-client` (Debian/Ubuntu)."


def grpc_frame(message: bytes) -> bytes:
    """The message as one uncompressed gRPC length-prefixed frame."""
    return struct.pack(">BI", 0, len(message)) + message


def require_h2load() -> str:
    path = shutil.which("h2load")
    if path is None:
        raise SystemExit(INSTALL_HINT)
    return path


@dataclass(frozen=True)
class Measurement:
    """One target's figures: completed requests per second and latency percentiles in milliseconds."""

    name: str
    requests: int
    failed: int
    seconds: float
    latencies_ms: Sequence[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        return percentile(self.latencies_ms, fraction)


def run(
    *,
    name: str,
    address: str,
    method: str,
    bodies: Sequence[bytes],
    seconds: float,
    clients: int,
    streams: int,
    warm_up_seconds: float = 0.5,
) -> Measurement:
    """Sends each body in turn for an equal share of `seconds` (h2load posts one fixed body per run)."""
    h2load = require_h2load()
    share = max(seconds / len(bodies), 1.0)
    requests = failed = 0
    latencies: list[float] = []
    measured = 0.0
    with tempfile.TemporaryDirectory(prefix="h2load-") as scratch:
        for index, body in enumerate(bodies):
            body_file = Path(scratch) / f"body{index}.bin"
            body_file.write_bytes(grpc_frame(body))
            log_file = Path(scratch) / f"log{index}.tsv"
            command = [
                h2load,
                "-c", str(clients),
                "-m", str(streams),
                "-t", "1",
                "-D", f"{int(share * 1000)}ms",
                f"--warm-up-time={int(warm_up_seconds * 1000)}ms",
                "-d", str(body_file),
                "-H", "content-type: application/grpc",
                "-H", "te: trailers",
                f"--log-file={log_file}",
                f"http://{address}/{method}",
            ]  # fmt: skip
            output = subprocess.run(command, capture_output=True, text=True, timeout=share + 30, check=True).stdout
            done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed", output)
            if done is None:
                raise RuntimeError(f"unexpected h2load output:\n{output}")
            requests += int(done.group(2))
            failed += int(done.group(3))
            measured += share
            for row in log_file.read_text().splitlines():
                columns = row.split("\t")
                if len(columns) >= 3 and columns[1] == "200":
                    latencies.append(int(columns[2]) / 1000.0)
    return Measurement(name, requests, failed, measured, latencies)


def merged(runs: Sequence[Measurement]) -> Measurement:
    """Several runs of one target as one: their requests, time and latencies together."""
    return Measurement(
        runs[0].name,
        sum(run.requests for run in runs),
        sum(run.failed for run in runs),
        sum(run.seconds for run in runs),
        [latency for run in runs for latency in run.latencies_ms],
    )
