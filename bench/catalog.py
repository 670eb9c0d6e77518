"""`python -m bench.catalog --products 100000 --seconds 10`: the catalog's read path under load.

Starts (or uses, from DATABASE_URL / REDIS_URL) PostgreSQL and Redis, makes a fresh database, bulk-loads N
generated products and their variants with COPY, starts the real catalog service (`python -m services.catalog
serve`, its own process) and a do-nothing grpc.aio server (the ceiling, same process model), then measures
each with h2load: the ceiling, GetProduct (of single-variant products, and of products with 50 variants), and
SearchProducts in lexical, semantic and hybrid mode over a rotating set of realistic queries. Each target gets
a throughput run (many concurrent streams) and a latency run (one stream at a time: the service's own latency,
no queueing), each at most `--seconds`. Each GetProduct target is measured right after a ceiling run of its
own, twice a round (the two in turn, then backwards) over `--rounds` rounds with the same run protocol, and its
ratio is the median of the rounds'. Everything listens on 127.0.0.1 and stops by itself.

Product text: the demo catalog's templates (services/catalog/demo.py) give a few thousand distinct base
products; the N products are copies of them (a series name, another SKU, another price and stock), and a
copy shares its base's embedding. So only the bases go through the model, and their vectors are cached in
bench/.cache/ keyed by the seed and the number of bases.

Variants: as the catalog stores every product, each has its default variant (the product's SKU and stock, no
option values), except five shoes spread over the catalog, which have a size and a colour option (10 × 5) and
one variant per combination, with their own stock and, for the largest size, their own price. A product's
stock is the sum over its variants, as the service keeps it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import numpy as np

from bench import h2load
from bench.common import CACHE_DIR, REPO_ROOT, free_port, wait_serving
from marketplace.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from services.catalog import demo, variants
from services.catalog.search import ProductSearch

BASE_PRODUCTS = 4000
SERIES = ("", "Mk II", "Mk III", "2024", "2025", "Plus", "Max", "Mini", "Edition S", "Edition X", "Gen 2", "Gen 3")
SELLERS = 50

QUERIES = {
    "lexical": ["running shoe", "waterproof rain jacket", "insulated travel mug", "wireless headphones", "espresso"],
    "semantic": [
        "something to keep my coffee hot on the go",
        "shoes for a marathon",
        "a warm coat for freezing winter commutes",
        "a present for a curious six year old",
        "keep my phone charged while hiking",
    ],
    "hybrid": [
        "insulated mug for coffee on the go",
        "waterproof hiking boots",
        "noise cancelling headphones for flights",
        "backpak for laptop",  # a typo on purpose
        "cheap desk lamp",
    ],
}
MODES = {
    "lexical": catalog_pb2.SEARCH_MODE_LEXICAL,
    "semantic": catalog_pb2.SEARCH_MODE_SEMANTIC,
    "hybrid": catalog_pb2.SEARCH_MODE_HYBRID,
}
SERVICE = "marketplace.catalog.v1.CatalogService"


def catalog_environment(database_url: str, redis_url: str, url: str, port: int) -> dict[str, str]:
    """The environment of a catalog service a benchmark starts: its servers and database, a free port."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        CATALOG_DATABASE_URL=url,
        CATALOG_PORT=str(port),
        GRPC_HOST="127.0.0.1",
        LOG_LEVEL="WARNING",
        # No call in a benchmark carries a token: auth is never asked.
        AUTH_TARGET="127.0.0.1:9",
        # The embedded image server's default port may be taken by a running stack.
        CATALOG_IMAGE_PORT=str(free_port()),
    )
    return env


# --- data ---------------------------------------------------------------------------------------------------


def base_products(seed: int) -> list[dict[str, Any]]:
    return demo.generate(BASE_PRODUCTS, seed=seed)


def base_vectors(bases: Sequence[dict[str, Any]], seed: int) -> np.ndarray[Any, np.dtype[np.float32]]:
    """The bases' embeddings, computed once and cached (keyed by seed, count and the text itself)."""
    texts = [
        ProductSearch.document_text(p["title"], p["description"], p["brand"], p["category"], _attributes(p))
        for p in bases
    ]
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:12]
    path = CACHE_DIR / f"vectors-seed{seed}-{len(bases)}-{digest}.npy"
    if path.exists():
        vectors: np.ndarray[Any, np.dtype[np.float32]] = np.load(path)
        return vectors
    from services.catalog.embeddings import Embedder

    print(f"embedding {len(texts)} base products once (cached in {path.relative_to(REPO_ROOT)})…", flush=True)
    started = time.monotonic()
    vectors = Embedder(threads=os.cpu_count() or 1, batch_size=64).embed(texts)
    print(f"  {time.monotonic() - started:.0f} s", flush=True)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def _attributes(product: dict[str, Any]) -> dict[str, str]:
    from services.catalog.importer import attribute_text

    return {str(key): attribute_text(value) for key, value in product["attributes"].items()}


# The products GetProduct of a product with many variants asks for: shoes with a size and a colour option,
# one variant per combination, each with its own stock and a few with their own price.
MANY_VARIANT_PRODUCTS = 5
MANY_VARIANT_OPTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("size", tuple(str(size) for size in range(37, 47))),
    ("color", ("black", "white", "blue", "red", "grey")),
)
MANY_VARIANT_COUNT = len(variants.combinations(variants.options_of(MANY_VARIANT_OPTIONS)))  # 10 × 5 = 50
# The largest size costs more: a few variants (one per colour) with their own price.
OWN_PRICE_SIZE, OWN_PRICE_FACTOR = "46", 1.1
# What the options now say, no longer attributes of their own.
OPTION_ATTRIBUTES = ("sizes", "color")


@dataclass(frozen=True)
class ProductRecord:
    """One product's COPY rows: its products row and its product_variants rows (position order)."""

    row: tuple[Any, ...]
    variants: list[tuple[Any, ...]]

    @property
    def id(self) -> str:
        return str(self.row[0])


def many_variant_indexes(count: int, bases: Sequence[dict[str, Any]]) -> list[int]:
    """Where the many-variant products sit: the first shoe at or after each of a few points spread over the
    catalog (shoes are the demo catalog's first category, so one is never far)."""
    indexes: list[int] = []
    for number in range(min(MANY_VARIANT_PRODUCTS, count)):
        start = (2 * number + 1) * count // (2 * MANY_VARIANT_PRODUCTS)
        found = next(
            (i for i in range(start, count) if bases[i % len(bases)]["category"] == "shoes" and i not in indexes),
            None,
        )
        if found is not None:
            indexes.append(found)
    return indexes


def variant_rows(
    product: dict[str, Any], options: Sequence[tuple[str, Sequence[str]]], rng: random.Random
) -> list[tuple[Any, ...]]:
    """COPY rows of a product's variants (option_key is computed by PostgreSQL). Without options: the default
    variant, the product's SKU and stock; with them: one variant per combination, first option slowest."""
    if not options:
        combinations: list[dict[str, str]] = [{}]
    else:
        combinations = variants.combinations(variants.options_of(options))
    taken: set[str] = set()
    rows: list[tuple[Any, ...]] = []
    for position, values in enumerate(combinations):
        if not values:
            sku, stock, own_price = product["sku"], product["stock"], None
        else:
            sku = variants.variant_sku(product["sku"], values, taken)
            stock = rng.choice([0, 2, 4, 6, 10, 15, 25])
            own_price = round(product["price_units"] * OWN_PRICE_FACTOR) if values["size"] == OWN_PRICE_SIZE else None
        rows.append(
            (
                str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                product["id"],
                product["seller_id"],
                sku,
                json.dumps(values),
                own_price,
                stock,
                0,
                "ACTIVE",
                position,
                product["created"],
                product["created"],
            )
        )
    return rows


def product_rows(count: int, seed: int) -> Iterator[ProductRecord]:
    """COPY rows of the products and product_variants tables (search_document is computed by PostgreSQL).

    A product's stock is the sum over its ACTIVE variants, as the service keeps it. The variants draw from
    their own generator, so the single-variant products (ids, prices, stock) are those of earlier runs."""
    bases = base_products(seed)
    vectors = base_vectors(bases, seed)
    rng = random.Random(seed)
    variant_rng = random.Random(seed + 1)
    sellers = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(SELLERS)]
    many_variants = set(many_variant_indexes(count, bases))
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for index in range(count):
        base_index = index % len(bases)
        base = bases[base_index]
        series = SERIES[(index // len(bases)) % len(SERIES)]
        round_ = index // (len(bases) * len(SERIES))
        title = f"{base['title']} {series}".strip() + (f" #{round_ + 1}" if round_ else "")
        created = start + timedelta(seconds=index)
        price = max(100, int(base["price_minor"] * rng.uniform(0.85, 1.2)))
        product = {
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "seller_id": sellers[index % SELLERS],
            "sku": f"{base['sku']}-{index:06d}",
            "price_units": price,
            "stock": rng.choice([0, 3, 8, 20, 60, 150]),
            "created": created,
        }
        attributes = _attributes(base)
        options: Sequence[tuple[str, Sequence[str]]] = ()
        if index in many_variants:
            options = MANY_VARIANT_OPTIONS
            attributes = {key: value for key, value in attributes.items() if key not in OPTION_ATTRIBUTES}
        variant_list = variant_rows(product, options, variant_rng)
        yield ProductRecord(
            (
                product["id"],
                product["seller_id"],
                product["sku"],
                title,
                base["description"],
                base["category"],
                base["brand"],
                json.dumps(attributes),
                json.dumps([{"name": name, "values": list(values)} for name, values in options]),
                price,
                "USD",
                sum(row[VARIANT_COLUMNS.index("stock")] for row in variant_list),
                0,
                "ACTIVE",
                1,
                created,
                created,
                vectors[base_index].astype("<f4").tobytes(),
            ),
            variant_list,
        )


COLUMNS = [
    "id",
    "seller_id",
    "sku",
    "title",
    "description",
    "category",
    "brand",
    "attributes",
    "options",
    "price_units",
    "currency",
    "stock",
    "reserved",
    "status",
    "version",
    "created_at",
    "updated_at",
    "embedding",
]
VARIANT_COLUMNS = [
    "id",
    "product_id",
    "seller_id",
    "sku",
    "option_values",
    "price_units",
    "stock",
    "reserved",
    "status",
    "position",
    "created_at",
    "updated_at",
]


@dataclass(frozen=True)
class LoadedIds:
    """The products GetProduct asks for: a few single-variant ones, and the many-variant ones."""

    plain: list[str]
    many_variants: list[str]


async def load_products(url: str, count: int, seed: int) -> LoadedIds:
    """COPY in batches, each batch's products before their variants (the variants' foreign key)."""
    from services.kit.db import create_engine

    engine = create_engine(url, pool_size=1, max_overflow=0)
    plain: list[str] = []
    many: list[str] = []
    started = time.monotonic()
    variant_count = 0
    try:
        async with engine.connect() as connection:
            raw = (await connection.get_raw_connection()).driver_connection
            assert raw is not None
            # COPY is binary: jsonb's binary form is a version byte (1) and the JSON text.
            await raw.set_type_codec(
                "jsonb",
                encoder=lambda text: b"\x01" + text.encode(),
                decoder=lambda data: json.loads(data[1:]),
                schema="pg_catalog",
                format="binary",
            )
            batch: list[tuple[Any, ...]] = []
            variant_batch: list[tuple[Any, ...]] = []

            async def flush() -> None:
                await raw.copy_records_to_table("products", records=batch, columns=COLUMNS)
                await raw.copy_records_to_table("product_variants", records=variant_batch, columns=VARIANT_COLUMNS)
                batch.clear()
                variant_batch.clear()

            for record in product_rows(count, seed):
                batch.append(record.row)
                variant_batch.extend(record.variants)
                variant_count += len(record.variants)
                if len(record.variants) > 1:
                    many.append(record.id)
                elif len(plain) < 16 and len(batch) % 997 == 1:
                    plain.append(record.id)
                if len(batch) == 10_000:
                    await flush()
            if batch:
                await flush()
            await raw.execute("ANALYZE products")
            await raw.execute("ANALYZE product_variants")
    finally:
        await engine.dispose()
    print(
        f"loaded {count} products ({variant_count} variants; {len(many)} products with "
        f"{variant_count - count + len(many)} between them) in {time.monotonic() - started:.0f} s",
        flush=True,
    )
    return LoadedIds(plain, many)


# --- processes ----------------------------------------------------------------------------------------------


@contextlib.contextmanager
def process(command: Sequence[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A child process whose output goes to `log` (the service logs every RPC h2load cuts off at the end)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as output:
        child = subprocess.Popen(list(command), env=env, cwd=REPO_ROOT, stdout=output, stderr=subprocess.STDOUT)
    try:
        yield child
    finally:
        child.terminate()
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


async def wait_listening(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


async def preflight(address: str, ids: LoadedIds) -> None:
    """Every request body the benchmark sends answers OK (h2load cannot see gRPC status trailers), and the
    many-variant products come back with all their variants."""
    async with grpc.aio.insecure_channel(address) as channel:
        stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        sizes: dict[str, list[int]] = {"GetProduct": [], MANY_VARIANTS: []}
        for target, product_ids in (("GetProduct", ids.plain), (MANY_VARIANTS, ids.many_variants)):
            for product_id in product_ids:
                reply = await stub.GetProduct(catalog_pb2.GetProductRequest(id=product_id), timeout=10)
                product = reply.product
                if target == MANY_VARIANTS and len(product.variants) != MANY_VARIANT_COUNT:
                    raise RuntimeError(f"{product_id} has {len(product.variants)} variants")
                if product.stock != sum(variant.stock for variant in product.variants):
                    raise RuntimeError(f"{product_id}: the product's stock is not its variants' sum")
                sizes[target].append(reply.ByteSize())
        for target, found in sizes.items():
            print(f"  {target}: responses of {min(found)}–{max(found)} bytes", flush=True)
        for mode, queries in QUERIES.items():
            for query in queries:
                reply = await stub.SearchProducts(search_request(mode, query), timeout=30)
                top = reply.hits[0].product.title if reply.hits else "(no hit)"
                print(f"  {mode:<8} {query!r}: {len(reply.hits)} hits, first: {top}", flush=True)


def search_request(mode: str, query: str) -> catalog_pb2.SearchProductsRequest:
    return catalog_pb2.SearchProductsRequest(query=query, mode=MODES[mode], page_size=20)


# --- the run ------------------------------------------------------------------------------------------------


def start_infra(stack: contextlib.ExitStack) -> tuple[str, str]:
    database_url, redis_url = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    if database_url and redis_url:
        return database_url, redis_url
    from services.kit.embedded import start_postgres, start_valkey

    root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-catalog-")))
    if not database_url:
        database_url, postgres = start_postgres(root / "postgres")
        stack.callback(postgres.cleanup)
    if not redis_url:
        redis_url, valkey = start_valkey(root / "valkey")
        stack.callback(valkey.stop)
    return database_url, redis_url


CEILING = "ceiling (empty handler)"
MANY_VARIANTS = f"GetProduct, {MANY_VARIANT_COUNT} variants"
# The targets measured in rounds, each right after a ceiling run of its own.
PAIRED = ("GetProduct", MANY_VARIANTS)
# A round's order: forwards, then backwards. With a fixed order the target measured second read lower, whichever
# it was (bench/README.md, 2026-12-01); this way both take the same places in every round.
ROUND_ORDER = (*PAIRED, *reversed(PAIRED))


@dataclass(frozen=True)
class RoundRatios:
    """A paired target's throughput over the ceiling's run just before it, for each of its runs in a round."""

    pairs: tuple[float, ...]

    @property
    def ratio(self) -> float:
        return statistics.fmean(self.pairs)

    def __str__(self) -> str:
        return f"{self.ratio:.2f} ({', '.join(f'{pair:.2f}' for pair in self.pairs)})"


def measure_all(
    ceiling: str,
    catalog: str,
    ids: LoadedIds,
    seconds: float,
    clients: int,
    streams: int,
    rounds: int,
) -> tuple[dict[str, dict[str, h2load.Measurement]], dict[str, list[RoundRatios]]]:
    """Every target's load and latency runs, and each paired target's throughput over the ceiling's by round.

    Each round measures the ceiling before each run of a paired target, in ROUND_ORDER (GetProduct, the
    many-variant GetProduct, then the same backwards), with the same protocol (as many h2load runs of the same
    length: the ceiling's one body is sent as often as GetProduct has bodies), so that the machine's changing
    load and h2load's per-run start-up weigh on both sides of each ratio alike.
    """

    def get_bodies(product_ids: Sequence[str]) -> list[bytes]:
        return [catalog_pb2.GetProductRequest(id=i).SerializeToString() for i in product_ids[:5]]

    plain_bodies, many_bodies = get_bodies(ids.plain), get_bodies(ids.many_variants)
    if len(plain_bodies) != len(many_bodies):
        raise RuntimeError(f"{len(many_bodies)} many-variant products for {len(plain_bodies)} single-variant ones")
    targets: dict[str, tuple[str, str, list[bytes]]] = {
        CEILING: (ceiling, "bench.v1.Ceiling/Empty", [b""] * len(plain_bodies)),
        "GetProduct": (catalog, f"{SERVICE}/GetProduct", plain_bodies),
        MANY_VARIANTS: (catalog, f"{SERVICE}/GetProduct", many_bodies),
    }
    for mode, queries in QUERIES.items():
        targets[f"SearchProducts {mode}"] = (
            catalog,
            f"{SERVICE}/SearchProducts",
            [search_request(mode, query).SerializeToString() for query in queries],
        )

    def load(name: str) -> h2load.Measurement:
        address, method, bodies = targets[name]
        return h2load.run(
            name=name, address=address, method=method, bodies=bodies, seconds=seconds, clients=clients, streams=streams
        )

    loads: dict[str, list[h2load.Measurement]] = {name: [] for name in targets}
    ratios: dict[str, list[RoundRatios]] = {name: [] for name in PAIRED}
    for number in range(rounds):
        pairs: dict[str, list[float]] = {name: [] for name in PAIRED}
        for name in ROUND_ORDER:
            print(f"round {number + 1} of {rounds}: the ceiling and {name}…", flush=True)
            ceiling_run, target_run = load(CEILING), load(name)
            loads[CEILING].append(ceiling_run)
            loads[name].append(target_run)
            pairs[name].append(target_run.rps / max(ceiling_run.rps, 1e-9))
            print(f"  {ceiling_run.rps:,.0f} and {target_run.rps:,.0f} req/s: {pairs[name][-1]:.2f}", flush=True)
        for name in PAIRED:
            ratios[name].append(RoundRatios(tuple(pairs[name])))
    results: dict[str, dict[str, h2load.Measurement]] = {}
    for name, (address, method, bodies) in targets.items():
        print(f"measuring {name}…", flush=True)
        if not loads[name]:
            loads[name].append(load(name))
        results[name] = {
            "load": h2load.merged(loads[name]),
            "latency": h2load.run(
                name=name, address=address, method=method, bodies=bodies, seconds=seconds, clients=1, streams=1
            ),
        }
    return results, ratios


def report(
    results: dict[str, dict[str, h2load.Measurement]],
    ratios: dict[str, list[RoundRatios]],
    clients: int,
    streams: int,
) -> str:
    ceiling = results[CEILING]["load"].rps
    lines = [
        f"| target | req/s ({clients}×{streams} streams) | × ceiling | p50 ms | p99 ms "
        "| req/s (1 stream) | p50 ms | p95 ms | p99 ms | failed |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, runs in results.items():
        load, latency = runs["load"], runs["latency"]
        # A paired target's ratio is the median of its rounds' (each run against the ceiling measured before it).
        ratio = statistics.median(r.ratio for r in ratios[name]) if name in ratios else load.rps / ceiling
        lines.append(
            f"| {name} | {load.rps:,.0f} | {ratio:.2f} | {load.percentile(0.5):.2f} | "
            f"{load.percentile(0.99):.2f} | {latency.rps:,.0f} | {latency.percentile(0.5):.2f} | "
            f"{latency.percentile(0.95):.2f} | {latency.percentile(0.99):.2f} | {load.failed + latency.failed} |"
        )
    lines.append("")
    for name, by_round in ratios.items():
        lines.append(f"{name} / ceiling by round (its runs in order): " + ", ".join(map(str, by_round)))
    # The two GetProducts' ratios of the same round: what the variants cost, the ceiling's drift set aside.
    relative = [
        many.ratio / plain.ratio for plain, many in zip(ratios["GetProduct"], ratios[MANY_VARIANTS], strict=True)
    ]
    lines.append(f"{MANY_VARIANTS} / GetProduct by round: " + ", ".join(f"{ratio:.2f}" for ratio in relative))
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> int:
    h2load.require_h2load()
    from services.kit.db import drop_database, ensure_database
    from services.kit.migrate import migrate

    with contextlib.ExitStack() as stack:
        database_url, redis_url = await asyncio.to_thread(start_infra, stack)
        name = f"bench_catalog_{uuid.uuid4().hex[:8]}"
        url = await ensure_database(database_url, name)
        try:
            await migrate(REPO_ROOT / "services" / "catalog" / "migrations", url)
            ids = await load_products(url, args.products, args.seed)
            catalog_port, ceiling_port = free_port(), free_port()
            env = catalog_environment(database_url, redis_url, url, catalog_port)
            python = sys.executable
            catalog_log = CACHE_DIR / "catalog-service.log"
            with (
                process([python, "-m", "bench.ceiling", str(ceiling_port)], env, CACHE_DIR / "ceiling.log"),
                process([python, "-m", "services.catalog", "serve"], env, catalog_log) as catalog_process,
            ):
                started = time.monotonic()
                catalog = f"127.0.0.1:{catalog_port}"
                await wait_serving("catalog", catalog, catalog_process, catalog_log, timeout=600)
                await wait_listening(ceiling_port, timeout=30)
                print(f"catalog serving after {time.monotonic() - started:.0f} s (index and vocabulary loaded)")
                await preflight(catalog, ids)
                results, ratios = await asyncio.to_thread(
                    measure_all,
                    f"127.0.0.1:{ceiling_port}",
                    catalog,
                    ids,
                    args.seconds,
                    args.clients,
                    args.streams,
                    args.rounds,
                )
        finally:
            await drop_database(database_url, name)
    print()
    print(f"{args.products:,} products, {os.cpu_count()} cores, {datetime.now(UTC):%Y-%m-%d}")
    print(report(results, ratios, args.clients, args.streams))
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.catalog", description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measurement (at most 10)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3, help="alternate ceiling and GetProduct runs")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--streams", type=int, default=16, help="concurrent streams per client")
    args = parser.parse_args()
    args.seconds = min(args.seconds, 10.0)
    import uvloop

    sys.exit(uvloop.run(run(args)))


if __name__ == "__main__":
    main()
