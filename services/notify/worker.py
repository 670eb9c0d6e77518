"""`python -m services.notify worker`: the Arq worker that sends the emails, a process of its own."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal

from arq.worker import Worker

from services.kit import db
from services.kit.server import _watch_supervisor
from services.kit.settings import SUPERVISOR_PID_ENV
from services.notify.queue import make_worker
from services.notify.settings import NotifySettings
from services.notify.wiring import arq_redis, deps_of, mailer_of

log = logging.getLogger(__name__)


async def run_worker(settings: NotifySettings, stop: asyncio.Event, *, grace: float | None = None) -> None:
    """Runs email jobs until `stop` is set; then lets running jobs finish for `grace` seconds (default: the
    drain grace) and cancels the rest (their records stay SENDING under a lease, for the next try)."""
    engine = db.create_engine(
        settings.service_database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )
    arq = arq_redis(settings)
    mailer = mailer_of(settings)
    worker = make_worker(
        deps_of(settings, db.session_factory(engine)),
        mailer,
        arq,
        queue_name=settings.notify_queue_name,
        job_timeout=settings.notify_job_timeout_seconds,
        max_attempts=settings.notify_max_attempts,
        handle_signals=False,
        concurrency=settings.notify_worker_concurrency,
    )
    running = asyncio.ensure_future(worker.async_run())
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if running.done():
            running.result()  # the worker failed on its own: say why
        worker.allow_pick_jobs = False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_jobs_done(worker), settings.drain_grace_seconds if grace is None else grace)
    finally:
        stopping.cancel()
        await worker.close()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await mailer.close()
        await engine.dispose()


async def _jobs_done(worker: Worker) -> None:
    running = [task for task in worker.tasks.values() if not task.done()]
    if running:
        await asyncio.wait(running)


async def serve_worker(settings: NotifySettings) -> None:
    """The worker's process: until SIGTERM/SIGINT, or until the launcher that started it is gone."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    supervisor = os.environ.get(SUPERVISOR_PID_ENV, "")
    watchdog = asyncio.ensure_future(_watch_supervisor(int(supervisor), stop)) if supervisor.isdigit() else None
    log.info("notify email worker started", extra={"fields": {"queue": settings.notify_queue_name}})
    try:
        await run_worker(settings, stop)
    finally:
        if watchdog is not None:
            watchdog.cancel()


def main() -> None:
    import uvloop

    from services.kit.logs import configure_logging

    settings = NotifySettings.load()
    assert isinstance(settings, NotifySettings)
    configure_logging(settings.log_level, settings.log_format)
    uvloop.run(serve_worker(settings))
