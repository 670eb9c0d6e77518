"""Notify settings from the environment (see `.env.example`)."""

from __future__ import annotations

from typing import ClassVar

from services.kit.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    """The kit's service settings, and these."""

    service: ClassVar[str] = "notify"

    # The SMTP server emails go to. The launcher points these at its local mail sink unless SMTP_HOST is set.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525
    # Login (both empty: no AUTH), and TLS: "none", "starttls" (upgrade a plain connection) or "tls" (implicit).
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_tls: str = "none"
    # The deadline of one SMTP conversation.
    smtp_timeout_seconds: float = 10.0
    # The sender of every email.
    notify_mail_from: str = "Marketplace <no-reply@marketplace.local>"
    # Where a password reset email sends the user: the storefront's reset page (a hash route, so the token stays
    # in the browser and is never sent to the edge); the token is appended (URL-encoded).
    notify_password_reset_url: str = "http://127.0.0.1:8080/#/reset-password?token="

    # The Arq queue of email jobs (Redis: REDIS_URL).
    notify_queue_name: str = "notify:email"
    # A job running longer is cancelled; a killed worker's job runs again after this plus 10 s (Arq).
    notify_job_timeout_seconds: float = 20.0
    # Emails one worker process sends at a time (Arq's max_jobs), each on an SMTP connection kept between
    # emails (at most this many kept open).
    notify_worker_concurrency: int = 20
    # Sends tried per email before it is FAILED (temporary SMTP failures), and the delay before each retry:
    # base * 2^(try - 1), at most max.
    notify_max_attempts: int = 5
    notify_retry_base_seconds: float = 2.0
    notify_retry_max_seconds: float = 60.0
    # A record still not SENT this long after it was handed to Arq is handed over again (its job was lost).
    notify_requeue_after_seconds: float = 300.0
    # Events older than this when notify handles them are recorded but not emailed (a backlog read at first
    # start, say): nobody wants last month's welcome.
    notify_max_event_age_seconds: float = 86400.0

    # The streams notify consumes (one group, `notify`, on each), and how a failing event is retried.
    notify_events_group: str = "notify"
    notify_claim_idle_seconds: float = 30.0
    notify_max_deliveries: int = 5
