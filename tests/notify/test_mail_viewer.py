"""The web mailbox of the local mail sink: a real sink and viewer on free ports, real emails sent over SMTP,
pages fetched over HTTP."""

from __future__ import annotations

import http.client
import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from services.notify.mail_sink import free_port, start_mail_sink
from services.notify.mail_viewer import MailViewer, linkify, start_mail_viewer, viewer_port

RESET = "http://127.0.0.1:8080/#/reset-password?token=0123456789abcdef0123456789abcdef"


@pytest.fixture
def mailbox(tmp_path: Path) -> Iterator[tuple[int, MailViewer]]:
    directory = tmp_path / "mail"
    sink = start_mail_sink(directory)
    viewer = start_mail_viewer(directory, port=free_port())
    try:
        yield sink.port, viewer
    finally:
        viewer.stop()
        sink.stop()


def send(smtp_port: int, subject: str, text: str, html: str | None = None, to: str = "ada@example.com") -> None:
    message = EmailMessage()
    message["From"] = "Marketplace <no-reply@example.com>"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=5) as client:
        client.send_message(message)


def get(viewer: MailViewer, path: str, host: str | None = None) -> tuple[int, dict[str, str], str]:
    connection = http.client.HTTPConnection("127.0.0.1", viewer.port, timeout=5)
    try:
        connection.request("GET", path, headers={"Host": host or f"127.0.0.1:{viewer.port}"})
        reply = connection.getresponse()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read().decode()
    finally:
        connection.close()


def message_paths(page: str) -> list[str]:
    return [part.split('"', 1)[0] for part in page.split('href="/message/')[1:]]


def test_the_list_is_newest_first_and_a_message_shows_its_text_with_the_link_clickable(
    mailbox: tuple[int, MailViewer],
) -> None:
    smtp_port, viewer = mailbox
    assert viewer.url == f"http://127.0.0.1:{viewer.port}/"
    status, headers, page = get(viewer, "/")
    assert status == 200 and "No mail yet" in page

    send(smtp_port, "Welcome", "Hello Ada.")
    text, html = f"Choose a new one here:\n\n{RESET}\n", f'<p><a href="{RESET}">reset</a></p>'
    send(smtp_port, "Reset your password", text, html)

    status, headers, page = get(viewer, "/")
    assert status == 200
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in headers["content-security-policy"]
    assert page.index("Reset your password") < page.index("Welcome")
    assert "ada@example.com" in page
    newest, oldest = message_paths(page)

    status, headers, page = get(viewer, f"/message/{newest}")
    assert status == 200
    assert headers["cache-control"] == "no-store"
    assert "<h1>Reset your password</h1>" in page
    escaped = RESET.replace("&", "&amp;")
    assert f'<a href="{escaped}">{escaped}</a>' in page
    # The HTML part is in a sandboxed frame (no allow-scripts, no allow-same-origin), escaped into srcdoc.
    assert '<iframe title="The HTML part of the email" sandbox="allow-popups allow-popups-to-escape-sandbox"' in page
    assert 'srcdoc="&lt;base target=&quot;_blank&quot;&gt;&lt;p&gt;&lt;a href=&quot;http://127.0.0.1' in page
    assert "allow-scripts" not in page and "allow-same-origin" not in page

    status, _, page = get(viewer, f"/message/{oldest}")
    assert status == 200 and "Hello Ada." in page and "<iframe" not in page


def test_what_an_email_holds_is_escaped(mailbox: tuple[int, MailViewer]) -> None:
    smtp_port, viewer = mailbox
    send(
        smtp_port,
        "<script>alert(1)</script> hi",
        'text <script>alert(2)</script> and http://x.test/?a=1&b="2"<img src=x onerror=alert(3)>',
        "<script>alert(4)</script><p>html</p>",
        to="<script>@example.com",
    )
    _, _, listing = get(viewer, "/")
    assert "<script>" not in listing
    assert "&lt;script&gt;alert(1)&lt;/script&gt; hi" in listing
    (path,) = message_paths(listing)
    _, _, page = get(viewer, f"/message/{path}")
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page
    # The link stops where the URL does; the quote and the tag after it stay text.
    assert '<a href="http://x.test/?a=1&amp;b=">http://x.test/?a=1&amp;b=</a>&quot;2&quot;&lt;img' in page
    assert "&lt;script&gt;alert(4)&lt;/script&gt;" in page  # inside srcdoc, where the sandbox keeps it inert


def test_only_stored_messages_are_served_and_only_to_the_loopback_host(mailbox: tuple[int, MailViewer]) -> None:
    smtp_port, viewer = mailbox
    send(smtp_port, "Hello", "text")
    unknown = "/message/00000000000000000000-00000000"
    for path in ("/message/../../etc/passwd", "/message/%2e%2e%2fsecret", unknown, "/x"):
        status, _, _ = get(viewer, path)
        assert status == 404, path
    # A page elsewhere that rebinds its own name to 127.0.0.1 must not read the mail (reset tokens).
    status, _, page = get(viewer, "/", host="attacker.example:8025")
    assert status == 421 and "Hello" not in page
    status, _, _ = get(viewer, "/", host=f"localhost:{viewer.port}")
    assert status == 200


def test_the_port_setting() -> None:
    assert viewer_port({}) == 8025
    assert viewer_port({"MAIL_VIEWER_PORT": "9025"}) == 9025
    assert viewer_port({"MAIL_VIEWER_PORT": "0"}) == 0
    with pytest.raises(ValueError, match="MAIL_VIEWER_PORT must be a port number"):
        viewer_port({"MAIL_VIEWER_PORT": "mail"})


def test_links_keep_the_sentence_out_and_only_http_schemes_link() -> None:
    assert linkify("see https://a.test/x.") == 'see <a href="https://a.test/x">https://a.test/x</a>.'
    assert linkify("javascript:alert(1) ftp://a") == "javascript:alert(1) ftp://a"
