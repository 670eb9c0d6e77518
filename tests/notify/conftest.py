"""The real notify service and its email worker (in this process, or as a process of its own), a real SMTP sink
(aiosmtpd) that can refuse or stall, and the other services whose events notify reads."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import grpc
import pytest
from redis.asyncio import Redis

from marketplace.notify.v1 import notify_pb2_grpc
from services.kit.outbox import stream_for
from services.kit.server import RunningService
from services.notify.mail_sink import MailDirectory, start_mail_sink
from services.notify.mailbox import messages
from services.notify.service import DEFINITION
from services.notify.settings import NotifySettings
from services.notify.worker import run_worker
from tests.checkout.conftest import start_auth, start_cart, start_catalog, start_checkout, start_order
from tests.support.auth import service_secret
from tests.support.serving import migrate_service, serving, settings_under_test
from tests.support.sql import run_sql

__all__ = [
    "start_auth",
    "start_cart",
    "start_catalog",
    "start_checkout",
    "start_order",
]


class Sink(MailDirectory):
    """The mail sink with switches: `refuse` answers every message with that reply (e.g. "451 try later"),
    `hold` (when set) keeps the DATA reply back, after storing, until it is released."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.refuse = ""
        self.hold: threading.Event | None = None
        self.holding = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return self.refuse
        reply = await super().handle_DATA(server, session, envelope)
        if self.hold is not None:
            self.holding.set()
            hold = self.hold
            await asyncio.get_running_loop().run_in_executor(None, hold.wait, 30)
        return reply


@dataclass
class MailServer:
    sink: Sink
    host: str
    port: int
    controller: Any = None

    def start(self) -> None:
        self.controller = start_mail_sink(self.sink.directory, host=self.host, port=self.port, handler=self.sink)

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def mails(self) -> list[EmailMessage]:
        return [message for _path, message in messages(self.sink.directory)]

    def mails_to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.mails() if address in str(message["To"])]


@pytest.fixture
def mail_server(tmp_path: Path) -> Any:
    sink = Sink(tmp_path / "mail")
    server = MailServer(sink, "127.0.0.1", 0)
    server.start()
    server.port = server.controller.port
    yield server
    if sink.hold is not None:
        sink.hold.set()
    server.stop()


@dataclass
class Notify:
    running: RunningService
    channel: grpc.aio.Channel
    stub: notify_pb2_grpc.NotifyServiceStub
    settings: NotifySettings
    mail: MailServer
    workers: list[asyncio.Task[None]] = field(default_factory=list)

    async def sql(self, statement: str, **params: Any) -> list[Any]:
        return await run_sql(self.running.runtime.sessions, statement, **params)

    async def records(self, user_id: str) -> list[Any]:
        return await self.sql(
            "SELECT kind, status, status_reason, attempts, subject, to_address, data FROM notifications"
            " WHERE user_id = :user_id ORDER BY created_at",
            user_id=user_id,
        )

    @property
    def redis(self) -> Redis:
        redis = self.running.runtime.redis
        assert isinstance(redis, Redis)
        return redis


def notify_settings(
    infra: Any, url: str, auth_target: str, mail: MailServer, group: str, **overrides: Any
) -> NotifySettings:
    values: dict[str, Any] = {
        "auth_target": auth_target,
        "service_client_secret": service_secret("notify"),
        "smtp_host": mail.host,
        "smtp_port": mail.port,
        "smtp_timeout_seconds": 2.0,
        "notify_queue_name": f"notify:test:{uuid.uuid4().hex[:8]}",
        "notify_events_group": group,
        "notify_job_timeout_seconds": 3.0,
        "notify_retry_base_seconds": 0.2,
        "notify_retry_max_seconds": 1.0,
        "notify_claim_idle_seconds": 0.3,
        "notify_max_deliveries": 2,
        "notify_password_reset_url": "http://shop.test/reset?token=",
    }
    return settings_under_test(NotifySettings, infra.database_url, infra.redis_url, url, **(values | overrides))


StartNotify = Callable[..., Awaitable[Notify]]


@asynccontextmanager
async def in_process_worker(settings: NotifySettings) -> AsyncIterator[asyncio.Task[None]]:
    stop = asyncio.Event()
    task = asyncio.ensure_future(run_worker(settings, stop, grace=1.0))
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


@pytest.fixture
async def start_notify(infra: Any, fresh_database: Any, mail_server: MailServer) -> AsyncIterator[StartNotify]:
    """`notify = await start_notify(auth_target, worker=True, **settings)`: notify reading the real streams
    (a group of its own, from the streams' ends, so earlier tests' events stay out), and its worker."""
    async with AsyncExitStack() as stack:

        async def start(auth_target: str, *, worker: bool = True, **overrides: Any) -> Notify:
            url = await fresh_database("notify")
            await migrate_service(DEFINITION, url)
            group = f"notify-{uuid.uuid4().hex[:8]}"
            redis = Redis.from_url(infra.redis_url)
            try:
                for source in ("auth", "order", "payment"):
                    await redis.xgroup_create(stream_for(source), group, id="$", mkstream=True)
            finally:
                await redis.aclose()
            settings = notify_settings(infra, url, auth_target, mail_server, group, **overrides)
            running, channel = await stack.enter_async_context(serving(DEFINITION, settings))
            notify = Notify(running, channel, notify_pb2_grpc.NotifyServiceStub(channel), settings, mail_server)
            if worker:
                notify.workers.append(await stack.enter_async_context(in_process_worker(settings)))
            return notify

        yield start
