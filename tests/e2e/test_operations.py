"""Operating the stack `python -m services up` started, as an operator does: commands in a second terminal, restarts,
a Redis that lost its data, and a service killed under load. Real processes, the real embedded servers."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import grpc
import pytest
import redis.asyncio as aioredis
from sqlalchemy import text

from marketplace.auth.v1 import auth_pb2, auth_pb2_grpc
from marketplace.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from marketplace.common.v1 import money_pb2, roles_pb2
from marketplace.events.v1 import envelope_pb2
from services import registry
from services.kit.db import create_engine
from services.kit.settings import RUN_FILE_NAME, database_url_for, read_run_file
from tests.e2e.test_launcher import REPO, Launched, alive, free_port

PASSWORD = "correct horse battery"
IMPORT_TIMEOUT = 180.0
EXAMPLE_CATALOG = REPO / "examples" / "catalog.yaml"

pytestmark = [
    pytest.mark.skipif(not registry.exists("catalog"), reason="services/catalog/service.py is not there yet"),
    pytest.mark.timeout(300),
]


# --- helpers ------------------------------------------------------------------------------------------------


def readme_import_command() -> list[str]:
    """The import command exactly as README.md writes it."""
    readme = (REPO / "README.md").read_text()
    lines = re.findall(r"^(\.venv/bin/python -m services\.catalog import .+)$", readme, re.MULTILINE)
    assert len(lines) == 1, lines
    return shlex.split(lines[0])


def bare_environment(data_dir: Path | str, **extra: str) -> dict[str, str]:
    """A second terminal's environment: nothing exported for the project. MESH_DATA_DIR only says where this
    test's stack keeps its data (`make run` uses var/ in the repository, where a command looks by default)."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ}
    env["MESH_DATA_DIR"] = str(data_dir)
    env.update(extra)
    return env


def run_command(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=IMPORT_TIMEOUT)


def assert_one_line_failure(result: subprocess.CompletedProcess[str], expected: str) -> str:
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert re.search(expected, lines[0]), lines[0]
    return lines[0]


def run_settings(launched: Launched) -> dict[str, str]:
    values = read_run_file(Path(launched.marker) / RUN_FILE_NAME)
    assert values, f"no run file in {launched.marker}"
    return values


async def register(auth_address: str, *, role: roles_pb2.Role = roles_pb2.ROLE_BUYER) -> tuple[str, str, str]:
    """A new account's (access token, refresh token, username)."""
    name = "u" + uuid.uuid4().hex[:12]
    async with grpc.aio.insecure_channel(auth_address) as channel:
        response = await auth_pb2_grpc.AuthServiceStub(channel).Register(
            auth_pb2.RegisterRequest(
                email=f"{name}@example.com",
                username=name,
                password=PASSWORD,
                role=role,
                store_name="Chaos Shop" if role == roles_pb2.ROLE_SELLER else "",
            ),
            timeout=10,
        )
    return str(response.tokens.access_token), str(response.tokens.refresh_token), name


async def login(auth_address: str, name: str) -> auth_pb2.SessionTokens:
    async with grpc.aio.insecure_channel(auth_address) as channel:
        response = await auth_pb2_grpc.AuthServiceStub(channel).Login(
            auth_pb2.LoginRequest(login=name, password=PASSWORD), timeout=10
        )
    tokens: auth_pb2.SessionTokens = response.tokens
    return tokens


async def get_me_code(auth_address: str, access_token: str) -> grpc.StatusCode:
    async with grpc.aio.insecure_channel(auth_address) as channel:
        try:
            await auth_pb2_grpc.AuthServiceStub(channel).GetMe(
                auth_pb2.GetMeRequest(), metadata=(("authorization", f"Bearer {access_token}"),), timeout=10
            )
        except grpc.aio.AioRpcError as error:
            return error.code()
    return grpc.StatusCode.OK


async def list_seller_products(catalog_address: str, seller_id: str) -> list[catalog_pb2.Product]:
    async with grpc.aio.insecure_channel(catalog_address) as channel:
        response = await catalog_pb2_grpc.CatalogServiceStub(channel).ListProducts(
            catalog_pb2.ListProductsRequest(filter=catalog_pb2.ProductFilter(seller_id=seller_id), page_size=100),
            timeout=10,
        )
    return list(response.products)


async def redis_call(url: str, *command: str) -> object:
    client = aioredis.Redis.from_url(url)
    try:
        return await client.execute_command(*command)
    finally:
        await client.aclose()


# --- the README's import command against `make run` ----------------------------------------------------------


def test_the_readmes_import_command_works_in_a_second_terminal(launch) -> None:
    # As `make run` does: no servers named, the credentials key generated for this run.
    launched = launch(SERVICE_CREDENTIALS_KEY="")
    launched.wait_for(r"^marketplace-mesh is up")
    data_dir = Path(launched.marker)
    run_file = data_dir / RUN_FILE_NAME
    mode = run_file.stat()
    assert stat.S_IMODE(mode.st_mode) == 0o600 and mode.st_uid == os.getuid()
    assert "SERVICE_CREDENTIALS_KEY" in read_run_file(run_file)
    command = readme_import_command()
    assert (REPO / command[4]).resolve() == EXAMPLE_CATALOG  # .venv/bin/python -m services.catalog import FILE

    first = run_command(command, bare_environment(data_dir))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Traceback" not in first.stderr
    assert "created 6, updated 0, unchanged 0, skipped 0" in first.stdout, first.stdout
    seller_id = re.search(r"^seller shop@example\.com: created \((\S+)\)$", first.stdout, re.MULTILINE)
    assert seller_id, first.stdout
    catalog = launched.addresses()["catalog"]
    products = asyncio.run(list_seller_products(catalog, seller_id[1]))
    assert sorted(p.sku for p in products) == [
        "SHOP-BAG-001",
        "SHOP-FLASK-001",
        "SHOP-LAMP-001",
        "SHOP-MUG-001",
        "SHOP-NOTE-001",
        "SHOP-TEE-001",
    ]
    mug = next(p for p in products if p.sku == "SHOP-MUG-001")
    assert (mug.price.units, mug.price.currency_code, mug.stock) == (1800, "USD", 40)

    second = run_command(command, bare_environment(data_dir))
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"seller shop@example.com: exists ({seller_id[1]})" in second.stdout
    assert "created 0, updated 0, unchanged 6, skipped 0" in second.stdout, second.stdout
    again = asyncio.run(list_seller_products(catalog, seller_id[1]))
    assert [p.SerializeToString(deterministic=True) for p in again] == [
        p.SerializeToString(deterministic=True) for p in products
    ]

    # Exported settings still win over the run file, and a refusal names its cause.
    wrong = run_command(command, bare_environment(data_dir, SERVICE_CLIENT_SECRET="not-the-catalogs-secret"))
    assert_one_line_failure(
        wrong, r"^nothing imported: auth refused the catalog's service credentials: UNAUTHENTICATED invalid client"
    )

    pids = launched.pids()
    assert launched.stop(signal.SIGINT) == 0
    assert not run_file.exists()
    assert not [name for name, pid in pids.items() if alive(pid)]


# --- the command with nothing to reach -------------------------------------------------------------------------


def test_the_import_command_says_in_one_line_what_it_cannot_reach(tmp_path: Path) -> None:
    command = readme_import_command()
    nothing_running = run_command(command, bare_environment(tmp_path / "no-stack"))
    assert_one_line_failure(
        nothing_running,
        rf"^nothing imported: no running stack found \({re.escape(str(tmp_path / 'no-stack' / RUN_FILE_NAME))} "
        r"does not exist\).*is `make run` running\?$",
    )

    closed = free_port()
    no_database = run_command(
        command,
        bare_environment(
            tmp_path / "no-stack",
            SERVICE_CREDENTIALS_KEY="some-key",
            DATABASE_URL=f"postgresql://postgres@127.0.0.1:{closed}/postgres",
        ),
    )
    assert_one_line_failure(
        no_database, rf"^nothing imported: cannot reach the database server at 127\.0\.0\.1:{closed} \(.+\): is"
    )


async def test_the_import_command_names_an_unreachable_auth_or_a_missing_database(infra, fresh_database) -> None:
    from services.catalog.service import DEFINITION
    from tests.support.serving import migrate_service

    catalog_url = await fresh_database("catalog")
    await migrate_service(DEFINITION, catalog_url)
    closed = free_port()
    command = readme_import_command()
    env = bare_environment(
        "/nonexistent", CATALOG_DATABASE_URL=catalog_url, SERVICE_CLIENT_SECRET="s", AUTH_TARGET=f"127.0.0.1:{closed}"
    )
    no_auth = await asyncio.to_thread(run_command, command, env)
    assert_one_line_failure(no_auth, rf"^nothing imported: cannot reach auth at 127\.0\.0\.1:{closed} \(.+\): is")

    missing = catalog_url.rsplit("/", 1)[0] + "/marketplace_nowhere"
    no_database = await asyncio.to_thread(run_command, command, {**env, "CATALOG_DATABASE_URL": missing})
    assert_one_line_failure(no_database, r"^nothing imported: database marketplace_nowhere does not exist on ")


# --- revocations across restarts -----------------------------------------------------------------------------


@pytest.mark.parametrize("redis_loses_its_data", [False, True], ids=["restart", "restart-without-redis-data"])
def test_a_logged_out_token_stays_refused_after_a_restart(launch, redis_loses_its_data: bool) -> None:
    first = launch("--only", "auth")
    first.wait_for(r"^marketplace-mesh is up")
    data_dir = Path(first.marker)
    auth = first.addresses()["auth"]
    access, refresh, name = asyncio.run(register(auth))
    other_session = asyncio.run(login(auth, name))

    async def logout() -> None:
        async with grpc.aio.insecure_channel(auth) as channel:
            await auth_pb2_grpc.AuthServiceStub(channel).Logout(
                auth_pb2.LogoutRequest(refresh_token=refresh), metadata=(("authorization", f"Bearer {access}"),)
            )

    asyncio.run(logout())
    assert asyncio.run(get_me_code(auth, access)) == grpc.StatusCode.UNAUTHENTICATED
    redis_url = run_settings(first)["REDIS_URL"]
    asyncio.run(redis_call(redis_url, "SET", "e2e:written-before-the-restart", "1"))
    assert first.stop(signal.SIGINT) == 0

    if redis_loses_its_data:
        shutil.rmtree(data_dir / "valkey" / "appendonlydir")

    second = launch("--only", "auth")
    second.wait_for(r"^marketplace-mesh is up")
    auth = second.addresses()["auth"]
    kept = asyncio.run(redis_call(run_settings(second)["REDIS_URL"], "EXISTS", "e2e:written-before-the-restart"))
    assert kept == (0 if redis_loses_its_data else 1)  # the embedded Valkey persists; the loss is real
    assert asyncio.run(get_me_code(auth, access)) == grpc.StatusCode.UNAUTHENTICATED
    # Only the signed-out session is refused: the keys and the other session came through the restart.
    assert asyncio.run(get_me_code(auth, other_session.access_token)) == grpc.StatusCode.OK
    assert second.stop(signal.SIGINT) == 0


# --- chaos: the catalog killed under write load ------------------------------------------------------------------

ADJUSTMENTS = 300
IN_FLIGHT = 16
KILL_AFTER_ACKNOWLEDGED = 100
INITIAL_STOCK = 10


async def create_product(catalog: str, seller_token: str) -> str:
    async with grpc.aio.insecure_channel(catalog) as channel:
        response = await catalog_pb2_grpc.CatalogServiceStub(channel).CreateProduct(
            catalog_pb2.CreateProductRequest(
                product=catalog_pb2.Product(
                    sku="CHAOS-1",
                    title="Chaos Test Kettle",
                    description="A kettle whose stock is adjusted while its service is killed.",
                    category="kitchen",
                    brand="Chaos",
                    price=money_pb2.Money(currency_code="USD", units=2500),
                    stock=INITIAL_STOCK,
                ),
                request_id=str(uuid.uuid4()),
            ),
            metadata=(("authorization", f"Bearer {seller_token}"),),
            timeout=10,
        )
    return str(response.product.id)


async def adjust_under_load(catalog: str, seller_token: str, product_id: str, catalog_pid: int) -> tuple[int, int]:
    """Sends ADJUSTMENTS AdjustStock calls, IN_FLIGHT at a time, and SIGKILLs the catalog once
    KILL_AFTER_ACKNOWLEDGED have been answered. Returns (sum of acknowledged deltas, sum of every delta sent)."""
    acknowledged: list[int] = []
    sent: list[int] = []
    failed_before_the_kill: list[grpc.StatusCode] = []
    killed = asyncio.Event()
    slots = asyncio.Semaphore(IN_FLIGHT)
    metadata = (("authorization", f"Bearer {seller_token}"),)
    async with grpc.aio.insecure_channel(catalog) as channel:
        stub = catalog_pb2_grpc.CatalogServiceStub(channel)

        async def adjust(index: int) -> None:
            delta = 1 + index % 3
            async with slots:
                if killed.is_set():
                    return
                sent.append(delta)
                try:
                    await stub.AdjustStock(
                        catalog_pb2.AdjustStockRequest(id=product_id, delta=delta, reason="chaos"),
                        metadata=metadata,
                        timeout=10,
                    )
                except grpc.aio.AioRpcError as error:
                    # After the kill a call fails however the connection broke; before it, none may fail.
                    if not killed.is_set():
                        failed_before_the_kill.append(error.code())
                    return
                acknowledged.append(delta)
                if len(acknowledged) == KILL_AFTER_ACKNOWLEDGED and not killed.is_set():
                    killed.set()
                    os.kill(catalog_pid, signal.SIGKILL)  # calls are in flight: some commit unanswered

        await asyncio.gather(*(adjust(index) for index in range(ADJUSTMENTS)))
    assert killed.is_set(), "the catalog was never killed"
    assert failed_before_the_kill == []
    return sum(acknowledged), sum(sent)


async def outbox_and_stream(
    database_url: str, redis_url: str, deadline: float
) -> tuple[list[tuple[Any, ...]], list[str]]:
    """The catalog's outbox rows (id, type, envelope) once the relay has published every one, and the event ids
    of the `events.catalog` stream, in stream order."""
    engine = create_engine(database_url_for(database_url, "catalog"), pool_size=1, max_overflow=0)
    loop = asyncio.get_running_loop()
    try:
        while True:
            async with engine.connect() as connection:
                pending = await connection.scalar(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))
                if pending == 0:
                    rows = await connection.execute(text("SELECT id, type, envelope FROM outbox ORDER BY position"))
                    outbox = [tuple(row) for row in rows]
                    break
            assert loop.time() < deadline, f"{pending} outbox rows still unpublished"
            await asyncio.sleep(0.2)
    finally:
        await engine.dispose()
    client = aioredis.Redis.from_url(redis_url)
    try:
        entries = await client.xrange("events.catalog", "-", "+")
    finally:
        await client.aclose()
    stream_ids = [envelope_pb2.Envelope.FromString(fields[b"envelope"]).id for _, fields in entries]
    return outbox, stream_ids


def test_a_catalog_killed_under_write_load_loses_and_doubles_no_event(launch) -> None:
    from marketplace.events.v1 import events_pb2

    first = launch()
    first.wait_for(r"^marketplace-mesh is up")
    addresses = first.addresses()
    seller_token, _, _ = asyncio.run(register(addresses["auth"], role=roles_pb2.ROLE_SELLER))
    product_id = asyncio.run(create_product(addresses["catalog"], seller_token))

    acknowledged, sent = asyncio.run(
        adjust_under_load(addresses["catalog"], seller_token, product_id, first.pids()["catalog"])
    )
    # The launcher stops the whole stack when a service dies (PostgreSQL and Valkey shut down cleanly).
    assert first.process.wait(timeout=60) == 1
    assert "catalog exited with code -9 unexpectedly" in first.output()

    second = launch()
    second.wait_for(r"^marketplace-mesh is up")
    settings = run_settings(second)
    loop_deadline = 30.0

    async def check() -> tuple[list[tuple[Any, ...]], list[str], int]:
        deadline = asyncio.get_running_loop().time() + loop_deadline
        outbox, stream_ids = await outbox_and_stream(settings["DATABASE_URL"], settings["REDIS_URL"], deadline)
        async with grpc.aio.insecure_channel(second.addresses()["catalog"]) as channel:
            product = await catalog_pb2_grpc.CatalogServiceStub(channel).GetProduct(
                catalog_pb2.GetProductRequest(id=product_id), timeout=10
            )
        return outbox, stream_ids, int(product.product.stock)

    outbox, stream_ids, stock = asyncio.run(check())
    committed_ids = [str(row[0]) for row in outbox]
    counts = Counter(stream_ids)
    lost = [event_id for event_id in committed_ids if counts[event_id] == 0]
    doubled = [event_id for event_id, count in counts.items() if count > 1]
    assert (lost, doubled) == ([], [])
    assert set(stream_ids) == set(committed_ids)

    # The stock is what the committed adjustments made it: the acknowledged ones, and those that committed
    # while their answer was lost with the process, as the outbox shows (one StockChanged per adjustment).
    committed_deltas = []
    for _, event_type, raw in outbox:
        if event_type != "marketplace.events.v1.StockChanged":
            continue
        change = events_pb2.StockChanged()
        assert envelope_pb2.Envelope.FromString(raw).payload.Unpack(change)
        if change.product_id == product_id:
            committed_deltas.append(change.new_stock - change.old_stock)
    committed = sum(committed_deltas)
    assert acknowledged <= committed <= sent, (acknowledged, committed, sent)
    assert stock == INITIAL_STOCK + committed, (stock, INITIAL_STOCK, committed, acknowledged)
    print(
        f"chaos: units sent {sent}, acknowledged {acknowledged}, committed {committed} "
        f"({len(committed_deltas)} adjustments); {len(committed_ids)} events, 0 lost, 0 doubled"
    )
    assert second.stop(signal.SIGINT) == 0
