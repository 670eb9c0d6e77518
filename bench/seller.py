"""`python -m bench.seller --lines 100000`: the seller dashboard's read latency at a seller with many order lines.

Starts (or uses, from DATABASE_URL / REDIS_URL) PostgreSQL and Redis, the databases of auth and the seller
service with their migrations, the real auth service (to register the seller and verify its token) and the real
seller service (`python -m services.seller serve`, its own process) with the launcher's own functions through
bench/mesh.py, as the checkout benchmark does; bulk-loads the seller's read model directly
(COPY into `seller_parts`, `seller_part_lines` and `seller_variants`: N lines in parts of 1 to 4 lines, paid
over the last year, some cancelled, refunded, shipped, unpaid; as many lines again of other sellers), then
calls each read one at a time (the service's own latency, no queueing) and reports p50/p95/p99 per read, and the
CPU time per call of the service's process and of its database backends (/proc), steadier than latency on a
shared machine.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
from sqlalchemy.engine import make_url

from bench.common import own_cpu_seconds, percentile, register
from bench.mesh import stack
from marketplace.auth.v1 import auth_pb2_grpc
from marketplace.common.v1 import roles_pb2
from marketplace.seller.v1 import seller_pb2, seller_pb2_grpc

SERVICES = ("auth", "seller")
PRODUCTS = 200
TARGET_P95_MS = 20.0


def _rows(seller_id: str, lines: int, rng: random.Random, now: datetime) -> tuple[list[tuple[Any, ...]], ...]:
    """(parts, lines, variants) of one seller with `lines` order lines."""
    products = [
        (str(uuid.uuid4()), str(uuid.uuid4()), f"SKU-{index:04d}", f"Product {index}") for index in range(PRODUCTS)
    ]
    parts: list[tuple[Any, ...]] = []
    part_lines: list[tuple[Any, ...]] = []
    made = 0
    while made < lines:
        order_id = str(uuid.uuid4())
        count = min(rng.randint(1, 4), lines - made)
        created = now - timedelta(seconds=rng.uniform(0, 365 * 86400))
        fate = rng.random()
        paid = created + timedelta(minutes=5) if fate > 0.1 else None
        cancelled = created + timedelta(hours=1) if 0.1 < fate <= 0.15 else None
        refunded = created + timedelta(hours=2) if 0.15 < fate <= 0.18 else None
        shipped = created + timedelta(days=1) if fate > 0.3 else None
        delivered = created + timedelta(days=3) if fate > 0.5 and created < now - timedelta(days=3) else None
        subtotal = units = 0
        for position in range(count):
            product_id, variant_id, sku, title = rng.choice(products)
            quantity, price = rng.randint(1, 3), rng.randint(500, 20000)
            subtotal, units = subtotal + quantity * price, units + quantity
            part_lines.append(
                (
                    order_id,
                    seller_id,
                    position,
                    product_id,
                    variant_id,
                    sku,
                    title,
                    quantity,
                    price,
                    "USD",
                    paid,
                    cancelled is not None or refunded is not None,
                )
            )
        made += count
        parts.append(
            (
                order_id,
                seller_id,
                str(uuid.uuid4()),
                "USD",
                subtotal,
                units,
                "pay" if paid else "",
                "DHL" if shipped else "",
                "T" if shipped else "",
                created,
                paid,
                shipped,
                delivered,
                cancelled,
                refunded,
            )
        )
    variants = []
    for product_id, variant_id, sku, title in products:
        low = rng.random() < 0.1  # one in ten running low
        available = rng.randint(0, 5) if low else rng.randint(6, 50)
        variants.append((variant_id, product_id, seller_id, sku, title, True, available, low, now, now))
    return parts, part_lines, variants


PART_COLUMNS = (
    "order_id",
    "seller_id",
    "buyer_id",
    "currency",
    "subtotal",
    "units",
    "payment_id",
    "carrier",
    "tracking_number",
    "created_at",
    "paid_at",
    "shipped_at",
    "delivered_at",
    "cancelled_at",
    "refunded_at",
)
LINE_COLUMNS = (
    "order_id",
    "seller_id",
    "position",
    "product_id",
    "variant_id",
    "sku",
    "title",
    "quantity",
    "unit_price",
    "currency",
    "paid_at",
    "voided",
)
VARIANT_COLUMNS = (
    "variant_id",
    "product_id",
    "seller_id",
    "sku",
    "title",
    "active",
    "available",
    "low_stock",
    "stock_at",
    "product_at",
)


async def load(url: str, sellers: Sequence[tuple[str, int]], seed: int) -> None:
    from services.kit.db import create_engine

    rng = random.Random(seed)
    now = datetime.now(UTC)
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            raw = (await connection.get_raw_connection()).driver_connection
            assert raw is not None
            for seller_id, lines in sellers:
                parts, part_lines, variants = _rows(seller_id, lines, rng, now)
                await raw.copy_records_to_table("seller_parts", records=parts, columns=PART_COLUMNS)
                await raw.copy_records_to_table("seller_part_lines", records=part_lines, columns=LINE_COLUMNS)
                await raw.copy_records_to_table("seller_variants", records=variants, columns=VARIANT_COLUMNS)
            # What autovacuum does to a table that has settled: statistics, and the visibility map that lets the
            # covering indexes answer without the heap.
            await raw.execute("VACUUM ANALYZE")
    finally:
        await engine.dispose()


async def backend_pids(url: str, database: str) -> list[int]:
    """The PostgreSQL backends serving the seller service's database (not this one's own connection)."""
    from sqlalchemy import text

    from services.kit.db import create_engine

    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            found = await connection.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()"),
                {"name": database},
            )
            return [int(pid) for (pid,) in found]
    finally:
        await engine.dispose()


async def measure(
    address: str, token: str, calls: int, service_pid: int, backends: Callable[[], Awaitable[list[int]]]
) -> tuple[dict[str, list[float]], dict[str, tuple[float, float]]]:
    """Latency of each call (ms) per read, and CPU ms per call of (the service, its database backends)."""
    metadata = (("authorization", f"Bearer {token}"),)
    today = datetime.now(UTC).date()
    ninety = today - timedelta(days=89)
    reads: dict[str, Any] = {
        "GetDashboard (30 days)": ("GetDashboard", seller_pb2.GetDashboardRequest()),
        "GetDashboard (all time)": (
            "GetDashboard",
            seller_pb2.GetDashboardRequest(period=seller_pb2.DASHBOARD_PERIOD_ALL_TIME, top_products_limit=10),
        ),
        "ListSellerOrders (first page)": ("ListSellerOrders", seller_pb2.ListSellerOrdersRequest()),
        "GetSalesSeries (90 days, daily)": (
            "GetSalesSeries",
            seller_pb2.GetSalesSeriesRequest(
                start_date={"year": ninety.year, "month": ninety.month, "day": ninety.day},
                end_date={"year": today.year, "month": today.month, "day": today.day},
            ),
        ),
    }
    timings: dict[str, list[float]] = {}
    cpu: dict[str, tuple[float, float]] = {}
    async with grpc.aio.insecure_channel(address) as channel:
        stub = seller_pb2_grpc.SellerServiceStub(channel)
        for name, (method, request) in reads.items():
            call = getattr(stub, method)
            for _ in range(20):  # warm-up: connections, plans, caches
                await call(request, metadata=metadata, timeout=10)
            found: list[float] = []
            pids = await backends()
            before = own_cpu_seconds([service_pid]), own_cpu_seconds(pids)
            for _ in range(calls):
                started = time.perf_counter()
                await call(request, metadata=metadata, timeout=10)
                found.append((time.perf_counter() - started) * 1000)
            timings[name] = found
            after = own_cpu_seconds([service_pid]), own_cpu_seconds(pids)
            cpu[name] = ((after[0] - before[0]) * 1000 / calls, (after[1] - before[1]) * 1000 / calls)
        board = await stub.GetDashboard(reads["GetDashboard (all time)"][1], metadata=metadata, timeout=10)
        print(f"  all time: {board.orders:,} orders, {board.units_sold:,} units, revenue {board.revenue.units:,}")
    return timings, cpu


async def register_seller(address: str) -> tuple[str, str]:
    async with grpc.aio.insecure_channel(address) as channel:
        reply = await register(auth_pb2_grpc.AuthServiceStub(channel), roles_pb2.ROLE_SELLER, store_name="Bench store")
    return reply.user.id, reply.tokens.access_token


async def run(args: argparse.Namespace) -> int:
    async with stack(SERVICES, log_prefix="seller", start_timeout=120) as running:
        seller_id, token = await register_seller(running.addresses["auth"])
        started = time.monotonic()
        others = [(str(uuid.uuid4()), args.lines // 4) for _ in range(4)]
        url = running.urls["seller"]
        await load(url, [(seller_id, args.lines), *others], args.seed)
        print(
            f"loaded {args.lines:,} lines of the seller and {args.lines:,} of others in "
            f"{time.monotonic() - started:.0f} s"
        )

        async def backends() -> list[int]:
            return await backend_pids(url, str(make_url(url).database))

        service_pid = running.services.processes["seller"].pid
        timings, cpu = await measure(running.addresses["seller"], token, args.calls, service_pid, backends)
    print()
    print(
        f"{args.lines:,} order lines at one seller, {os.cpu_count()} cores, {datetime.now(UTC):%Y-%m-%d}, "
        f"{args.calls} calls each, one at a time"
    )
    # Percentiles between the ends, as the seller's figures have always been taken: comparable with earlier runs.
    print("| read | p50 ms | p95 ms | p99 ms | mean ms | CPU ms per call: service | database |")
    print("|---|---|---|---|---|---|---|")
    for name, found in timings.items():
        p50, p95, p99 = (percentile(found, fraction, between_ends=True) for fraction in (0.5, 0.95, 0.99))
        print(
            f"| {name} | {p50:.1f} | {p95:.1f} | {p99:.1f} | {statistics.fmean(found):.1f} | "
            f"{cpu[name][0]:.1f} | {cpu[name][1]:.1f} |"
        )
    worst = percentile(timings["GetDashboard (30 days)"], 0.95, between_ends=True)
    print(f"GetDashboard (30 days) p95 {worst:.1f} ms (target ≤ {TARGET_P95_MS:.0f} ms)")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.seller", description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=100_000, help="order lines of the measured seller")
    parser.add_argument("--calls", type=int, default=300, help="calls of each read")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    import uvloop

    sys.exit(uvloop.run(run(args)))


if __name__ == "__main__":
    main()
