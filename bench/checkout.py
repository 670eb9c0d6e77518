"""`python -m bench.checkout --buyers 50 --seconds 20`: whole checkouts through the running mesh.

Starts (or uses, from DATABASE_URL / REDIS_URL) PostgreSQL and Redis with the launcher's own functions
(services/launcher.py: databases, migrations, each service's environment and client secret), then auth,
catalog, cart, order and payment as real processes on free ports of 127.0.0.1. Seeds sellers and products
(some with size variants) through the RPCs, registers the buyers through auth, and lets every buyer loop:
AddCartItem (1–3 lines, sometimes from two sellers) → CreateOrder → WatchOrder (opened right away) →
CreatePayment → ConfirmPayment (local provider, approved) → PAID seen on the stream → GetCart until the cart is
empty. A checkout is complete when both were seen.

Reported: completed checkouts per second in the measured window (after a warm-up), the latency of a whole
checkout, the lag of every event hop (the producer's outbox.created_at to the consumer's inbox.handled_at, by
event id, across the service databases), the CPU seconds per checkout of each process (/proc/<pid>/stat over
the window; PostgreSQL's backends and Valkey included when they are embedded), and the catalog's GetProduct
throughput at the same concurrency (h2load, or a Python client where it is missing) measured before and after
the checkouts, so the result is also given as a ratio to it; the mesh's CPU and transactions at rest, and
transactions per checkout. After the run the catalog's committed stock is checked against the paid orders'
units. Everything stops by itself.

`--chaos` runs bench/chaos.py instead: a bounded number of checkouts (`--checkouts`) while the order, payment
and catalog processes and the embedded Valkey are each SIGKILLed once and started again, then the saga's checks.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import random
import shutil
import statistics
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
import grpc
from redis.asyncio import Redis
from sqlalchemy.engine import make_url

from bench import common, h2load
from bench.common import Watched, machine_busy, percentile, plain_url
from bench.mesh import stack, valkey_pid
from marketplace.auth.v1 import auth_pb2_grpc
from marketplace.cart.v1 import cart_pb2, cart_pb2_grpc
from marketplace.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from marketplace.common.v1 import money_pb2, roles_pb2
from marketplace.order.v1 import order_pb2, order_pb2_grpc
from marketplace.payment.v1 import payment_pb2, payment_pb2_grpc
from services.kit.outbox import dedupe_key

SERVICES = ("auth", "catalog", "cart", "order", "payment")
STOCK = 1_000_000
SIZES = ("40", "41", "42", "43", "44")
GET_PRODUCT = "marketplace.catalog.v1.CatalogService/GetProduct"
# The stages of a checkout, each timed from the end of the one before.
STAGES = ("AddCartItem", "CreateOrder", "CreatePayment", "ConfirmPayment", "PAID seen", "cart empty")

Metadata = tuple[tuple[str, str]]


def bearer(token: str) -> Metadata:
    return (("authorization", f"Bearer {token}"),)


# --- the shop -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One thing a buyer can add to the cart: a product and, for one with options, one of its variants."""

    seller: int
    product_id: str
    variant_id: str  # empty: the product's default variant


@dataclass
class Channels:
    auth: auth_pb2_grpc.AuthServiceStub
    catalog: catalog_pb2_grpc.CatalogServiceStub
    cart: cart_pb2_grpc.CartServiceStub
    order: order_pb2_grpc.OrderServiceStub
    payment: payment_pb2_grpc.PaymentServiceStub
    open: list[grpc.aio.Channel] = field(default_factory=list)

    @classmethod
    def connect(cls, addresses: Mapping[str, str], options: Sequence[tuple[str, int]] = ()) -> Channels:
        made = {name: grpc.aio.insecure_channel(addresses[name], options=list(options)) for name in SERVICES}
        return cls(
            auth_pb2_grpc.AuthServiceStub(made["auth"]),
            catalog_pb2_grpc.CatalogServiceStub(made["catalog"]),
            cart_pb2_grpc.CartServiceStub(made["cart"]),
            order_pb2_grpc.OrderServiceStub(made["order"]),
            payment_pb2_grpc.PaymentServiceStub(made["payment"]),
            list(made.values()),
        )

    async def close(self) -> None:
        for channel in self.open:
            await channel.close(None)


async def register(stubs: Channels, role: roles_pb2.Role, store_name: str = "") -> tuple[Metadata, str]:
    response = await common.register(stubs.auth, role, store_name=store_name)
    return bearer(response.tokens.access_token), str(response.user.id)


async def seed(stubs: Channels, sellers: int, products: int, rng: random.Random) -> list[Item]:
    """`sellers` sellers with `products` products each; every third product is a shoe in five sizes."""
    items: list[Item] = []
    for number in range(sellers):
        seller, _ = await register(stubs, roles_pb2.ROLE_SELLER, store_name=f"Bench shop {number}")
        for index in range(products):
            with_sizes = index % 3 == 0
            product = catalog_pb2.Product(
                sku=f"BENCH-{number}-{index}-{uuid.uuid4().hex[:6]}",
                title=("Trail running shoe" if with_sizes else "Insulated travel mug") + f" {number}-{index}",
                description="A benchmark product with plenty of stock.",
                category="shoes" if with_sizes else "kitchen",
                brand="Bench",
                price=money_pb2.Money(currency_code="USD", units=rng.randint(500, 20000)),
                stock=STOCK,
                options=[catalog_pb2.ProductOption(name="size", values=list(SIZES))] if with_sizes else [],
            )
            created = (
                await stubs.catalog.CreateProduct(
                    catalog_pb2.CreateProductRequest(product=product, request_id=str(uuid.uuid4())),
                    metadata=seller,
                    timeout=60,
                )
            ).product
            if with_sizes:
                items += [Item(number, created.id, variant.id) for variant in created.variants]
            else:
                items.append(Item(number, created.id, ""))
    return items


def pick_lines(items: Sequence[Item], sellers: int, rng: random.Random) -> list[tuple[Item, int]]:
    """1–3 distinct lines from one seller, or (one checkout in three) with one line from a second seller."""
    first = rng.randrange(sellers)
    own = [item for item in items if item.seller == first]
    count = rng.randint(1, 3)
    chosen = rng.sample(own, min(count, len(own)))
    if sellers > 1 and rng.random() < 1 / 3:
        second = rng.choice([number for number in range(sellers) if number != first])
        other = rng.choice([item for item in items if item.seller == second])
        chosen = [*chosen[: max(1, count - 1)], other]
    return [(item, rng.randint(1, 3)) for item in chosen]


# --- the buyers -----------------------------------------------------------------------------------------------

ADDRESS = order_pb2.ShippingAddress(recipient_name="Bench Buyer", line1="1 Main St", city="Berlin", country_code="DE")


@dataclass
class Checkout:
    started: float
    finished: float
    order_id: str
    units: int
    stages: list[float]  # seconds per stage, as STAGES


@dataclass
class Run:
    checkouts: list[Checkout] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    polls: int = 0


async def watch_until_paid(stubs: Channels, buyer: Metadata, order_id: str) -> None:
    call = stubs.order.WatchOrder(order_pb2.WatchOrderRequest(id=order_id), metadata=buyer, timeout=60)
    try:
        async for change in call:
            if change.order.status == order_pb2.ORDER_STATUS_PAID:
                return
        raise RuntimeError(f"order {order_id}: the stream ended before PAID")
    finally:
        call.cancel()


async def checkout(
    stubs: Channels, buyer: Metadata, items: Sequence[Item], sellers: int, rng: random.Random, run: Run
) -> Checkout:
    started = time.monotonic()
    marks = [started]
    lines = pick_lines(items, sellers, rng)
    for item, quantity in lines:
        await stubs.cart.AddCartItem(
            cart_pb2.AddCartItemRequest(product_id=item.product_id, variant_id=item.variant_id, quantity=quantity),
            metadata=buyer,
            timeout=30,
        )
    marks.append(time.monotonic())
    placed = (
        await stubs.order.CreateOrder(
            order_pb2.CreateOrderRequest(request_id=str(uuid.uuid4()), shipping_address=ADDRESS),
            metadata=buyer,
            timeout=30,
        )
    ).order
    marks.append(time.monotonic())
    paid = asyncio.ensure_future(watch_until_paid(stubs, buyer, placed.id))
    try:
        payment = (
            await stubs.payment.CreatePayment(
                payment_pb2.CreatePaymentRequest(order_id=placed.id, request_id=str(uuid.uuid4())),
                metadata=buyer,
                timeout=30,
            )
        ).payment
        marks.append(time.monotonic())
        await stubs.payment.ConfirmPayment(
            payment_pb2.ConfirmPaymentRequest(id=payment.id, outcome=payment_pb2.LOCAL_OUTCOME_APPROVE),
            metadata=buyer,
            timeout=30,
        )
        marks.append(time.monotonic())
        await asyncio.wait_for(asyncio.shield(paid), timeout=60)
        marks.append(time.monotonic())
    finally:
        paid.cancel()
    pause = 0.005
    while (await stubs.cart.GetCart(cart_pb2.GetCartRequest(), metadata=buyer, timeout=30)).cart.lines:
        run.polls += 1
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.05)
    marks.append(time.monotonic())
    stages = [end - start for start, end in itertools.pairwise(marks)]
    return Checkout(started, marks[-1], placed.id, sum(quantity for _, quantity in lines), stages)


async def buyer_loop(
    stubs: Channels,
    buyer: Metadata,
    items: Sequence[Item],
    sellers: int,
    rng: random.Random,
    stop: asyncio.Event,
    run: Run,
) -> None:
    while not stop.is_set():
        try:
            run.checkouts.append(await checkout(stubs, buyer, items, sellers, rng, run))
        except (grpc.aio.AioRpcError, RuntimeError, TimeoutError) as failure:
            detail = failure.details() if isinstance(failure, grpc.aio.AioRpcError) else str(failure)
            run.failures.append(f"{type(failure).__name__}: {detail}")
            # Start again from an empty cart.
            with contextlib.suppress(grpc.aio.AioRpcError):
                await stubs.cart.ClearCart(cart_pb2.ClearCartRequest(), metadata=buyer, timeout=30)


# --- the figures ----------------------------------------------------------------------------------------------


async def stream_times(redis_url: str, event_ids: Sequence[str]) -> dict[str, datetime]:
    """When each event was added to its stream, from the relay's dedupe keys (absent: not published, or expired)."""
    redis = Redis.from_url(redis_url)
    try:
        found: dict[str, datetime] = {}
        for start in range(0, len(event_ids), 1000):
            chunk = event_ids[start : start + 1000]
            for event_id, entry in zip(chunk, await redis.mget([dedupe_key(e) for e in chunk]), strict=True):
                if entry:
                    milliseconds = int(entry.decode().split("-", 1)[0])
                    found[event_id] = datetime.fromtimestamp(milliseconds / 1000, UTC)
        return found
    finally:
        await redis.aclose()


@dataclass
class Hop:
    """One event type from its producer to one consumer group: the lag of each event the group handled."""

    producer: str
    kind: str
    group: str
    published: int  # events of the kind the producer wrote in the window
    lags_ms: list[float]
    # Of each lag, the part until the relay added the event to its stream (the stream entry's id is Redis's clock
    # at the XADD); empty when Redis was not asked (or forgot the entries).
    to_stream_ms: list[float] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.producer} {self.kind} → {self.group}"


async def event_hops(urls: Mapping[str, str], since: datetime, until: datetime, redis_url: str = "") -> list[Hop]:
    """Every (producer, event type, consumer group) with inbox rows for events written in [since, until): the
    milliseconds from the producer's outbox.created_at to the group's inbox.handled_at, joined by event id. An
    event type no group records (nobody handles it) is not a hop. With `redis_url`, also the part of each lag
    until the event was on its stream (the relay's dedupe key holds the entry's id, whose first part is the
    XADD's millisecond)."""
    connections = {name: await asyncpg.connect(plain_url(url)) for name, url in urls.items()}
    try:
        written: dict[str, tuple[str, str, datetime]] = {}
        counts: dict[tuple[str, str], int] = {}
        for producer, connection in connections.items():
            for row in await connection.fetch(
                "SELECT id, type, created_at FROM outbox WHERE created_at >= $1 AND created_at < $2", since, until
            ):
                kind = str(row["type"]).rsplit(".", 1)[-1]
                written[row["id"]] = (producer, kind, row["created_at"])
                counts[producer, kind] = counts.get((producer, kind), 0) + 1
        lags: dict[tuple[str, str, str], list[float]] = {}
        handled: dict[tuple[str, str, str], list[str]] = {}
        for connection in connections.values():
            for row in await connection.fetch(
                "SELECT event_id, consumer_group, handled_at FROM inbox WHERE event_id = ANY($1::text[])",
                list(written),
            ):
                producer, kind, created = written[row["event_id"]]
                key = (producer, kind, str(row["consumer_group"]))
                lags.setdefault(key, []).append((row["handled_at"] - created).total_seconds() * 1000)
                handled.setdefault(key, []).append(str(row["event_id"]))
        added = await stream_times(redis_url, list(written)) if redis_url else {}
        return [
            Hop(
                producer,
                kind,
                group,
                counts[producer, kind],
                values,
                [
                    (added[event_id] - written[event_id][2]).total_seconds() * 1000
                    for event_id in handled[producer, kind, group]
                    if event_id in added
                ],
            )
            for (producer, kind, group), values in sorted(lags.items())
        ]
    finally:
        for connection in connections.values():
            await connection.close()


async def check_stock(urls: Mapping[str, str], items: Sequence[Item]) -> tuple[int, int, int, dict[str, int]]:
    """(units sold in the catalog, units of PAID orders, units still reserved, orders by status)."""
    catalog = await asyncpg.connect(plain_url(urls["catalog"]))
    order = await asyncpg.connect(plain_url(urls["order"]))
    try:
        product_ids = sorted({item.product_id for item in items})
        sold, reserved = await catalog.fetchrow(
            "SELECT coalesce(sum($2::int - stock), 0), coalesce(sum(reserved), 0) FROM product_variants"
            " WHERE product_id = ANY($1::text[])",
            product_ids,
            STOCK,
        )
        paid = await order.fetchval(
            "SELECT coalesce(sum(l.quantity), 0) FROM order_lines l JOIN orders o ON o.id = l.order_id"
            " WHERE o.status = 'PAID'"
        )
        statuses = {
            row["status"]: row["n"] for row in await order.fetch("SELECT status, count(*) n FROM orders GROUP BY 1")
        }
        return int(sold), int(paid), int(reserved), statuses
    finally:
        await catalog.close()
        await order.close()


async def transactions(urls: Mapping[str, str]) -> dict[str, int]:
    """Committed and rolled-back transactions so far in each service's database (pg_stat_database)."""
    return await database_counts(urls, "xact_commit + xact_rollback")


async def connections(urls: Mapping[str, str]) -> dict[str, int]:
    """Connections opened so far to each service's database (pg_stat_database.sessions): each is a backend
    PostgreSQL starts, far dearer than a transaction, so a pool that keeps opening them shows here."""
    return await database_counts(urls, "sessions")


async def database_counts(urls: Mapping[str, str], expression: str) -> dict[str, int]:
    """A pg_stat_database counter (`expression`, one of the two above: never input) per service's database."""
    connection = await asyncpg.connect(plain_url(urls["order"]))
    try:
        names = {make_url(url).database: service for service, url in urls.items()}
        rows = await connection.fetch(
            f"SELECT datname, {expression} AS n FROM pg_stat_database WHERE datname = ANY($1::text[])",
            list(names),
        )
        return {names[row["datname"]]: int(row["n"]) for row in rows}
    finally:
        await connection.close()


async def database_now(url: str) -> datetime:
    connection = await asyncpg.connect(plain_url(url))
    try:
        now: datetime = await connection.fetchval("SELECT clock_timestamp()")
        return now
    finally:
        await connection.close()


def baseline(address: str, product_ids: Sequence[str], seconds: float, buyers: int) -> h2load.Measurement:
    """GetProduct at the buyers' concurrency: min(buyers, 10) connections sharing `buyers` streams (h2load)."""
    clients = max(1, min(buyers, 10))
    bodies = [catalog_pb2.GetProductRequest(id=product_id).SerializeToString() for product_id in product_ids]
    return h2load.run(
        name="GetProduct",
        address=address,
        method=GET_PRODUCT,
        bodies=bodies,
        seconds=seconds,
        clients=clients,
        streams=max(1, buyers // clients),
    )


async def python_baseline(address: str, product_ids: Sequence[str], seconds: float, buyers: int) -> h2load.Measurement:
    """GetProduct from `buyers` loops of this process's gRPC client on one channel, where h2load is missing: a
    client that costs more per call than h2load, so its figures are not comparable with h2load's."""
    latencies: list[float] = []
    failed = 0
    async with grpc.aio.insecure_channel(address) as channel:
        stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        deadline = time.monotonic() + seconds

        async def loop(number: int) -> None:
            nonlocal failed
            index = number
            while time.monotonic() < deadline:
                started = time.monotonic()
                request = catalog_pb2.GetProductRequest(id=product_ids[index % len(product_ids)])
                try:
                    await stub.GetProduct(request, timeout=10)
                    latencies.append((time.monotonic() - started) * 1000)
                except grpc.aio.AioRpcError:
                    failed += 1
                index += 1

        started = time.monotonic()
        await asyncio.gather(*(loop(number) for number in range(buyers)))
        measured = time.monotonic() - started
    return h2load.Measurement("GetProduct (Python client)", len(latencies), failed, measured, latencies)


async def measure_baseline(
    client: str, address: str, product_ids: Sequence[str], seconds: float, buyers: int
) -> h2load.Measurement:
    if client == "h2load":
        return await asyncio.to_thread(baseline, address, product_ids, seconds, buyers)
    return await python_baseline(address, product_ids, seconds, buyers)


# --- the run --------------------------------------------------------------------------------------------------


@dataclass
class Result:
    buyers: int
    seconds: float
    completed: int
    failures: list[str]
    latencies_ms: list[float]
    hops: list[Hop]
    stages: list[list[float]]
    cpu: dict[str, float]
    baselines: list[h2load.Measurement]
    sold: int
    paid_units: int
    reserved: int
    statuses: dict[str, int]
    polls: int
    total_checkouts: int
    drain_seconds: float
    machine_busy: float  # CPU seconds of every process on the machine in the window
    machine_steal: float  # of which the hypervisor gave to others
    transactions: dict[str, int]
    idle_cpu: dict[str, float]  # CPU seconds per second at rest
    idle_transactions: dict[str, float]  # per second at rest
    connections: dict[str, int]  # opened in the window, per service's database

    @property
    def rate(self) -> float:
        return self.completed / self.seconds

    @property
    def baseline_rps(self) -> float:
        return statistics.fmean(measurement.rps for measurement in self.baselines)

    @property
    def consistent(self) -> bool:
        return self.sold == self.paid_units and self.reserved == 0


async def run(args: argparse.Namespace) -> Result:
    if args.baseline_client == "h2load":
        h2load.require_h2load()
    rng = random.Random(args.seed)
    async with stack(SERVICES, log_prefix="checkout", start_timeout=args.start_timeout) as running:
        watched = [Watched(name, process.pid) for name, process in running.services.processes.items()]
        if running.infra.postgres is not None:
            watched.append(Watched("postgres", int(running.infra.postgres.get_pid()), tree=True))
        if running.infra.valkey is not None:
            watched.append(Watched("valkey", valkey_pid(running.infra)))
        watched.append(Watched("bench client", os.getpid()))
        return await measure(args, running.addresses, running.urls, watched, rng, running.infra.redis_url)


async def measure(
    args: argparse.Namespace,
    addresses: Mapping[str, str],
    urls: Mapping[str, str],
    watched: Sequence[Watched],
    rng: random.Random,
    redis_url: str = "",
) -> Result:
    stubs = Channels.connect(addresses)
    try:
        items = await seed(stubs, args.sellers, args.products, rng)
        buyers = await asyncio.gather(*(register(stubs, roles_pb2.ROLE_BUYER) for _ in range(args.buyers)))
        print(f"seeded {args.sellers} sellers, {len(items)} items to buy, {len(buyers)} buyers", flush=True)
        # The mesh at rest (seeded, nobody buying): what its background work costs per second.
        idle_before = [process.sample() for process in watched]
        idle_transactions = await transactions(urls)
        idle_started = time.monotonic()
        await asyncio.sleep(args.idle_seconds)
        idle_seconds = time.monotonic() - idle_started
        idle_cpu = {
            process.name: Watched.used(b, process.sample()) / idle_seconds
            for process, b in zip(watched, idle_before, strict=True)
        }
        idle_tps = {
            name: (count - idle_transactions.get(name, 0)) / idle_seconds
            for name, count in (await transactions(urls)).items()
        }
        # h2load sends one body per run of at least a second: up to five products, one per second of a run.
        product_ids = sorted({item.product_id for item in items})[: max(1, min(5, int(args.baseline_seconds)))]
        for product_id in product_ids:
            await stubs.catalog.GetProduct(catalog_pb2.GetProductRequest(id=product_id), timeout=10)
        baselines = [
            await measure_baseline(
                args.baseline_client, addresses["catalog"], product_ids, args.baseline_seconds, args.buyers
            )
        ]
        print(f"baseline {baselines[0].name}: {baselines[0].rps:,.0f} req/s", flush=True)

        run_state = Run()
        stop = asyncio.Event()
        loops = [
            asyncio.ensure_future(
                buyer_loop(stubs, buyer, items, args.sellers, random.Random(rng.random()), stop, run_state)
            )
            for buyer, _ in buyers
        ]
        await asyncio.sleep(args.warmup)
        since_db = await database_now(urls["order"])
        started = time.monotonic()
        before = [process.sample() for process in watched]
        busy_before = machine_busy()
        transactions_before = await transactions(urls)
        connections_before = await connections(urls)
        await asyncio.sleep(args.seconds)
        after = [process.sample() for process in watched]
        busy, steal = (end - start for start, end in zip(busy_before, machine_busy(), strict=True))
        transactions_after = await transactions(urls)
        connections_after = await connections(urls)
        ended = time.monotonic()
        until_db = await database_now(urls["order"])
        stop.set()
        # The checkouts under way finish (at most a minute): the stock check needs every order paid.
        _, pending = await asyncio.wait(loops, timeout=60)
        for task in pending:
            task.cancel()
        # Until the consumers caught up: every paid unit sold in the catalog, nothing held (at most two minutes).
        drained = time.monotonic()
        while True:
            sold, paid_units, reserved, statuses = await check_stock(urls, items)
            if (sold == paid_units and reserved == 0) or time.monotonic() - drained > 120:
                break
            await asyncio.sleep(0.5)
        drain_seconds = time.monotonic() - drained

        window = [c for c in run_state.checkouts if started <= c.finished < ended]
        cpu = {process.name: Watched.used(b, a) for process, b, a in zip(watched, before, after, strict=True)}
        hops = await event_hops(urls, since_db, until_db, redis_url)
        baselines.append(
            await measure_baseline(
                args.baseline_client, addresses["catalog"], product_ids, args.baseline_seconds, args.buyers
            )
        )
        return Result(
            buyers=args.buyers,
            seconds=ended - started,
            completed=len(window),
            failures=run_state.failures,
            latencies_ms=[(c.finished - c.started) * 1000 for c in window],
            hops=hops,
            stages=[c.stages for c in window],
            cpu=cpu,
            baselines=baselines,
            sold=sold,
            paid_units=paid_units,
            reserved=reserved,
            statuses=statuses,
            polls=run_state.polls,
            total_checkouts=len(run_state.checkouts),
            drain_seconds=drain_seconds,
            machine_busy=busy,
            machine_steal=steal,
            idle_cpu=idle_cpu,
            idle_transactions=idle_tps,
            connections={name: connections_after[name] - connections_before.get(name, 0) for name in connections_after},
            transactions={
                name: transactions_after[name] - transactions_before.get(name, 0) for name in transactions_after
            },
        )
    finally:
        await stubs.close()


def report(result: Result) -> str:
    lines = [
        f"{result.buyers} buyers, {result.seconds:.1f} s measured, {os.cpu_count()} cores, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"completed checkouts: {result.completed} in the window ({result.rate:,.1f}/s); "
        f"{result.total_checkouts} in all, {len(result.failures)} failed",
        f"checkout latency ms: p50 {percentile(result.latencies_ms, 0.5):.1f}, "
        f"p95 {percentile(result.latencies_ms, 0.95):.1f}, p99 {percentile(result.latencies_ms, 0.99):.1f}",
        f"baseline {result.baselines[0].name} req/s (before, after): "
        + ", ".join(f"{measurement.rps:,.0f}" for measurement in result.baselines)
        + f"; checkouts/s per 1,000 GetProduct/s: {1000 * result.rate / result.baseline_rps:.2f}",
        f"GetCart polls until empty: {result.polls / max(result.total_checkouts, 1):.2f} per checkout",
        "",
        "| stage of a checkout | p50 ms | p95 ms | p99 ms | mean ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for index, stage in enumerate(STAGES):
        values = [1000 * stages[index] for stages in result.stages]
        lines.append(
            f"| {stage} | {percentile(values, 0.5):.1f} | {percentile(values, 0.95):.1f} | "
            f"{percentile(values, 0.99):.1f} | {statistics.fmean(values) if values else float('nan'):.1f} |"
        )
    lines += [
        "",
        "| event hop (outbox.created_at → inbox.handled_at) | events written | handled | p50 ms | p99 ms | max ms "
        "| of which to the stream, p50 / p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for hop in result.hops:
        lags, to_stream = hop.lags_ms, hop.to_stream_ms
        relay = f"{percentile(to_stream, 0.5):.1f} / {percentile(to_stream, 0.99):.1f}" if to_stream else "–"
        lines.append(
            f"| {hop.name} | {hop.published} | {len(lags)} | {percentile(lags, 0.5):.1f} | "
            f"{percentile(lags, 0.99):.1f} | {max(lags):.1f} | {relay} |"
        )
    total_cpu = sum(result.cpu.values())
    lines += [
        "",
        "| process | CPU s in the window | CPU ms per checkout | share | at rest, CPU ms/s |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, seconds in sorted(result.cpu.items(), key=lambda pair: -pair[1]):
        per = 1000 * seconds / result.completed if result.completed else float("nan")
        rest = 1000 * result.idle_cpu.get(name, float("nan"))
        lines.append(f"| {name} | {seconds:.2f} | {per:.2f} | {seconds / total_cpu:.0%} | {rest:.1f} |")
    per_total = 1000 * total_cpu / result.completed if result.completed else float("nan")
    lines.append(f"| all | {total_cpu:.2f} | {per_total:.2f} | 100% |")
    capacity = (os.cpu_count() or 1) * result.seconds
    lines.append(
        f"\nthe machine in the window: {result.machine_busy:.1f} of {capacity:.1f} core-seconds busy, "
        f"{result.machine_busy - total_cpu:.1f} of them other work ({result.machine_steal:.1f} stolen by the "
        "hypervisor)"
    )
    if result.completed:
        lines.append(
            "\ndatabase transactions per checkout (pg_stat_database, the window; the benchmark's own queries "
            "included): "
            + ", ".join(f"{name} {count / result.completed:.1f}" for name, count in sorted(result.transactions.items()))
            + "; at rest, per second: "
            + ", ".join(f"{name} {rate:.1f}" for name, rate in sorted(result.idle_transactions.items()))
        )
        lines.append(
            "database connections opened in the window (the benchmark's own included): "
            + ", ".join(f"{name} {count}" for name, count in sorted(result.connections.items()))
        )
    lines += [
        "",
        f"stock check: {result.sold} units sold in the catalog, {result.paid_units} in PAID orders, "
        f"{result.reserved} still reserved: {'consistent' if result.consistent else 'MISMATCH'} "
        f"{result.drain_seconds:.1f} s after the last checkout; "
        f"orders by status: {result.statuses}",
    ]
    if result.failures:
        lines.append("failures (first 5): " + "; ".join(result.failures[:5]))
    return "\n".join(lines)


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.checkout", description=__doc__.split("\n\n")[0])
    parser.add_argument("--buyers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0, help="the measured window (at most 120)")
    parser.add_argument("--warmup", type=float, default=3.0, help="checkouts before the window starts")
    parser.add_argument("--sellers", type=int, default=6)
    parser.add_argument("--products", type=int, default=6, help="products per seller (every third with sizes)")
    parser.add_argument("--idle-seconds", type=float, default=3.0, help="the mesh at rest, before the baseline")
    parser.add_argument("--baseline-seconds", type=float, default=5.0, help="each GetProduct baseline run")
    parser.add_argument(
        "--baseline-client",
        choices=("h2load", "python", "auto"),
        default="auto",
        help="what sends the baseline's GetProducts (auto: h2load when it is installed)",
    )
    parser.add_argument("--start-timeout", type=float, default=300.0, help="seconds for a service to serve")
    parser.add_argument("--seed", type=int, default=7)
    chaos = parser.add_argument_group("chaos mode (bench/chaos.py)")
    chaos.add_argument(
        "--chaos",
        action="store_true",
        help="a bounded number of checkouts while order, payment, the catalog and Redis are each SIGKILLed once",
    )
    chaos.add_argument("--checkouts", type=int, default=1000, help="checkouts attempted in chaos mode")
    chaos.add_argument("--decline-every", type=int, default=10, help="every n-th checkout declines and cancels")
    chaos.add_argument("--down-seconds", type=float, default=2.0, help="from a SIGKILL to the restart")
    chaos.add_argument("--retry-seconds", type=float, default=90.0, help="how long a buyer retries one call")
    chaos.add_argument(
        "--settle-seconds", type=float, default=120.0, help="the wait for PAID, and for the saga at the end"
    )
    chaos.add_argument("--max-seconds", type=float, default=420.0, help="the checkouts' time limit in all")
    args = parser.parse_args(argv)
    args.seconds = min(args.seconds, 120.0)
    if args.baseline_client == "auto":
        args.baseline_client = "h2load" if shutil.which("h2load") else "python"
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    import uvloop

    if args.chaos:
        from bench import chaos

        outcome = uvloop.run(chaos.run(args))
        print()
        print(chaos.report(outcome))
        return 0 if outcome.ok else 1
    result = uvloop.run(run(args))
    print()
    print(report(result))
    return 0 if result.consistent and result.completed else 1


if __name__ == "__main__":
    sys.exit(main())
