"""The email queue: the relay that hands PENDING records to Arq, and the Arq worker that runs the email jobs.

No job without a record: a record is written in the consumer's transaction and the relay enqueues it afterwards,
with the record's id as the Arq job id (a double enqueue is refused by Arq), and marks it QUEUED. No record
without a job: the relay hands over every PENDING record (woken by the commit's notification, with a fallback
pass), and again any record still not done `requeue_after` after it was enqueued (a job Redis lost).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from arq.connections import ArqRedis
from arq.worker import Retry, Worker, func
from sqlalchemy.ext.asyncio import AsyncEngine

from services.kit.loops import Backoff, wait_for_stop
from services.kit.outbox import OutboxListener
from services.notify import store
from services.notify.domain import retry_delay
from services.notify.handlers import delivery
from services.notify.handlers.deps import Deps
from services.notify.mailer import Mailer

log = logging.getLogger(__name__)

JOB_NAME = "send_email"


class EmailRelay:
    def __init__(
        self,
        deps: Deps,
        engine: AsyncEngine,
        arq: ArqRedis,
        *,
        queue_name: str,
        requeue_after: timedelta,
        batch_size: int = 100,
        idle_interval: float = 5.0,
        poll_interval: float = 0.2,
    ) -> None:
        self._deps = deps
        self._arq = arq
        self._queue_name = queue_name
        self._requeue_after = requeue_after
        self._batch_size = batch_size
        self._idle_interval = idle_interval
        self._poll_interval = poll_interval
        self._connect_args = dict(engine.dialect.create_connect_args(engine.url)[1])

    async def run(self, stop: asyncio.Event) -> None:
        wake = asyncio.Event()
        listener = OutboxListener(self._connect_args, wake)
        backoff = Backoff(self._poll_interval)
        try:
            while not stop.is_set():
                listening = await listener.connected()
                wake.clear()
                try:
                    handed = await self.hand_over()
                except Exception:
                    log.exception("email relay failed; retrying in %.1f s", backoff.delay)
                    await backoff.wait(stop)
                    continue
                backoff.reset()
                if handed < self._batch_size:
                    # Lost jobs are looked for on every pass: pass at least as often as they can become due.
                    idle = min(self._idle_interval, self._requeue_after.total_seconds())
                    await wait_for_stop(stop, idle if listening else self._poll_interval, wake=wake)
        finally:
            await listener.close()

    async def hand_over(self) -> int:
        """Enqueues one batch of records due for the queue; returns how many."""
        async with self._deps.uow() as uow:
            now = self._deps.clock()
            due = await store.due_for_queue(uow.session, lost_before=now - self._requeue_after, limit=self._batch_size)
            for notification in due:
                # None when Arq still holds the job (or its result): handed over already, which is fine.
                await self._arq.enqueue_job(
                    JOB_NAME, notification.id, _job_id=notification.id, _queue_name=self._queue_name
                )
                notification.queued(now)
                await store.save_notification(uow.session, notification)
            await uow.commit()
        return len(due)


async def send_email(ctx: dict[str, Any], notification_id: str) -> str:
    """The Arq job: one notification's email (see `handlers.delivery`)."""
    deps: Deps = ctx["deps"]
    mailer: Mailer = ctx["mailer"]
    try:
        outcome = await delivery.deliver(deps, mailer, notification_id, attempt=int(ctx.get("job_try", 1)))
    except delivery.RetryLater as later:
        log.warning("email %s not sent (%s); trying again in %.1f s", notification_id, later, later.delay)
        raise Retry(defer=later.delay) from later
    except Exception as error:
        # The database (or anything else notify needs) failed: Arq tries again, up to its own limit; past it,
        # the relay hands the record over again once it is overdue.
        delay = retry_delay(
            int(ctx.get("job_try", 1)), base=deps.policy.retry_base_seconds, maximum=deps.policy.retry_max_seconds
        )
        log.exception("email %s failed; trying again in %.1f s", notification_id, delay)
        raise Retry(defer=delay) from error
    return outcome.status


def make_worker(
    deps: Deps,
    mailer: Mailer,
    arq: ArqRedis,
    *,
    queue_name: str,
    job_timeout: float,
    max_attempts: int,
    handle_signals: bool,
    concurrency: int = 20,
    poll_delay: float = 0.1,
) -> Worker:
    """An Arq worker for the email jobs. Arq's own try limit is set above notify's, which records the last
    temporary failure as FAILED itself (a job Arq gave up on would leave its record QUEUED)."""
    return Worker(
        functions=[func(send_email, name=JOB_NAME, timeout=job_timeout, max_tries=max_attempts + 5)],
        queue_name=queue_name,
        redis_pool=arq,
        job_timeout=job_timeout,
        keep_result=60,
        max_jobs=concurrency,
        poll_delay=poll_delay,
        handle_signals=handle_signals,
        ctx={"deps": deps, "mailer": mailer},
        log_results=False,
    )
