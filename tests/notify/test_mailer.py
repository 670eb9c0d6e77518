"""The SMTP mailer against the real SMTP sink (aiosmtpd): connections kept between emails, a kept connection the
server dropped replaced without losing the email, and a server that is gone reported as a temporary failure."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from services.notify.mailer import Email, SmtpConfig, SmtpMailer, TemporarySendFailure
from tests.notify.conftest import MailServer, Sink


class PeerNotingSink(Sink):
    """Notes the client address of each message's connection: one address per connection."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.peers: list[Any] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.peers.append(session.peer)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def noting_server(tmp_path: Path) -> Any:
    server = MailServer(PeerNotingSink(tmp_path / "mail"), "127.0.0.1", 0)
    server.start()
    server.port = server.controller.port
    yield server
    server.stop()


def mailer_for(server: MailServer, *, max_idle: int = 10) -> SmtpMailer:
    config = SmtpConfig(host=server.host, port=server.port, sender="Shop <shop@example.com>", timeout=5.0)
    return SmtpMailer(config, max_idle=max_idle)


def email(number: int) -> Email:
    return Email(
        notification_id=f"n-{number}",
        to_address=f"buyer{number}@example.com",
        to_name="",
        subject=f"Email {number}",
        text="plain",
        html="<p>html</p>",
    )


def subjects(server: MailServer) -> list[str]:
    return sorted(str(message["Subject"]) for message in server.mails())


async def test_emails_one_after_another_share_one_connection(noting_server: MailServer) -> None:
    mailer = mailer_for(noting_server)
    try:
        for number in range(3):
            await mailer.send(email(number))
    finally:
        await mailer.close()
    sink = noting_server.sink
    assert isinstance(sink, PeerNotingSink)
    assert len(sink.peers) == 3
    assert len(set(sink.peers)) == 1, sink.peers
    assert subjects(noting_server) == ["Email 0", "Email 1", "Email 2"]


async def test_concurrent_emails_open_connections_then_reuse_at_most_the_kept_number(
    noting_server: MailServer,
) -> None:
    mailer = mailer_for(noting_server, max_idle=2)
    try:
        await asyncio.gather(*(mailer.send(email(number)) for number in range(4)))
        await asyncio.gather(*(mailer.send(email(number)) for number in range(4, 8)))
    finally:
        await mailer.close()
    sink = noting_server.sink
    assert isinstance(sink, PeerNotingSink)
    first, second = set(sink.peers[:4]), set(sink.peers[4:])
    assert len(first) == 4, first
    # Two of the first four were kept (the others quit); the second round reused exactly those two.
    assert len(first & second) == 2, (first, second)
    assert len(subjects(noting_server)) == 8


async def test_a_kept_connection_the_server_dropped_is_replaced_and_the_email_sent(
    noting_server: MailServer,
) -> None:
    mailer = mailer_for(noting_server)
    try:
        await mailer.send(email(1))
        noting_server.stop()  # the kept connection dies with the server
        noting_server.start()
        await mailer.send(email(2))
    finally:
        await mailer.close()
    sink = noting_server.sink
    assert isinstance(sink, PeerNotingSink)
    assert len(set(sink.peers)) == 2, sink.peers
    assert subjects(noting_server) == ["Email 1", "Email 2"]


async def test_a_server_that_is_gone_is_a_temporary_failure(noting_server: MailServer) -> None:
    mailer = mailer_for(noting_server)
    try:
        await mailer.send(email(1))
        noting_server.stop()
        with pytest.raises(TemporarySendFailure, match="SMTP server unavailable"):
            await mailer.send(email(2))
    finally:
        await mailer.close()
    assert subjects(noting_server) == ["Email 1"]
