"""Delivery through the real Arq worker and SMTP sink: the mail server down then back, refusals, idempotent jobs,
a worker SIGKILLed mid-send (the guarantee: sent again at most once, with the same Message-ID), and a poison
event in the dead-letter stream."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import uuid
from typing import Any

import pytest
from arq.worker import Retry

from marketplace.auth.v1 import auth_pb2
from marketplace.events.v1 import envelope_pb2
from services.kit import db
from services.kit.bus import ENVELOPE_FIELD
from services.kit.ids import new_id
from services.kit.outbox import dead_letter_stream, stream_for
from services.kit.settings import REPO_ROOT
from services.notify.handlers.deps import Deps
from services.notify.queue import JOB_NAME, send_email
from services.notify.settings import NotifySettings
from services.notify.wiring import arq_redis, deps_of, mailer_of
from tests.notify.conftest import Notify, StartNotify, in_process_worker
from tests.notify.mail import one_mail
from tests.support.auth import PASSWORD, Auth, StartAuth
from tests.support.polling import eventually


async def register(auth: Auth) -> tuple[str, str]:
    """A new user's (id, email)."""
    name = "u" + uuid.uuid4().hex[:12]
    response = await auth.stub.Register(
        auth_pb2.RegisterRequest(email=f"{name}@example.com", username=name, password=PASSWORD)
    )
    return str(response.user.id), f"{name}@example.com"


async def record(notify: Notify, user_id: str) -> Any:
    rows = await notify.records(user_id)
    return rows[0] if rows else None


async def test_mail_server_down_retries_then_delivers_when_it_returns(
    start_auth: StartAuth, start_notify: StartNotify
) -> None:
    auth = await start_auth()
    notify = await start_notify(auth.running.address, notify_max_attempts=30)
    notify.mail.stop()
    user_id, email = await register(auth)

    async def retried() -> bool:
        row = await record(notify, user_id)
        return row is not None and row.attempts >= 2 and row.status == "QUEUED"

    await eventually(retried, timeout=10, message="the send was not retried")
    row = await record(notify, user_id)
    assert row.status_reason.startswith("SMTP server unavailable"), row.status_reason
    assert notify.mail.mails() == []

    notify.mail.start()
    await one_mail(notify, email)
    row = await record(notify, user_id)
    assert (row.status, row.status_reason) == ("SENT", "")
    assert row.attempts >= 3


async def test_a_refusal_fails_at_once_and_a_deferral_fails_after_the_last_try(
    start_auth: StartAuth, start_notify: StartNotify
) -> None:
    auth = await start_auth()
    notify = await start_notify(auth.running.address, notify_max_attempts=3)
    notify.mail.sink.refuse = "550 5.1.1 mailbox unavailable"
    refused_id, _ = await register(auth)

    async def failed(user_id: str) -> bool:
        row = await record(notify, user_id)
        return row is not None and row.status == "FAILED"

    await eventually(lambda: failed(refused_id), timeout=10, message="a refused email not FAILED")
    row = await record(notify, refused_id)
    assert row.attempts == 1
    assert "550" in row.status_reason

    notify.mail.sink.refuse = "451 4.3.0 try again later"
    deferred_id, _ = await register(auth)
    await eventually(lambda: failed(deferred_id), timeout=15, message="a deferred email not FAILED after 3 tries")
    row = await record(notify, deferred_id)
    assert row.attempts == 3
    assert "451" in row.status_reason
    assert notify.mail.mails() == []


async def test_a_job_run_again_or_enqueued_twice_sends_once(start_auth: StartAuth, start_notify: StartNotify) -> None:
    auth = await start_auth()
    notify = await start_notify(auth.running.address)
    user_id, email = await register(auth)
    await one_mail(notify, email)
    ((notification_id,),) = await notify.sql("SELECT id FROM notifications WHERE user_id = :id", id=user_id)

    # The same job again (a retry after a lost acknowledgement): the record says SENT, nothing is sent.
    settings = notify.settings
    sessions = notify.running.runtime.sessions
    assert sessions is not None
    ctx = {"deps": deps_of(settings, sessions), "mailer": mailer_of(settings), "job_try": 2}
    assert await send_email(ctx, notification_id) == "SENT"
    # And Arq refuses a second job with the record's id while it holds the first one's result.
    arq = arq_redis(settings)
    try:
        assert await arq.enqueue_job(JOB_NAME, notification_id, _job_id=notification_id) is None
    finally:
        await arq.aclose(close_connection_pool=True)
    assert len(notify.mail.mails_to(email)) == 1


def worker_environment(settings: NotifySettings) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SMTP_", "NOTIFY_"))}
    for name, value in settings.model_dump().items():
        env[name.upper()] = str(value)
    env["NOTIFY_DATABASE_URL"] = settings.service_database_url
    env.pop("MESH_SUPERVISOR_PID", None)
    return env


async def test_a_worker_killed_mid_send_sends_again_at_most_once(
    start_auth: StartAuth, start_notify: StartNotify
) -> None:
    auth = await start_auth()
    notify = await start_notify(auth.running.address, worker=False, notify_job_timeout_seconds=1.0)
    hold = threading.Event()
    notify.mail.sink.hold = hold
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.notify", "worker", env=worker_environment(notify.settings), cwd=REPO_ROOT
    )
    try:
        user_id, email = await register(auth)
        # The sink has the message and holds its reply back: the worker is mid-send.
        assert await asyncio.to_thread(notify.mail.sink.holding.wait, 15), "the worker never sent"
        row = await record(notify, user_id)
        assert (row.status, row.attempts) == ("SENDING", 1)
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
    hold.set()
    notify.mail.sink.hold = None

    # Arq runs the killed worker's job again after its timeout + 10 s; the lease has run out by then.
    async with in_process_worker(notify.settings):

        async def sent() -> bool:
            found = await record(notify, user_id)
            return found is not None and found.status == "SENT"

        await eventually(sent, timeout=25, interval=0.2, message="the killed worker's email was never sent")
    row = await record(notify, user_id)
    assert row.attempts == 2
    copies = notify.mail.mails_to(email)
    # The server had accepted the first copy when the worker died: one more copy, recognisably the same.
    assert len(copies) == 2
    assert copies[0]["Message-ID"] == copies[1]["Message-ID"]


async def test_a_poison_event_goes_to_the_dead_letter_stream(start_auth: StartAuth, start_notify: StartNotify) -> None:
    auth = await start_auth()
    notify = await start_notify(auth.running.address)
    envelope = envelope_pb2.Envelope(id=new_id(), type="marketplace.events.v1.UserRegistered", source="auth")
    envelope.payload.type_url = "type.googleapis.com/marketplace.events.v1.UserRegistered"
    envelope.payload.value = b"\xff\xff\xff\xff"  # not a UserRegistered
    await notify.redis.xadd(stream_for("auth"), {ENVELOPE_FIELD: envelope.SerializeToString()})

    async def dead_lettered() -> bool:
        entries = await notify.redis.xrange(dead_letter_stream(stream_for("auth")))
        return any(
            fields[b"group"] == notify.settings.notify_events_group.encode()
            and envelope_pb2.Envelope.FromString(fields[b"envelope"]).id == envelope.id
            for _id, fields in entries
        )

    await eventually(dead_lettered, timeout=10, message="the poison event was not dead-lettered")
    assert await notify.sql("SELECT * FROM inbox WHERE event_id = :id", id=envelope.id) == []
    # The consumer goes on with the next events.
    _user_id, email = await register(auth)
    await one_mail(notify, email)


async def test_a_record_whose_job_was_lost_is_handed_to_the_queue_again(
    start_auth: StartAuth, start_notify: StartNotify
) -> None:
    auth = await start_auth()
    notify = await start_notify(auth.running.address, worker=False, notify_requeue_after_seconds=1.0)
    user_id, email = await register(auth)

    async def queued() -> bool:
        row = await record(notify, user_id)
        return row is not None and row.status == "QUEUED"

    await eventually(queued, message="the record was not handed to the queue")
    # Redis loses the job (a restart without persistence, say): the queue is empty, the record still QUEUED.
    await notify.redis.delete(notify.settings.notify_queue_name)
    await notify.redis.delete(*[key async for key in notify.redis.scan_iter("arq:job:*")])
    async with in_process_worker(notify.settings):
        await one_mail(notify, email, timeout=15)
    row = await record(notify, user_id)
    assert (row.status, row.attempts) == ("SENT", 1)


async def test_a_job_that_cannot_reach_its_database_is_retried_by_arq() -> None:
    engine = db.create_engine("postgresql+asyncpg://notify@127.0.0.1:1/nowhere", pool_pre_ping=False)
    try:
        deps = Deps(sessions=db.session_factory(engine))
        with pytest.raises(Retry) as retried:
            await send_email({"deps": deps, "mailer": None, "job_try": 3}, new_id())
        assert retried.value.defer_score == 8000  # 2 s base, third try: 8 s
    finally:
        await engine.dispose()
