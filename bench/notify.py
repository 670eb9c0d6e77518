"""`python -m bench.notify --rate 100 --seconds 20`: an event to its email handed to SMTP, at a steady rate.

Starts (or uses, from DATABASE_URL / REDIS_URL) PostgreSQL and Redis with the launcher's own functions
(services/launcher.py: databases, migrations, each service's environment and client secret) through
bench/mesh.py, then auth, notify and notify's email worker (`python -m services.notify worker`) as real
processes on free ports of 127.0.0.1, the worker pointed (SMTP_HOST / SMTP_PORT) at an SMTP sink (aiosmtpd) in
this process that notes the arrival time of each message's DATA. Registers the users through auth and waits
until notify knows every address (their UserRegistered events, and the welcome emails, went through). Then
publishes PasswordResetRequested envelopes on `events.auth` as auth's relay does (`make_envelope`, XADD with the
`envelope` field; `occurred_at` now, a token of its own in each, valid for an hour) at `--rate` per second for
`--seconds`, and waits until every email arrived (or `--drain-timeout`).

Reported: per event, occurred_at → the sink received the message (matched by the token in the reset link):
p50/p95/p99/max; the stages from notify's records (event → record, record → handed to Arq, handed to Arq →
received); emails received against events sent (lost, doubled); CPU ms per email of notify and of its worker
(/proc/<pid>/stat, from the first event to the last email), and of PostgreSQL and Valkey when embedded; the
machine's load average. Everything stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email
import email.policy
import os
import re
import secrets
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import asyncpg
import grpc
from redis.asyncio import Redis

from bench.common import Watched, load_average, percentile, plain_url, register
from bench.mesh import Stack, stack, valkey_pid
from marketplace.auth.v1 import auth_pb2_grpc
from marketplace.common.v1 import roles_pb2
from marketplace.events.v1 import events_pb2
from services import launcher
from services.kit.outbox import make_envelope, stream_for
from services.notify.mail_sink import start_mail_sink

SERVICES = ("auth", "notify")
TARGET_P99_MS = 1000.0
RESET_URL = "http://127.0.0.1:8080/reset-password?token="
TOKEN = re.compile(r"reset-password\?token=([0-9a-f]{32})")
RESET_SUBJECT = "Reset your password"


# --- the SMTP sink ----------------------------------------------------------------------------------------------


class Recorder:
    """aiosmtpd handler: keeps each message's raw bytes with the wall-clock time its DATA arrived."""

    def __init__(self) -> None:
        self.received: list[tuple[float, bytes]] = []
        self._lock = threading.Lock()
        # Set (in the waiting loop's thread) on each arrival, when someone waits.
        self.arrival: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        arrived = time.time()
        content = envelope.original_content or envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        with self._lock:
            self.received.append((arrived, raw))
            if self.arrival is not None:
                loop, event = self.arrival
                loop.call_soon_threadsafe(event.set)
        return "250 Message accepted for delivery"

    def snapshot(self) -> list[tuple[float, bytes]]:
        with self._lock:
            return list(self.received)


@dataclass(frozen=True)
class Mail:
    arrived: float
    subject: str
    to: str
    message_id: str
    token: str  # the reset link's token; empty for other emails


def parse(arrived: float, raw: bytes) -> Mail:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain",))
    text = str(body.get_content()) if body is not None else ""
    found = TOKEN.search(text)
    return Mail(
        arrived,
        str(message["Subject"] or ""),
        str(message["To"] or ""),
        str(message["Message-ID"] or ""),
        found.group(1) if found else "",
    )


# --- users and events ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    id: str
    email: str


async def register_users(address: str, count: int) -> list[User]:
    gate = asyncio.Semaphore(8)
    async with grpc.aio.insecure_channel(address) as channel:
        stub = auth_pb2_grpc.AuthServiceStub(channel)

        async def one() -> User:
            async with gate:
                reply = await register(stub, roles_pb2.ROLE_BUYER, timeout=60)
            return User(str(reply.user.id), str(reply.user.email))

        return list(await asyncio.gather(*(one() for _ in range(count))))


async def wait_known(url: str, users: Sequence[User], recorder: Recorder, timeout: float) -> None:
    """Until notify has every user's address and their welcome emails arrived (nothing left in flight)."""
    ids = [user.id for user in users]
    connection = await asyncpg.connect(plain_url(url))
    try:
        deadline = time.monotonic() + timeout
        while True:
            known = await connection.fetchval("SELECT count(*) FROM recipients WHERE user_id = ANY($1::text[])", ids)
            busy = await connection.fetchval(
                "SELECT count(*) FROM notifications WHERE status IN ('PENDING', 'QUEUED', 'SENDING')"
            )
            if known == len(ids) and busy == 0 and len(recorder.snapshot()) >= len(ids):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"notify knows {known} of {len(ids)} users, {busy} emails in flight")
            await asyncio.sleep(0.2)
    finally:
        await connection.close()


@dataclass
class Sent:
    event_id: str
    token: str
    at: float  # wall clock, as occurred_at


async def publish(redis: Redis, users: Sequence[User], rate: float, seconds: float) -> list[Sent]:
    """PasswordResetRequested envelopes on events.auth, one every 1/rate s on an absolute schedule."""
    stream = stream_for("auth")
    total = int(rate * seconds)
    sent: list[Sent] = []
    loop = asyncio.get_running_loop()
    start = loop.time()
    for index in range(total):
        delay = start + index / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        user = users[index % len(users)]
        token = secrets.token_hex(16)
        now = datetime.now(UTC)
        payload = events_pb2.PasswordResetRequested(user_id=user.id, email=user.email, reset_token=token)
        payload.expires_at.FromDatetime(now + timedelta(hours=1))
        envelope = make_envelope("auth", user.id, payload, occurred_at=now)
        await redis.xadd(stream, {"envelope": envelope.SerializeToString()})
        sent.append(Sent(envelope.id, token, now.timestamp()))
    return sent


async def wait_received(recorder: Recorder, expected: int, base: int, timeout: float) -> float:
    """Until `expected` messages came after the first `base` (or `timeout`); returns when (monotonic)."""
    arrived = asyncio.Event()
    recorder.arrival = (asyncio.get_running_loop(), arrived)
    deadline = time.monotonic() + timeout
    try:
        while True:
            arrived.clear()  # before counting: an arrival after the count sets it again
            remaining = deadline - time.monotonic()
            if len(recorder.snapshot()) - base >= expected or remaining <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(arrived.wait(), min(remaining, 1.0))
    finally:
        recorder.arrival = None
    return time.monotonic()


async def stages(url: str, event_ids: Sequence[str]) -> dict[str, tuple[float, float, float | None]]:
    """event id -> (record created_at, enqueued_at, sent_at) as epoch seconds, from notify's records."""
    connection = await asyncpg.connect(plain_url(url))
    try:
        rows = await connection.fetch(
            "SELECT event_id, created_at, enqueued_at, sent_at FROM notifications WHERE event_id = ANY($1::text[])",
            list(event_ids),
        )
        return {
            row["event_id"]: (
                row["created_at"].timestamp(),
                row["enqueued_at"].timestamp() if row["enqueued_at"] else float("nan"),
                row["sent_at"].timestamp() if row["sent_at"] else None,
            )
            for row in rows
        }
    finally:
        await connection.close()


async def statuses(url: str) -> dict[str, int]:
    connection = await asyncpg.connect(plain_url(url))
    try:
        rows = await connection.fetch(
            "SELECT status, count(*) AS n FROM notifications WHERE kind = 'password_reset' GROUP BY 1"
        )
        return {str(row["status"]): int(row["n"]) for row in rows}
    finally:
        await connection.close()


# --- the run ------------------------------------------------------------------------------------------------------


@dataclass
class Result:
    rate: float
    seconds: float
    users: int
    sent: int
    publish_seconds: float
    latencies_ms: list[float]
    received: int  # password reset emails received
    matched: int  # distinct events whose email arrived
    doubled: int  # copies beyond the first
    unknown: int  # reset emails whose token was not sent
    stage_ms: dict[str, list[float]]
    cpu: dict[str, float]  # CPU seconds from the first event to the last email
    window_seconds: float
    statuses: dict[str, int]
    load_before: str
    load_after: str
    failures: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return self.sent - self.matched

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.doubled == 0 and self.unknown == 0


async def run(args: argparse.Namespace) -> Result:
    suffix = uuid.uuid4().hex[:8]
    recorder = Recorder()
    sink = start_mail_sink(Path(tempfile.gettempdir()), host="127.0.0.1", handler=recorder)
    settings = {
        # A queue and a consumer group of this run's own (created at the streams' ends by `own_queue`): a Redis
        # of the environment's may hold an earlier run's jobs and events.
        "NOTIFY_QUEUE_NAME": f"notify:bench:{suffix}",
        "NOTIFY_EVENTS_GROUP": f"notify-bench-{suffix}",
        "NOTIFY_PASSWORD_RESET_URL": RESET_URL,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(sink.port),
        "SMTP_TLS": "none",
        # The sink takes anyone: no login (empty is unset).
        "SMTP_USERNAME": "",
        "SMTP_PASSWORD": "",
    }
    try:
        async with stack(
            SERVICES, log_prefix="notify-bench", start_timeout=args.start_timeout, settings=settings, prepare=own_queue
        ) as running:
            redis = Redis.from_url(running.infra.redis_url)
            try:
                return await measure(args, running, redis, recorder)
            finally:
                await redis.aclose()
    finally:
        sink.stop()


@contextlib.asynccontextmanager
async def own_queue(infra: launcher.Infrastructure, environ: Mapping[str, str]) -> AsyncIterator[None]:
    """notify's consumer group on each stream it reads, made at the stream's end before notify starts (so it
    reads none of an earlier run's events); the group and the run's Arq queue removed once notify stopped."""
    group = environ["NOTIFY_EVENTS_GROUP"]
    redis = Redis.from_url(infra.redis_url)
    try:
        for source in ("auth", "order", "payment"):
            with contextlib.suppress(Exception):
                await redis.xgroup_create(stream_for(source), group, id="$", mkstream=True)
        yield
    finally:
        await redis.delete(environ["NOTIFY_QUEUE_NAME"])
        for source in ("auth", "order", "payment"):
            with contextlib.suppress(Exception):
                await redis.xgroup_destroy(stream_for(source), group)
        await redis.aclose()


async def measure(args: argparse.Namespace, running: Stack, redis: Redis, recorder: Recorder) -> Result:
    addresses, urls, infra, processes = running.addresses, running.urls, running.infra, running.services.processes
    users = await register_users(addresses["auth"], args.users)
    await wait_known(urls["notify"], users, recorder, timeout=120)
    print(f"{len(users)} users registered, known to notify, welcome emails received", flush=True)
    watched = [Watched("notify", processes["notify"].pid), Watched("notify worker", processes["notify-worker"].pid)]
    if infra.postgres is not None:
        watched.append(Watched("postgres", int(infra.postgres.get_pid()), tree=True))
    if infra.valkey is not None:
        watched.append(Watched("valkey", valkey_pid(infra)))
    watched.append(Watched("bench (publisher, sink)", os.getpid()))
    await asyncio.sleep(1.0)

    base = len(recorder.snapshot())
    load_before = load_average()
    before = [process.sample() for process in watched]
    started = time.monotonic()
    sent = await publish(redis, users, args.rate, args.seconds)
    publish_seconds = time.monotonic() - started
    done = await wait_received(recorder, len(sent), base, args.drain_timeout)
    after = [process.sample() for process in watched]
    load_after = load_average()
    window = done - started
    await asyncio.sleep(2.0)  # copies sent twice would come now
    cpu = {process.name: Watched.used(b, a) for process, b, a in zip(watched, before, after, strict=True)}

    by_token = {item.token: item for item in sent}
    mails = [parse(arrived, raw) for arrived, raw in recorder.snapshot()[base:]]
    resets = [mail for mail in mails if mail.subject == RESET_SUBJECT]
    first: dict[str, float] = {}
    doubled = unknown = 0
    for mail in sorted(resets, key=lambda mail: mail.arrived):
        if mail.token not in by_token:
            unknown += 1
        elif mail.token in first:
            doubled += 1
        else:
            first[mail.token] = mail.arrived
    latencies = [(first[token] - item.at) * 1000 for token, item in by_token.items() if token in first]
    records = await stages(urls["notify"], [item.event_id for item in sent])
    stage_ms: dict[str, list[float]] = {"event → record": [], "record → handed to Arq": [], "handed → received": []}
    for item in sent:
        if item.event_id not in records or item.token not in first:
            continue
        created, enqueued, _sent_at = records[item.event_id]
        stage_ms["event → record"].append((created - item.at) * 1000)
        stage_ms["record → handed to Arq"].append((enqueued - created) * 1000)
        stage_ms["handed → received"].append((first[item.token] - enqueued) * 1000)
    return Result(
        rate=args.rate,
        seconds=args.seconds,
        users=len(users),
        sent=len(sent),
        publish_seconds=publish_seconds,
        latencies_ms=latencies,
        received=len(resets),
        matched=len(first),
        doubled=doubled,
        unknown=unknown,
        stage_ms=stage_ms,
        cpu=cpu,
        window_seconds=window,
        statuses=await statuses(urls["notify"]),
        load_before=load_before,
        load_after=load_after,
        failures=[f"{len(mails) - len(resets)} other emails in the window"] if len(mails) != len(resets) else [],
    )


def report(result: Result) -> str:
    values = result.latencies_ms
    lines = [
        f"{result.sent} PasswordResetRequested events at {result.rate:g}/s for {result.seconds:g} s "
        f"(published in {result.publish_seconds:.2f} s) to {result.users} users, {os.cpu_count()} cores, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average before {result.load_before}, after "
        f"{result.load_after}",
        "",
        f"emails received: {result.received} for {result.sent} events: {result.matched} events emailed, "
        f"{result.lost} lost, {result.doubled} doubled, {result.unknown} unknown; records by status "
        f"{result.statuses}",
        f"event (occurred_at) → email received by SMTP, ms: p50 {percentile(values, 0.5):.1f}, "
        f"p95 {percentile(values, 0.95):.1f}, p99 {percentile(values, 0.99):.1f}, "
        f"max {max(values, default=float('nan')):.1f} (target p99 ≤ {TARGET_P99_MS:.0f} ms)",
        "",
        "| stage | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, found in result.stage_ms.items():
        lines.append(
            f"| {name} | {percentile(found, 0.5):.1f} | {percentile(found, 0.95):.1f} | "
            f"{percentile(found, 0.99):.1f} | {max(found, default=float('nan')):.1f} |"
        )
    lines += [
        "",
        f"CPU from the first event to the last email ({result.window_seconds:.1f} s):",
        "",
        "| process | CPU s | CPU ms per email | cores busy |",
        "|---|---:|---:|---:|",
    ]
    for name, seconds in result.cpu.items():
        per = 1000 * seconds / result.matched if result.matched else float("nan")
        lines.append(f"| {name} | {seconds:.2f} | {per:.2f} | {seconds / result.window_seconds:.2f} |")
    lines += result.failures
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.notify", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=100.0, help="events per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long events are published (at most 120)")
    parser.add_argument("--users", type=int, default=100, help="users registered first (the events go round them)")
    parser.add_argument("--drain-timeout", type=float, default=60.0, help="seconds to wait for the last emails")
    parser.add_argument("--start-timeout", type=float, default=300.0, help="seconds for a service to serve")
    args = parser.parse_args(argv)
    args.seconds = min(args.seconds, 120.0)
    args.rate = min(max(args.rate, 0.1), 2000.0)
    args.users = min(max(args.users, 1), 2000)
    args.drain_timeout = min(args.drain_timeout, 300.0)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    import uvloop

    result = uvloop.run(run(args))
    print()
    print(report(result))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
