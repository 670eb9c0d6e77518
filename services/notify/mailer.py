"""Sending an email over SMTP (aiosmtplib), and the two ways a send fails: temporary (try again later) or
permanent (the server refused this message for good)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from typing import Protocol

import aiosmtplib

MESSAGE_ID_DOMAIN = "notify.marketplace-mesh"


class TemporarySendFailure(Exception):
    """The server could not be reached, hung up, timed out or answered 4xx: the same email may go through later."""


class PermanentSendFailure(Exception):
    """The server refused the message (5xx): sending it again would be refused again."""


@dataclass(frozen=True)
class Email:
    notification_id: str
    to_address: str
    to_name: str
    subject: str
    text: str
    html: str


class Mailer(Protocol):
    async def send(self, email: Email) -> None: ...


def message_id(notification_id: str) -> str:
    """One Message-ID per notification: a copy sent again (a worker killed mid-send) is recognisably the same."""
    return f"<{notification_id}@{MESSAGE_ID_DOMAIN}>"


def build_message(email: Email, sender: str, *, now: datetime | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = formataddr((email.to_name, email.to_address)) if email.to_name else email.to_address
    message["Subject"] = email.subject
    message["Date"] = format_datetime(now or datetime.now(UTC))
    message["Message-ID"] = message_id(email.notification_id)
    message["X-Notification-Id"] = email.notification_id
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    username: str = ""
    password: str = ""
    tls: str = "none"  # "none" | "starttls" | "tls"
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.tls not in ("none", "starttls", "tls"):
            raise ValueError(f"SMTP_TLS must be none, starttls or tls, not {self.tls!r}")
        if bool(self.username) != bool(self.password):
            raise ValueError("SMTP_USERNAME and SMTP_PASSWORD go together")


class SmtpMailer:
    """Sends over SMTP, keeping up to `max_idle` connections open between emails: a connection costs the
    server's greeting, EHLO and (with TLS) a handshake, several times the message itself. A kept connection the
    server has closed meanwhile is noticed on the next send, which then opens a fresh one once."""

    def __init__(self, config: SmtpConfig, *, max_idle: int = 10) -> None:
        self._config = config
        self._max_idle = max_idle
        self._idle: list[aiosmtplib.SMTP] = []

    async def send(self, email: Email) -> None:
        config = self._config
        message = build_message(email, config.sender)
        sender = parseaddr(config.sender)[1] or config.sender
        try:
            kept = self._kept()
            if kept is not None:
                try:
                    await self._send_on(kept, message, sender, email.to_address)
                    return
                except (aiosmtplib.SMTPServerDisconnected, ConnectionError):
                    pass  # the server dropped the kept connection while it was idle: this message was not taken
            await self._send_on(await self._connect(), message, sender, email.to_address)
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [refused.code for refused in error.recipients]
            raise _by_code(min(codes, default=550), str(error)) from error
        except aiosmtplib.SMTPResponseException as error:
            if isinstance(error, aiosmtplib.SMTPAuthenticationError):
                # The deployment's credentials, not this message: it may go through once they are fixed.
                raise TemporarySendFailure(f"SMTP login refused: {error.code} {error.message}") from error
            raise _by_code(error.code, f"{error.code} {error.message}") from error
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as error:
            raise TemporarySendFailure(f"SMTP server unavailable: {error or type(error).__name__}") from error

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await _quit(connection)

    async def _send_on(self, connection: aiosmtplib.SMTP, message: EmailMessage, sender: str, to: str) -> None:
        try:
            await connection.send_message(message, sender=sender, recipients=[to])
        except BaseException:
            _discard(connection)
            raise
        if len(self._idle) < self._max_idle:
            self._idle.append(connection)
        else:
            await _quit(connection)

    def _kept(self) -> aiosmtplib.SMTP | None:
        while self._idle:
            connection = self._idle.pop()
            if connection.is_connected:
                return connection
        return None

    async def _connect(self) -> aiosmtplib.SMTP:
        config = self._config
        connection = aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            username=config.username or None,
            password=config.password or None,
            use_tls=config.tls == "tls",
            start_tls=config.tls == "starttls",
            timeout=config.timeout,
        )
        try:
            await connection.connect()
        except BaseException:
            _discard(connection)
            raise
        return connection


async def _quit(connection: aiosmtplib.SMTP) -> None:
    try:
        await connection.quit()
    except (TimeoutError, aiosmtplib.SMTPException, OSError):
        _discard(connection)


def _discard(connection: aiosmtplib.SMTP) -> None:
    if connection.is_connected:
        connection.close()


def _by_code(code: int, detail: str) -> Exception:
    if 400 <= code < 500:
        return TemporarySendFailure(f"SMTP server deferred the message: {detail}")
    return PermanentSendFailure(f"SMTP server refused the message: {detail}")
