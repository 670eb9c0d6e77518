"""`python -m bench.floor`: the least CPU a checkout can cost on this machine, whatever the services' code does.

A checkout crosses processes: every step the checkout issue asks for is at least one gRPC call between two
Python processes, or one PostgreSQL transaction that writes a state change and its event together, or one event
through Redis Streams. This measures the cheapest form of each, with nothing of the project's code in the way:

- **call**: a grpc.aio client calling the benchmark's empty server (`bench/ceiling.py`: no interceptors, no
  serialisation), CPU of both processes per call;
- **write transaction**: asyncpg with its cached prepared statements (no ORM), one row of state and one
  outbox row in one statement (one round trip, its own transaction), CPU of this process and of PostgreSQL
  per transaction;
- **event**: XADD of an envelope-sized payload, then a consumer group reading batches of 100 and XACKing them,
  CPU of this process and of Valkey per event, per side.

The figures are CPU seconds per operation (from /proc), each also as a multiple of the empty call measured in the
same run. The floor of a checkout is the sum over `CHECKOUT`, the fewest operations of each kind the issue's
checkout needs (one line of one seller); what the real code does on top (tokens, validation, messages, the
domain, reads, the ORM, the relay's bookkeeping) is left out, so the floor only ever errs low.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import grpc
from redis.asyncio import Redis

from bench.common import REPO_ROOT, Watched, free_port, machine_busy, plain_url
from bench.mesh import valkey_pid
from services import launcher

EMPTY = "/bench.v1.Ceiling/Empty"
PAYLOAD = os.urandom(300)  # about an envelope of the checkout's events


@dataclass(frozen=True)
class Step:
    """Operations of one kind that a checkout cannot do without, and why."""

    kind: str  # "external call", "internal call", "write transaction", "event written", "event delivered"
    count: int
    why: str


# Buyer-facing calls count the server's side only (a buyer's client runs elsewhere); calls between services
# count both sides. The payment's own look at the order (is it payable, what does it cost) is not counted: it
# could be kept from events instead of asked for.
CHECKOUT: tuple[Step, ...] = (
    Step("external call", 5, "AddCartItem, CreateOrder, CreatePayment, ConfirmPayment, WatchOrder"),
    Step("internal call", 3, "cart → catalog (the variant sells), order → cart (its lines), order → ReserveStock"),
    Step(
        "write transaction",
        8,
        "cart line; reservation; order; payment; payment confirmed; order PAID; reservation sold; line removed",
    ),
    Step("event written", 2, "PaymentSucceeded, OrderPaid"),
    Step("event delivered", 3, "PaymentSucceeded → order; OrderPaid → catalog; OrderPaid → cart"),
)


@dataclass(frozen=True)
class Cost:
    """CPU per operation of one kind, split by process, from one measured window."""

    operations: int
    seconds: float
    cpu: dict[str, float]  # process name → CPU seconds in the window

    def per_op_ms(self, *names: str) -> float:
        return sum(self.cpu[name] for name in names) / self.operations * 1000

    @property
    def rate(self) -> float:
        return self.operations / self.seconds


async def timed(
    seconds: float, concurrency: int, operation: Callable[[], Awaitable[int]], watched: Sequence[Watched]
) -> Cost:
    """Runs `operation` in `concurrency` loops for `seconds` (after a second of warm-up) and reads the watched
    processes' CPU around the measured part; `operation` returns how many operations it did."""
    stop_at = [0.0]
    measuring = [False]
    done = [0]

    async def loop() -> None:
        while time.monotonic() < stop_at[0]:
            count = await operation()
            if measuring[0]:
                done[0] += count

    stop_at[0] = time.monotonic() + 1.0 + seconds
    loops = [asyncio.ensure_future(loop()) for _ in range(concurrency)]
    await asyncio.sleep(1.0)
    before = [process.sample() for process in watched]
    measuring[0] = True
    started = time.monotonic()
    await asyncio.sleep(seconds)
    measuring[0] = False
    elapsed = time.monotonic() - started
    after = [process.sample() for process in watched]
    await asyncio.gather(*loops)
    return Cost(
        done[0],
        elapsed,
        {process.name: Watched.used(b, a) for process, b, a in zip(watched, before, after, strict=True)},
    )


async def measure_call(address: str, seconds: float, concurrency: int, watched: Sequence[Watched]) -> Cost:
    channel = grpc.aio.insecure_channel(address)
    empty = channel.unary_unary(EMPTY, request_serializer=None, response_deserializer=None)

    async def call() -> int:
        await empty(b"", timeout=10)
        return 1

    try:
        await channel.channel_ready()
        return await timed(seconds, concurrency, call, watched)
    finally:
        await channel.close(None)


async def measure_transaction(database_url: str, seconds: float, concurrency: int, watched: Sequence[Watched]) -> Cost:
    pool = await asyncpg.create_pool(plain_url(database_url), min_size=concurrency, max_size=concurrency)
    try:
        await pool.execute(
            "CREATE TABLE IF NOT EXISTS floor_state (id uuid PRIMARY KEY, value integer NOT NULL);"
            "CREATE TABLE IF NOT EXISTS floor_outbox (id uuid PRIMARY KEY, payload bytea NOT NULL,"
            " created_at timestamptz NOT NULL DEFAULT now(), published_at timestamptz)"
        )

        # The state change and its event in one statement: one round trip, committed on its own.
        statement = (
            "WITH state AS (INSERT INTO floor_state (id, value) VALUES ($1, $2))"
            " INSERT INTO floor_outbox (id, payload) VALUES ($3, $4)"
        )

        async def transaction() -> int:
            async with pool.acquire() as connection:
                await connection.execute(statement, uuid.uuid4(), 1, uuid.uuid4(), PAYLOAD)
            return 1

        return await timed(seconds, concurrency, transaction, watched)
    finally:
        await pool.close()


async def measure_events(
    redis_url: str, seconds: float, concurrency: int, watched: Sequence[Watched]
) -> tuple[Cost, Cost]:
    """(written, delivered): XADD one by one from `concurrency` loops, then every event written (the warm-up's
    too) read back by one consumer group in batches of 100, each batch acknowledged with one XACK."""
    redis = Redis.from_url(redis_url)
    stream = f"floor-{uuid.uuid4().hex[:8]}"
    try:

        async def write() -> int:
            await redis.xadd(stream, {"envelope": PAYLOAD})
            return 1

        written = await timed(seconds, concurrency, write, watched)
        await redis.xgroup_create(stream, "floor", id="0")
        # One reader, as a consumer handles its stream, until it has read every event written.
        before = [process.sample() for process in watched]
        started, delivered = time.monotonic(), 0
        while entries := (await redis.xreadgroup("floor", "reader", {stream: ">"}, count=100) or [(b"", [])])[0][1]:
            await redis.xack(stream, "floor", *(entry_id for entry_id, _ in entries))
            delivered += len(entries)
        elapsed = time.monotonic() - started
        after = [process.sample() for process in watched]
        cpu = {process.name: Watched.used(b, a) for process, b, a in zip(watched, before, after, strict=True)}
        return written, Cost(delivered, elapsed, cpu)
    finally:
        await redis.delete(stream)
        await redis.aclose()


@dataclass(frozen=True)
class Result:
    cores: int
    call: Cost
    transaction: Cost
    written: Cost
    delivered: Cost
    busy: float  # the machine's busy core-seconds over the whole measurement
    elapsed: float

    def per_kind_ms(self) -> dict[str, float]:
        return {
            "external call": self.call.per_op_ms("server"),
            "internal call": self.call.per_op_ms("server", "client"),
            "write transaction": self.transaction.per_op_ms("client", "postgres"),
            "event written": self.written.per_op_ms("client", "valkey"),
            "event delivered": self.delivered.per_op_ms("client", "valkey"),
        }

    @property
    def floor_ms(self) -> float:
        costs = self.per_kind_ms()
        return sum(step.count * costs[step.kind] for step in CHECKOUT)


def report(result: Result, target: float) -> str:
    costs = result.per_kind_ms()
    call_ms = costs["internal call"]
    lines = [
        f"{result.cores} cores; the machine was busy {result.busy:.1f} of {result.cores * result.elapsed:.1f} "
        f"core-seconds while measuring",
        "",
        "| operation | measured per second | CPU ms each | client / server side ms | × one internal call |",
        "|---|---:|---:|---|---:|",
    ]
    sides = {
        "external call": (result.call, "server", ""),
        "internal call": (result.call, "client", "server"),
        "write transaction": (result.transaction, "client", "postgres"),
        "event written": (result.written, "client", "valkey"),
        "event delivered": (result.delivered, "client", "valkey"),
    }
    for kind, (cost, first, second) in sides.items():
        split = f"{cost.per_op_ms(first):.3f}" + (f" / {cost.per_op_ms(second):.3f}" if second else "")
        lines.append(f"| {kind} | {cost.rate:,.0f} | {costs[kind]:.3f} | {split} | {costs[kind] / call_ms:.2f} |")
    lines += ["", "| a checkout needs | count | ms | why |", "|---|---:|---:|---|"]
    for step in CHECKOUT:
        lines.append(f"| {step.kind} | {step.count} | {step.count * costs[step.kind]:.2f} | {step.why} |")
    budget = result.cores * 1000 / target
    lines += [
        "",
        f"floor of one checkout: {result.floor_ms:.2f} ms of CPU ({result.floor_ms / call_ms:.1f} internal calls)",
        f"budget at {target:,.0f} checkouts/s on {result.cores} cores: {budget:.2f} ms of CPU per checkout; "
        f"the floor is {result.floor_ms / budget:.0%} of it",
        f"checkouts/s the floor alone allows on {result.cores} cores: {result.cores * 1000 / result.floor_ms:,.0f}",
    ]
    return "\n".join(lines)


def start_empty_server() -> tuple[subprocess.Popen[bytes], int]:
    """`bench/ceiling.py` on a free port, once it says it serves."""
    port = free_port()
    # This interpreter and the project's own module: no untrusted input.
    server = subprocess.Popen([sys.executable, "-m", "bench.ceiling", str(port)], cwd=REPO_ROOT, stdout=subprocess.PIPE)
    if server.stdout is None or server.stdout.readline().strip() != b"ready":
        server.kill()
        raise RuntimeError("the empty server did not start")
    return server, port


async def run(args: argparse.Namespace) -> Result:
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as scratch:
        # Always the embedded servers: their CPU is what is measured.
        environ = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
        infra = await asyncio.to_thread(launcher.start_infrastructure, Path(scratch), environ)
        server, port = await asyncio.to_thread(start_empty_server)
        try:
            client = Watched("client", os.getpid())
            postgres = Watched("postgres", int(infra.postgres.get_pid()), tree=True)
            valkey = Watched("valkey", valkey_pid(infra))
            busy_before, started = machine_busy()[0], time.monotonic()
            call = await measure_call(
                f"127.0.0.1:{port}", args.seconds, args.concurrency, [client, Watched("server", server.pid)]
            )
            print(f"call: {call.rate:,.0f}/s", flush=True)
            transaction = await measure_transaction(
                infra.database_url, args.seconds, args.concurrency, [client, postgres]
            )
            print(f"write transaction: {transaction.rate:,.0f}/s", flush=True)
            written, delivered = await measure_events(infra.redis_url, args.seconds, args.concurrency, [client, valkey])
            print(f"events: {written.rate:,.0f} written/s, {delivered.rate:,.0f} delivered/s", flush=True)
            return Result(
                cores=os.cpu_count() or 1,
                call=call,
                transaction=transaction,
                written=written,
                delivered=delivered,
                busy=machine_busy()[0] - busy_before,
                elapsed=time.monotonic() - started,
            )
        finally:
            server.terminate()
            server.wait(timeout=10)
            await asyncio.to_thread(infra.stop)


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per operation (5)")
    parser.add_argument("--concurrency", type=int, default=8, help="operations in flight (8)")
    parser.add_argument("--target", type=float, default=300.0, help="checkouts/s to compare with (300)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    import uvloop

    args = parse(argv)
    result = uvloop.run(run(args))
    print()
    print(report(result, args.target))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
