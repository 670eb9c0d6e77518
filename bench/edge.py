"""`python -m bench.edge --seconds 5 --rounds 3`: what the edge costs on GetProduct.

Starts the real stack with `python -m services up` (embedded PostgreSQL and Valkey, auth, catalog, cart and
Envoy, all on free ports; nothing else of the machine is touched), creates one product through REST, checks
that each protocol answers it correctly with a real client, then measures GetProduct with h2load five ways:
gRPC straight to the catalog, gRPC through Envoy, REST/JSON through Envoy (transcoded), gRPC-Web through
Envoy, and a baseline without the mesh: a FastAPI endpoint `GET /v1/products/{id}` under uvicorn
(`bench/fastapi_baseline.py`, its own process on 127.0.0.1, one worker) reading the same product from the
catalog's own PostgreSQL database with asyncpg. Each round runs the five in turn, then backwards (the catalog
benchmark's protocol: a fixed order favours whoever runs first); each target's ratio to the direct gRPC runs
of the same round, and the median over rounds, is reported, and REST via Envoy's ratio to FastAPI's. The four
mesh targets are spoken to in HTTP/2 (h2load's cleartext prior knowledge), so their ratios are the edge's work
(routing, JWT filter, transcoding or gRPC-Web framing, one more hop), not HTTP/1.1's. The FastAPI target is
HTTP/1.1, as uvicorn serves it (h2load `--h1`), with as many requests in flight as the others
(clients × streams): that many connections with one request each, or with `--fastapi-pipelined` `--clients`
connections each pipelining `--streams` requests.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import grpc
import httpx

from bench import h2load
from bench.common import CACHE_DIR, REPO_ROOT, free_port
from marketplace.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from services.kit.settings import RUN_FILE_NAME, database_url_for

SERVICE = "marketplace.catalog.v1.CatalogService"
PASSWORD = "correct horse battery"
TARGETS = ("gRPC direct", "gRPC via Envoy", "REST via Envoy", "gRPC-Web via Envoy", "FastAPI (HTTP/1.1)")
FASTAPI = TARGETS[4]
ROUND_ORDER = (*TARGETS, *reversed(TARGETS))


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    headers: tuple[str, ...]
    body: bytes | None  # None: a GET
    http1: bool = False  # h2load --h1 (the FastAPI target: uvicorn serves HTTP/1.1)


def measure(
    target: Target, *, seconds: float, clients: int, streams: int, pipelined: bool = False
) -> h2load.Measurement:
    """One h2load run of `seconds` against the target. An HTTP/1.1 target gets as many requests in flight as
    an HTTP/2 one: clients × streams connections of one request each, or (`pipelined`) `clients` connections
    pipelining `streams` requests each."""
    binary = h2load.require_h2load()
    if target.http1 and not pipelined:
        clients, streams = clients * streams, 1
    with tempfile.TemporaryDirectory(prefix="h2load-edge-") as scratch:
        log_file = Path(scratch) / "log.tsv"
        command = [
            binary, "-c", str(clients), "-m", str(streams), "-t", "1",
            "-D", f"{int(seconds * 1000)}ms", "--warm-up-time=500ms", f"--log-file={log_file}",
        ]  # fmt: skip
        if target.http1:
            command.append("--h1")
        for header in target.headers:
            command += ["-H", header]
        if target.body is not None:
            body_file = Path(scratch) / "body.bin"
            body_file.write_bytes(target.body)
            command += ["-d", str(body_file)]
        command.append(target.url)
        output = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
        done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed", output)
        if done is None:
            raise RuntimeError(f"unexpected h2load output:\n{output}")
        latencies = [
            int(columns[2]) / 1000.0
            for columns in (row.split("\t") for row in log_file.read_text().splitlines())
            if len(columns) >= 3 and columns[1] == "200"
        ]
        return h2load.Measurement(target.name, int(done.group(2)), int(done.group(3)), seconds, latencies)


def targets(catalog: str, edge: str, fastapi: str, product_id: str) -> dict[str, Target]:
    message = catalog_pb2.GetProductRequest(id=product_id).SerializeToString()
    grpc_headers = ("content-type: application/grpc", "te: trailers")
    web_headers = ("content-type: application/grpc-web+proto", "x-grpc-web: 1")
    framed = h2load.grpc_frame(message)
    found = (
        Target(TARGETS[0], f"http://{catalog}/{SERVICE}/GetProduct", grpc_headers, framed),
        Target(TARGETS[1], f"http://{edge}/{SERVICE}/GetProduct", grpc_headers, framed),
        Target(TARGETS[2], f"http://{edge}/v1/products/{product_id}", ("accept: application/json",), None),
        Target(TARGETS[3], f"http://{edge}/{SERVICE}/GetProduct", web_headers, framed),
        Target(FASTAPI, f"http://{fastapi}/v1/products/{product_id}", ("accept: application/json",), None, http1=True),
    )
    return {target.name: target for target in found}


def preflight(catalog: str, edge: str, fastapi: str, product_id: str) -> None:
    """Each protocol answers the product (h2load only sees HTTP 200, not gRPC statuses); FastAPI's answer is
    REST's product, field for field."""
    request = catalog_pb2.GetProductRequest(id=product_id)
    for address in (catalog, edge):
        with grpc.insecure_channel(address) as channel:
            reply = catalog_pb2_grpc.CatalogServiceStub(channel).GetProduct(request, timeout=10)
            assert reply.product.id == product_id, address
    rest = httpx.get(f"http://{edge}/v1/products/{product_id}", timeout=10)
    assert rest.status_code == 200 and rest.json()["product"]["id"] == product_id, rest.text
    web = httpx.post(
        f"http://{edge}/{SERVICE}/GetProduct",
        content=h2load.grpc_frame(request.SerializeToString()),
        headers={"content-type": "application/grpc-web+proto", "x-grpc-web": "1"},
        timeout=10,
    )
    assert web.status_code == 200 and b"grpc-status:0" in web.content, web.headers
    baseline = httpx.get(f"http://{fastapi}/v1/products/{product_id}", timeout=10)
    assert baseline.status_code == 200 and baseline.headers["content-type"] == "application/json", baseline.text
    assert baseline.json() == rest.json(), (baseline.json(), rest.json())


def start_fastapi(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """The FastAPI baseline on a free 127.0.0.1 port, on the catalog's database of the stack just started
    (its run file names the PostgreSQL server); returns when it answers. Its log: bench/.cache/fastapi-baseline.log."""
    run_file = json.loads((Path(env["MESH_DATA_DIR"]) / RUN_FILE_NAME).read_text())
    database_url = database_url_for(run_file["DATABASE_URL"], "catalog")
    port = free_port()
    log = CACHE_DIR / "fastapi-baseline.log"
    log.parent.mkdir(exist_ok=True)
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.fastapi_baseline", "--port", str(port), "--database-url", database_url],
            cwd=REPO_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    address = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the FastAPI baseline exited with {process.returncode}: {log.read_text()}")
        try:
            httpx.get(f"http://{address}/v1/products/none", timeout=1)
            return process, address
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    process.wait()
    raise TimeoutError(f"the FastAPI baseline did not come up: {log.read_text()}")


def stop(process: subprocess.Popen[bytes], signal_number: int) -> None:
    process.send_signal(signal_number)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_stack(work: Path) -> tuple[subprocess.Popen[bytes], Path, dict[str, str]]:
    """`python -m services up` on free ports under `work`; returns when the edge serves."""
    env = {key: value for key, value in os.environ.items() if not key.endswith("DATABASE_URL")}
    env.pop("REDIS_URL", None)
    ports = {f"{name.upper()}_PORT": str(free_port()) for name in ("auth", "catalog", "cart", "order", "payment")}
    env.update(ports)
    env.update(
        {
            "MESH_DATA_DIR": str(work / "var"),
            "MESH_DEMO_CATALOG": "0",
            "CATALOG_IMAGE_PORT": str(free_port()),
            "EDGE_PORT": str(free_port()),
            "EDGE_ADMIN_PORT": str(free_port()),
            "LOG_LEVEL": "WARNING",
            "AUTH_ARGON2_TIME_COST": "1",
            "AUTH_ARGON2_MEMORY_COST_KIB": "8192",
        }
    )
    log = work / "stack.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "services", "up"], cwd=REPO_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if re.search(r"^  edge +http://", log.read_text(errors="replace"), re.MULTILINE):
            return process, log, env
        if process.poll() is not None:
            raise RuntimeError(f"the stack exited with {process.returncode}: see {log}")
        time.sleep(0.2)
    raise TimeoutError(f"the stack did not come up: see {log}")


def new_product(edge: str) -> str:
    name = "b" + uuid.uuid4().hex[:10]
    registered = httpx.post(
        f"http://{edge}/v1/auth:register",
        json={
            "email": f"{name}@example.com",
            "username": name,
            "password": PASSWORD,
            "role": "ROLE_SELLER",
            "storeName": "Bench",
        },
        timeout=10,
    )
    registered.raise_for_status()
    token = registered.json()["tokens"]["accessToken"]
    product = {
        "sku": "BENCH-1",
        "title": "Insulated travel mug",
        "description": "Keeps coffee hot for hours.",
        "category": "kitchen",
        "brand": "Thermia",
        "attributes": {"color": "blue"},
        "stock": 10,
        "price": {"currencyCode": "USD", "units": "1999"},
    }
    created = httpx.post(
        f"http://{edge}/v1/products",
        json={"product": product, "requestId": str(uuid.uuid4())},
        headers={"authorization": f"Bearer {token}"},
        timeout=10,
    )
    created.raise_for_status()
    return str(created.json()["product"]["id"])


def report(
    loads: dict[str, list[h2load.Measurement]], ratios: dict[str, list[float]], clients: int, streams: int
) -> str:
    lines = [
        f"| target | req/s ({clients}×{streams} in flight) | × direct (median of rounds) | by round "
        "| p50 ms | p99 ms | failed |",
        "|---|---:|---:|---|---:|---:|---:|",
    ]
    for name in TARGETS:
        merged = h2load.merged(loads[name])
        by_round = ", ".join(f"{ratio:.2f}" for ratio in ratios[name])
        lines.append(
            f"| {name} | {merged.rps:,.0f} | {statistics.median(ratios[name]):.2f} | {by_round} | "
            f"{merged.percentile(0.5):.2f} | {merged.percentile(0.99):.2f} | {merged.failed} |"
        )
    over = [rest / max(fastapi, 1e-9) for rest, fastapi in zip(ratios[TARGETS[2]], ratios[FASTAPI], strict=True)]
    lines += [
        "",
        f"REST via Envoy × FastAPI: {statistics.median(over):.2f} (median of rounds; by round "
        f"{', '.join(f'{ratio:.2f}' for ratio in over)})",
    ]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    h2load.require_h2load()
    with tempfile.TemporaryDirectory(prefix="bench-edge-") as scratch:
        process, _, env = start_stack(Path(scratch))
        baseline: subprocess.Popen[bytes] | None = None
        try:
            catalog, edge = f"127.0.0.1:{env['CATALOG_PORT']}", f"127.0.0.1:{env['EDGE_PORT']}"
            baseline, fastapi = start_fastapi(env)
            product_id = new_product(edge)
            preflight(catalog, edge, fastapi, product_id)
            found = targets(catalog, edge, fastapi, product_id)
            loads: dict[str, list[h2load.Measurement]] = {name: [] for name in TARGETS}
            ratios: dict[str, list[float]] = {name: [] for name in TARGETS}
            for number in range(args.rounds):
                runs: dict[str, list[h2load.Measurement]] = {name: [] for name in TARGETS}
                for name in ROUND_ORDER:
                    measured = measure(
                        found[name],
                        seconds=args.seconds,
                        clients=args.clients,
                        streams=args.streams,
                        pipelined=args.fastapi_pipelined,
                    )
                    runs[name].append(measured)
                    loads[name].append(measured)
                    print(f"round {number + 1}: {name}: {measured.rps:,.0f} req/s", flush=True)
                direct = statistics.fmean(run.rps for run in runs[TARGETS[0]])
                for name in TARGETS:
                    ratios[name].append(statistics.fmean(run.rps for run in runs[name]) / max(direct, 1e-9))
        finally:
            if baseline is not None:
                stop(baseline, signal.SIGTERM)
            stop(process, signal.SIGINT)
    print()
    print(f"GetProduct, {os.cpu_count()} cores, {datetime.now(UTC):%Y-%m-%d}")
    print(report(loads, ratios, args.clients, args.streams))
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.edge", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each h2load run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--streams", type=int, default=16, help="concurrent streams per client")
    parser.add_argument(
        "--fastapi-pipelined",
        action="store_true",
        help="FastAPI over --clients HTTP/1.1 connections pipelining --streams requests each "
        "(default: clients × streams connections, one request in flight each)",
    )
    sys.exit(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
