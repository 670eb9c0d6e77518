"""What the notify server and its email worker are built from, from the settings."""

from __future__ import annotations

from datetime import timedelta

from arq.connections import ArqRedis
from redis.asyncio import ConnectionPool
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notify.directory import Directory
from services.notify.handlers.deps import Deps, Policy
from services.notify.mailer import SmtpConfig, SmtpMailer
from services.notify.settings import NotifySettings


def policy_of(settings: NotifySettings) -> Policy:
    return Policy(
        password_reset_url=settings.notify_password_reset_url,
        max_event_age=timedelta(seconds=settings.notify_max_event_age_seconds),
        # Arq runs a killed worker's job again after job_timeout + 10 s: by then the lease has run out.
        lease=timedelta(seconds=settings.notify_job_timeout_seconds + 5),
        max_attempts=settings.notify_max_attempts,
        retry_base_seconds=settings.notify_retry_base_seconds,
        retry_max_seconds=settings.notify_retry_max_seconds,
    )


def deps_of(
    settings: NotifySettings, sessions: async_sessionmaker[AsyncSession], directory: Directory | None = None
) -> Deps:
    return Deps(sessions=sessions, policy=policy_of(settings), directory=directory)


def mailer_of(settings: NotifySettings) -> SmtpMailer:
    return SmtpMailer(
        SmtpConfig(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.notify_mail_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            tls=settings.smtp_tls,
            timeout=settings.smtp_timeout_seconds,
        ),
        max_idle=settings.notify_worker_concurrency,
    )


def arq_redis(settings: NotifySettings) -> ArqRedis:
    pool = ConnectionPool.from_url(settings.redis_url, socket_connect_timeout=2)
    return ArqRedis(pool, default_queue_name=settings.notify_queue_name)
