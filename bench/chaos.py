"""`python -m bench.checkout --chaos --checkouts 1000 --buyers 50`: the checkout benchmark's mesh, a bounded
number of checkouts, and along the way the order process, the payment process, the catalog process (its event
consumer runs inside it) and the embedded Valkey each SIGKILLed once and started again the same way.

Buyers retry a call that fails because something is down (UNAVAILABLE, DEADLINE_EXCEEDED) with the same
request, so nothing doubles: CreateOrder and CreatePayment are idempotent by `request_id`, ConfirmPayment with
the outcome a payment already has changes nothing. One checkout in `--decline-every` declines its payment and
cancels its order on purpose. Once every buyer is done the run waits (bounded) for the saga to settle, then
prints each check of bench/saga_checks.py with its numbers; the exit code is 1 when one fails.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import asyncpg
import grpc
from redis.asyncio import Redis

from bench import saga_checks
from bench.checkout import (
    ADDRESS,
    SERVICES,
    STOCK,
    Channels,
    Hop,
    Item,
    Metadata,
    database_now,
    event_hops,
    pick_lines,
    register,
    seed,
)
from bench.common import percentile, plain_url
from bench.mesh import Stack, kill_valkey, restart_valkey, stack
from marketplace.cart.v1 import cart_pb2
from marketplace.common.v1 import roles_pb2
from marketplace.events.v1.envelope_pb2 import Envelope
from marketplace.order.v1 import order_pb2
from marketplace.payment.v1 import payment_pb2
from services.kit.bus import ENVELOPE_FIELD
from services.kit.dead_letters import list_dead_letters

T = TypeVar("T")

# What a call may fail with while a process it needs is down: the call is worth the same request again.
RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
# What is killed, in this order, once the given share of the checkouts has begun ("redis": the embedded Valkey).
PLAN: tuple[tuple[str, float], ...] = (("order", 0.15), ("catalog", 0.35), ("payment", 0.55), ("redis", 0.75))
CALL_TIMEOUT = 10.0  # each attempt of a unary call
WATCH_TIMEOUT = 15.0  # each WatchOrder stream, opened again when it ends without the wanted status
# A short reconnect backoff: gRPC's own grows to two minutes, longer than any process here stays down.
CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 1000),
]


@dataclass
class Tally:
    """What the buyers did so far."""

    total: int
    attempted: int = 0
    completed: int = 0
    declined: int = 0
    failures: list[str] = field(default_factory=list)
    retries: Counter[str] = field(default_factory=Counter)  # "Method CODE" -> calls tried again
    changed: asyncio.Event = field(default_factory=asyncio.Event)  # set when a checkout begins or ends
    over: bool = False  # the buyers are done (or out of time): nothing more is killed

    @property
    def finished(self) -> int:
        return self.completed + self.declined + len(self.failures)

    def counts(self) -> saga_checks.Counts:
        return saga_checks.Counts(self.attempted, self.completed, self.declined, tuple(self.failures))


@dataclass(frozen=True)
class Kill:
    victim: str
    pid: int
    new_pid: int
    at: float  # seconds since the checkouts began
    after_checkouts: int  # checkouts begun when it was killed
    in_flight: int  # of which still under way
    down: float  # seconds from the SIGKILL until it served again

    def line(self) -> str:
        return (
            f"{self.victim} (pid {self.pid}) SIGKILLed at {self.at:.1f} s, checkout {self.after_checkouts} begun, "
            f"{self.in_flight} under way; serving again (pid {self.new_pid}) {self.down:.1f} s later"
        )


class Buyer:
    """One buyer's calls, each tried again with the same request while what it needs is down."""

    def __init__(self, stubs: Channels, metadata: Metadata, tally: Tally, retry_seconds: float) -> None:
        self.stubs = stubs
        self.metadata = metadata
        self.tally = tally
        self.retry_seconds = retry_seconds

    async def call(self, method: str, attempt: Callable[[], Awaitable[T]]) -> T:
        until = time.monotonic() + self.retry_seconds
        pause = 0.1
        while True:
            try:
                return await attempt()
            except grpc.aio.AioRpcError as error:
                if error.code() not in RETRYABLE or time.monotonic() > until:
                    raise
                self.tally.retries[f"{method} {error.code().name}"] += 1
            await asyncio.sleep(pause)
            pause = min(pause * 2, 1.0)

    async def wait_for_status(self, order_id: str, wanted: Iterable[int], seconds: float) -> None:
        """Until WatchOrder shows the order in a `wanted` status (its first answer is the order as it is now, so a
        stream opened again after a restart misses nothing)."""
        wanted = set(wanted)
        until = time.monotonic() + seconds
        while True:
            call = self.stubs.order.WatchOrder(
                order_pb2.WatchOrderRequest(id=order_id), metadata=self.metadata, timeout=WATCH_TIMEOUT
            )
            try:
                async for change in call:
                    if change.order.status in wanted:
                        return
            except grpc.aio.AioRpcError as error:
                if error.code() not in RETRYABLE:
                    raise
                self.tally.retries[f"WatchOrder {error.code().name}"] += 1
            finally:
                call.cancel()
            if time.monotonic() > until:
                raise TimeoutError(f"order {order_id} not {sorted(wanted)} after {seconds:.0f} s")
            await asyncio.sleep(0.2)

    async def wait_for_empty_cart(self, seconds: float) -> None:
        until = time.monotonic() + seconds
        pause = 0.01
        while True:
            cart = await self.call(
                "GetCart",
                lambda: self.stubs.cart.GetCart(
                    cart_pb2.GetCartRequest(), metadata=self.metadata, timeout=CALL_TIMEOUT
                ),
            )
            if not cart.cart.lines:
                return
            if time.monotonic() > until:
                raise TimeoutError(f"the cart still holds {len(cart.cart.lines)} lines after {seconds:.0f} s")
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.2)

    async def checkout(self, lines: Sequence[tuple[Item, int]], decline: bool, settle_seconds: float) -> bool:
        """One checkout; True when paid to the end, False when declined and cancelled on purpose."""
        stubs, metadata = self.stubs, self.metadata
        for item, quantity in lines:
            request = cart_pb2.AddCartItemRequest(
                product_id=item.product_id, variant_id=item.variant_id, quantity=quantity
            )
            # A retry after an answer that was lost adds the units again: the order takes whatever the cart
            # holds, and every check counts the order's own lines, so that changes no figure's meaning.
            await self.call(
                "AddCartItem",
                functools.partial(stubs.cart.AddCartItem, request, metadata=metadata, timeout=CALL_TIMEOUT),
            )
        create = order_pb2.CreateOrderRequest(request_id=str(uuid.uuid4()), shipping_address=ADDRESS)
        order = (
            await self.call(
                "CreateOrder", lambda: stubs.order.CreateOrder(create, metadata=metadata, timeout=CALL_TIMEOUT)
            )
        ).order
        approved = False
        try:
            pay = payment_pb2.CreatePaymentRequest(order_id=order.id, request_id=str(uuid.uuid4()))
            payment = (
                await self.call(
                    "CreatePayment", lambda: stubs.payment.CreatePayment(pay, metadata=metadata, timeout=CALL_TIMEOUT)
                )
            ).payment
            outcome = payment_pb2.LOCAL_OUTCOME_DECLINE if decline else payment_pb2.LOCAL_OUTCOME_APPROVE
            confirm = payment_pb2.ConfirmPaymentRequest(id=payment.id, outcome=outcome)
            approved = not decline
            await self.call(
                "ConfirmPayment", lambda: stubs.payment.ConfirmPayment(confirm, metadata=metadata, timeout=CALL_TIMEOUT)
            )
        except (grpc.aio.AioRpcError, TimeoutError):
            # Once an approval was sent the payment may have succeeded: the order is left to the saga then.
            if not approved:
                await self.give_up(order.id)
            raise
        if decline:
            await self.give_up(order.id)
            return False
        await self.wait_for_status(order.id, [order_pb2.ORDER_STATUS_PAID], settle_seconds)
        await self.wait_for_empty_cart(settle_seconds)
        return True

    async def give_up(self, order_id: str) -> None:
        """Cancels an order that was never approved (its reservation is released) and empties the cart."""
        cancel = order_pb2.CancelOrderRequest(id=order_id, note="chaos run: declined on purpose")
        await self.call(
            "CancelOrder", lambda: self.stubs.order.CancelOrder(cancel, metadata=self.metadata, timeout=CALL_TIMEOUT)
        )
        await self.clear_cart()

    async def clear_cart(self) -> None:
        await self.call(
            "ClearCart",
            lambda: self.stubs.cart.ClearCart(
                cart_pb2.ClearCartRequest(), metadata=self.metadata, timeout=CALL_TIMEOUT
            ),
        )


async def buyer_loop(
    buyer: Buyer, items: Sequence[Item], sellers: int, rng: random.Random, args: argparse.Namespace
) -> None:
    tally = buyer.tally
    while tally.attempted < tally.total:
        number = tally.attempted
        tally.attempted += 1
        tally.changed.set()
        decline = args.decline_every > 0 and number % args.decline_every == args.decline_every - 1
        try:
            if await buyer.checkout(pick_lines(items, sellers, rng), decline, args.settle_seconds):
                tally.completed += 1
            else:
                tally.declined += 1
        except (grpc.aio.AioRpcError, TimeoutError) as failure:
            detail = (
                f"{failure.code().name} {failure.details()}"
                if isinstance(failure, grpc.aio.AioRpcError)
                else str(failure)
            )
            message = f"checkout {number}: {type(failure).__name__}: {detail}"
            # Start again from an empty cart.
            try:
                await buyer.clear_cart()
            except grpc.aio.AioRpcError as error:
                message += f"; then ClearCart {error.code().name}"
            tally.failures.append(message)
        tally.changed.set()


async def inflict(
    running: Stack, plan: Sequence[tuple[str, float]], tally: Tally, started: float, args: argparse.Namespace
) -> list[Kill]:
    """Kills each victim once, when its share of the checkouts has begun, and starts it again at once."""
    kills: list[Kill] = []
    for victim, share in plan:
        while tally.attempted < share * tally.total and not tally.over:
            tally.changed.clear()
            await tally.changed.wait()
        if tally.over:
            break  # the checkouts ended first (a small --checkouts): the report says which kills are missing
        at, begun, in_flight = time.monotonic() - started, tally.attempted, tally.attempted - tally.finished
        killed = time.monotonic()
        if victim == "redis":
            pid = kill_valkey(running.infra)
            await asyncio.sleep(args.down_seconds)
            new_pid = await asyncio.to_thread(restart_valkey, running.infra)
        else:
            pid = running.services.kill(victim)
            await asyncio.sleep(args.down_seconds)
            process = running.services.start(victim)
            await running.services.wait_serving(victim, running.addresses[victim], args.start_timeout)
            new_pid = process.pid
        kills.append(Kill(victim, pid, new_pid, at, begun, in_flight, time.monotonic() - killed))
        print("chaos:", kills[-1].line(), flush=True)
    return kills


# --- what the databases and Redis hold ------------------------------------------------------------------------


async def snapshot(
    urls: Mapping[str, str], redis: Redis, product_ids: Sequence[str], buyers: Sequence[str]
) -> saga_checks.Snapshot:
    found = saga_checks.Snapshot()
    connections = {name: await asyncpg.connect(plain_url(url)) for name, url in urls.items()}
    try:
        order, payment, catalog, cart = (connections[name] for name in ("order", "payment", "catalog", "cart"))
        for row in await order.fetch("SELECT id, buyer_id, status, payment_id, reservation_id FROM orders"):
            found.orders[row["id"]] = saga_checks.OrderRow(
                row["buyer_id"], row["status"], row["payment_id"], row["reservation_id"]
            )
        found.lines = [
            (row["order_id"], row["variant_id"], int(row["quantity"]))
            for row in await order.fetch("SELECT order_id, variant_id, quantity FROM order_lines")
        ]
        found.payments = [
            saga_checks.PaymentRow(row["id"], row["order_id"], row["status"])
            for row in await payment.fetch("SELECT id, order_id, status FROM payments")
        ]
        found.variants = {
            row["id"]: (int(row["stock"]), int(row["reserved"]))
            for row in await catalog.fetch(
                "SELECT id, stock, reserved FROM product_variants WHERE product_id = ANY($1::text[])", list(product_ids)
            )
        }
        found.reservations = {
            row["id"]: row["status"] for row in await catalog.fetch("SELECT id, status FROM reservations")
        }
        found.cart_units = dict.fromkeys(buyers, 0)
        for row in await cart.fetch(
            "SELECT c.buyer_id, sum(l.quantity) AS units FROM carts c JOIN cart_lines l ON l.cart_id = c.id"
            " WHERE c.buyer_id = ANY($1::text[]) GROUP BY c.buyer_id",
            list(buyers),
        ):
            found.cart_units[row["buyer_id"]] = int(row["units"])
        streams: set[str] = set()
        for producer, connection in connections.items():
            for row in await connection.fetch(
                "SELECT id, type, stream, subject, published_at IS NOT NULL AS published FROM outbox"
            ):
                found.events.append(
                    saga_checks.Event(
                        row["id"], producer, str(row["type"]).rsplit(".", 1)[-1], row["subject"], row["published"]
                    )
                )
                streams.add(row["stream"])
            for row in await connection.fetch("SELECT event_id, consumer_group FROM inbox"):
                found.handled.setdefault(row["consumer_group"], set()).add(row["event_id"])
    finally:
        for connection in connections.values():
            await connection.close()
    for stream in sorted(streams):
        found.on_streams |= await envelope_ids(redis, stream)
    found.dead_letters = [letter.line() for letter in await list_dead_letters(redis)]
    return found


async def envelope_ids(redis: Redis, stream: str) -> set[str]:
    """The event id of every entry on `stream`, read in pages."""
    ids: set[str] = set()
    start = "-"
    while True:
        entries = await redis.xrange(stream, min=start, max="+", count=1000)
        for _entry_id, fields in entries:
            envelope = Envelope()
            envelope.ParseFromString(fields.get(ENVELOPE_FIELD, b""))
            ids.add(envelope.id)
        if len(entries) < 1000:
            return ids
        start = "(" + entries[-1][0].decode()


# --- the run --------------------------------------------------------------------------------------------------


@dataclass
class ChaosResult:
    buyers: int
    seconds: float  # from the first checkout to the last buyer done
    settle_seconds: float  # from then until the checks passed (or the wait ended)
    tally: Tally
    kills: list[Kill]
    checks: list[saga_checks.Check]
    hops: list[Hop]  # every event hop of the run, to show what the kills delayed

    @property
    def ok(self) -> bool:
        return saga_checks.settled(self.checks) and len(self.kills) == len(PLAN)


async def run(args: argparse.Namespace) -> ChaosResult:
    rng = random.Random(args.seed)
    async with stack(SERVICES, log_prefix="checkout", start_timeout=args.start_timeout) as running:
        stubs = Channels.connect(running.addresses, CHANNEL_OPTIONS)
        redis = Redis.from_url(running.infra.redis_url, socket_connect_timeout=2, socket_timeout=10)
        try:
            items = await seed(stubs, args.sellers, args.products, rng)
            buyers = await asyncio.gather(*(register(stubs, roles_pb2.ROLE_BUYER) for _ in range(args.buyers)))
            print(f"seeded {args.sellers} sellers, {len(items)} items to buy, {len(buyers)} buyers", flush=True)
            tally = Tally(args.checkouts)
            since = await database_now(running.urls["order"])
            started = time.monotonic()
            loops = [
                asyncio.ensure_future(
                    buyer_loop(
                        Buyer(stubs, metadata, tally, args.retry_seconds),
                        items,
                        args.sellers,
                        random.Random(rng.random()),
                        args,
                    )
                )
                for metadata, _ in buyers
            ]
            chaos = asyncio.ensure_future(inflict(running, PLAN, tally, started, args))
            progress = asyncio.ensure_future(report_progress(tally, started))
            _, late = await asyncio.wait(loops, timeout=args.max_seconds)
            for task in late:
                task.cancel()
                tally.failures.append("a buyer still busy when the run's time was up")
            await asyncio.gather(*late, return_exceptions=True)
            seconds = time.monotonic() - started
            progress.cancel()
            tally.over = True
            tally.changed.set()
            # A restart under way finishes; nothing more is killed once the buyers are done.
            kills = await chaos
            print(f"checkouts done after {seconds:.1f} s: waiting for the saga to settle", flush=True)
            # The saga settles by itself: consumers claim what a killed member held once it is idle 30 s.
            settling = time.monotonic()
            product_ids = sorted({item.product_id for item in items})
            buyer_ids = [user_id for _, user_id in buyers]
            while True:
                checks = saga_checks.evaluate(
                    await snapshot(running.urls, redis, product_ids, buyer_ids), tally.counts(), STOCK
                )
                if saga_checks.settled(checks) or time.monotonic() - settling > args.settle_seconds:
                    break
                await asyncio.sleep(1.0)
            settle_seconds = time.monotonic() - settling
            hops = await event_hops(running.urls, since, await database_now(running.urls["order"]))
            return ChaosResult(args.buyers, seconds, settle_seconds, tally, kills, checks, hops)
        finally:
            await redis.aclose()
            await stubs.close()


async def report_progress(tally: Tally, started: float) -> None:
    while True:
        await asyncio.sleep(15)
        print(
            f"  {time.monotonic() - started:5.0f} s: {tally.attempted} begun, {tally.completed} completed, "
            f"{tally.declined} declined, {len(tally.failures)} failed, {sum(tally.retries.values())} calls retried",
            flush=True,
        )


def report(result: ChaosResult) -> str:
    tally = result.tally
    lines = [
        f"chaos run: {tally.attempted} checkouts by {result.buyers} buyers in {result.seconds:.1f} s "
        f"({tally.completed / result.seconds:.1f} completed/s)",
        "killed (SIGKILL, then started again the same way):",
        *(f"  {kill.line()}" for kill in result.kills),
        f"calls retried while something was down: {sum(tally.retries.values())}"
        + (" (" + ", ".join(f"{name} {n}" for name, n in tally.retries.most_common()) + ")" if tally.retries else ""),
        "event hops (outbox.created_at → inbox.handled_at), events handled, p50 / p99 / max ms: "
        + "; ".join(
            f"{hop.name} {len(hop.lags_ms)}, {percentile(hop.lags_ms, 0.5):.0f} / {percentile(hop.lags_ms, 0.99):.0f}"
            f" / {max(hop.lags_ms):.0f}"
            for hop in result.hops
        ),
        f"checks, {result.settle_seconds:.1f} s after the last checkout:",
        *(f"  {check.line()}" for check in result.checks),
    ]
    if len(result.kills) != len(PLAN):
        lines.append(f"  FAIL  only {len(result.kills)} of {len(PLAN)} kills happened")
    lines.append("chaos run: " + ("every check passed" if result.ok else "FAILED"))
    return "\n".join(lines)
