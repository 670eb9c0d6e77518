"""Reading what the mail sink received."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from services.notify.mailbox import text_of
from tests.support.polling import eventually


def body_text(mail: EmailMessage) -> str:
    return text_of(mail)


def html_text(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("html",))
    assert part is not None, "no HTML part"
    return str(part.get_content())


async def settled(notify: Any) -> bool:
    """True when no notification is still on its way (every record SENT, FAILED or SKIPPED)."""
    rows = await notify.sql("SELECT count(*) FROM notifications WHERE status IN ('PENDING', 'QUEUED', 'SENDING')")
    return int(rows[0][0]) == 0


async def mails(notify: Any, address: str, subject: str | None = None, *, timeout: float = 10.0) -> list[EmailMessage]:
    """The mails to `address` (with `subject`, when given) once at least one arrived and nothing is in flight."""

    def matching() -> list[EmailMessage]:
        return [mail for mail in notify.mail.mails_to(address) if subject is None or mail["Subject"] == subject]

    async def arrived() -> bool:
        return bool(matching()) and await settled(notify)

    await eventually(arrived, timeout=timeout, message=f"no mail to {address} ({subject or 'any subject'})")
    return matching()


async def one_mail(notify: Any, address: str, subject: str | None = None, *, timeout: float = 10.0) -> EmailMessage:
    """The one mail to `address` (with `subject`): fails when none arrives, or more than one."""
    found = await mails(notify, address, subject, timeout=timeout)
    assert len(found) == 1, [mail["Subject"] for mail in found]
    return found[0]
