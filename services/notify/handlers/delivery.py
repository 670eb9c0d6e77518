"""The email job's use case: send one notification's email, once it is the worker's to send.

The record is locked and marked SENDING (committed) before the SMTP conversation and SENT after it. A try that
finds the record final does nothing, so a job run twice (a double enqueue, a retry) never sends twice; a try that
finds it SENDING under another worker's lease waits for that lease. See `services.notify.domain` for what a
worker killed mid-send means.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from services.notify import store, templates
from services.notify.domain import Notification, retry_delay
from services.notify.handlers.deps import Deps
from services.notify.mailer import Email, Mailer, PermanentSendFailure, TemporarySendFailure

log = logging.getLogger(__name__)


class RetryLater(Exception):
    """The email was not sent this time; the job should run again after `delay` seconds."""

    def __init__(self, delay: float, reason: str) -> None:
        super().__init__(reason)
        self.delay = delay


@dataclass(frozen=True)
class Outcome:
    status: str
    sent_now: bool


async def deliver(deps: Deps, mailer: Mailer, notification_id: str, *, attempt: int) -> Outcome:
    """Sends the notification's email unless it is done; raises RetryLater after a temporary failure. The record
    counts the sends tried (whichever job made them, `attempt` being only this job's try): the
    `Policy.max_attempts`-th temporary failure is FAILED."""
    policy = deps.policy
    async with deps.uow() as uow:
        notification = await store.get_notification(uow.session, notification_id, for_update=True)
        if notification is None:
            log.warning("no notification %s: job dropped", notification_id)
            return Outcome("", sent_now=False)
        if notification.final:
            return Outcome(notification.status, sent_now=False)
        now = deps.clock()
        if (busy := notification.busy_until(now)) is not None:
            raise RetryLater((busy - now).total_seconds() + 0.1, "another worker holds it")
        try:
            email = email_of(notification)
        except (KeyError, ValueError, OSError) as error:
            # A template that does not fit its record (or is missing) would fail every try alike.
            notification.failed(f"cannot render the {notification.kind} email: {error!r}")
            await store.save_notification(uow.session, notification)
            await uow.commit()
            return Outcome(notification.status, sent_now=False)
        notification.start_sending(now, policy.lease)
        await store.save_notification(uow.session, notification)
        await uow.commit()

    try:
        await mailer.send(email)
    except TemporarySendFailure as error:
        tried = max(attempt, notification.attempts)
        last = tried >= policy.max_attempts
        await _settle(deps, notification_id, error=str(error), final=last)
        if last:
            return Outcome("FAILED", sent_now=False)
        raise RetryLater(
            retry_delay(tried, base=policy.retry_base_seconds, maximum=policy.retry_max_seconds), str(error)
        ) from error
    except PermanentSendFailure as error:
        await _settle(deps, notification_id, error=str(error), final=True)
        return Outcome("FAILED", sent_now=False)
    async with deps.uow() as uow:
        stored = await store.get_notification(uow.session, notification_id, for_update=True)
        if stored is not None:
            stored.sent(deps.clock())
            await store.save_notification(uow.session, stored)
            await uow.commit()
    return Outcome("SENT", sent_now=True)


async def _settle(deps: Deps, notification_id: str, *, error: str, final: bool) -> None:
    async with deps.uow() as uow:
        stored = await store.get_notification(uow.session, notification_id, for_update=True)
        if stored is None or stored.final:
            return
        if final:
            stored.failed(error)
        else:
            stored.will_retry(error)
        await store.save_notification(uow.session, stored)
        await uow.commit()


def email_of(notification: Notification) -> Email:
    rendered = templates.render(notification.kind, notification.data)
    return Email(
        notification_id=notification.id,
        to_address=notification.to_address,
        to_name=notification.to_name,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
    )
