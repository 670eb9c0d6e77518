"""A read-only web mailbox for the local mail sink: the messages under the mail directory, newest first, and
each one's plain text (links clickable) and HTML part. The launcher serves it on 127.0.0.1 beside the sink, so
a password reset link can be clicked in a browser.

Everything an email holds is escaped before it reaches the page; the HTML part is shown in a sandboxed frame
(no scripts, no same origin), never in the viewer's own page. Requests naming another host than the loopback
address are refused: a web page elsewhere must not read the reset tokens through DNS rebinding."""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from services.notify.mailbox import messages, text_of

MAIL_VIEWER_PORT_ENV = "MAIL_VIEWER_PORT"
DEFAULT_MAIL_VIEWER_PORT = 8025
# The list page reloads itself this often, so a newcomer waiting for an email sees it arrive.
REFRESH_SECONDS = 5
# The sink names each file <time in ns, 20 digits>-<8 hex digits>.eml; nothing else is ever opened.
MESSAGE_NAME = re.compile(r"[0-9]{20}-[0-9a-f]{8}")
# http(s) links in plain text; trailing punctuation belongs to the sentence, not the link.
LINK = re.compile(r"https?://[^\s<>\"']+")
TRAILING = ".,;:!?)]}"

# Inline styles only (the page has no script); frames only from srcdoc (the HTML part).
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'self'"
STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 1.5rem auto; max-width: 60rem; padding: 0 1rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #ddd; vertical-align: top; }
pre { white-space: pre-wrap; word-break: break-word; background: #f6f6f6; padding: 1rem; }
iframe { width: 100%; height: 24rem; border: 1px solid #ccc; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dt { font-weight: 600; }
"""


def viewer_port(environ: Mapping[str, str]) -> int:
    """MAIL_VIEWER_PORT (default 8025); 0 means no viewer."""
    value = environ.get(MAIL_VIEWER_PORT_ENV, "").strip()
    if not value:
        return DEFAULT_MAIL_VIEWER_PORT
    if not value.isdigit() or int(value) > 65535:
        raise ValueError(f"{MAIL_VIEWER_PORT_ENV} must be a port number (0 for no mail viewer), not {value!r}")
    return int(value)


def linkify(text: str) -> str:
    """The text HTML-escaped, with its http(s) links made clickable."""
    out: list[str] = []
    position = 0
    for match in LINK.finditer(text):
        url = match.group(0).rstrip(TRAILING)
        out.append(html.escape(text[position : match.start()]))
        out.append(f'<a href="{html.escape(url)}">{html.escape(url)}</a>')
        position = match.start() + len(url)
    out.append(html.escape(text[position:]))
    return "".join(out)


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    return str(part.get_content()) if part is not None else ""


def _page(title: str, body: str, *, refresh: bool = False) -> bytes:
    meta = f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">' if refresh else ""
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">{meta}'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    ).encode()


def list_page(directory: Path) -> bytes:
    found = messages(directory)
    if not found:
        rows = f'<p role="status">No mail yet in {html.escape(str(directory))}. This page reloads itself.</p>'
    else:
        cells = []
        for path, message in found:
            subject = html.escape(str(message["Subject"] or "(no subject)"))
            link = f'<a href="/message/{html.escape(path.stem)}">{subject}</a>'
            cells.append(
                f"<tr><td>{html.escape(str(message['Date'] or ''))}</td>"
                f"<td>{html.escape(str(message['To'] or ''))}</td><td>{link}</td></tr>"
            )
        rows = (
            '<table><caption>Newest first; this page reloads itself.</caption><thead><tr><th scope="col">Time</th>'
            f'<th scope="col">To</th><th scope="col">Subject</th></tr></thead><tbody>{"".join(cells)}</tbody></table>'
        )
    return _page("Local mailbox", f"<h1>Local mailbox</h1>{rows}", refresh=True)


def message_page(path: Path) -> bytes:
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert isinstance(message, EmailMessage)
    subject = str(message["Subject"] or "(no subject)")
    headers = "".join(
        f"<dt>{name}</dt><dd>{html.escape(str(message[name] or ''))}</dd>"
        for name in ("From", "To", "Date", "Subject", "Message-ID")
    )
    body = f'<p><a href="/">All messages</a></p><h1>{html.escape(subject)}</h1><dl>{headers}</dl>'
    body += f'<h2>Plain text</h2><pre data-part="text">{linkify(text_of(message))}</pre>'
    if content := html_of(message):
        # No scripts, no forms, another origin; links open as pages of their own (new tabs).
        document = '<base target="_blank">' + content
        body += (
            '<h2>HTML</h2><iframe title="The HTML part of the email" sandbox="allow-popups '
            f'allow-popups-to-escape-sandbox" referrerpolicy="no-referrer" srcdoc="{html.escape(document)}"></iframe>'
        )
    return _page(subject, body)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        if not self._host_allowed():
            self._reply(HTTPStatus.MISDIRECTED_REQUEST, _page("Refused", "<h1>Not this host</h1>"))
            return
        directory = self.server.directory
        path = self.path.split("?", 1)[0]
        if path == "/":
            self._reply(HTTPStatus.OK, list_page(directory))
            return
        name = path.removeprefix("/message/")
        file = directory / f"{name}.eml"
        if path.startswith("/message/") and MESSAGE_NAME.fullmatch(name) and file.is_file():
            self._reply(HTTPStatus.OK, message_page(file))
            return
        self._reply(
            HTTPStatus.NOT_FOUND, _page("Not found", '<h1>No such message</h1><p><a href="/">All messages</a></p>')
        )

    def _host_allowed(self) -> bool:
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
        return host in ("127.0.0.1", "localhost", "[::1]")

    def _reply(self, status: HTTPStatus, content: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(content)))
        self.send_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "SAMEORIGIN")
        # The viewer's pages carry no secret in their address, but a clicked link need not say where it came from.
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, format: str, *args: object) -> None:
        # The launcher's terminal is for the stack's lines, not one per page view.
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], directory: Path) -> None:
        self.directory = directory
        super().__init__(address, _Handler)


@dataclass
class MailViewer:
    server: _Server
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_mail_viewer(directory: Path, *, port: int = DEFAULT_MAIL_VIEWER_PORT) -> MailViewer:
    """Serves the mailbox of `directory` on 127.0.0.1:`port` (0: a free one) in a thread; OSError when the port
    is taken."""
    server = _Server(("127.0.0.1", port), directory)
    thread = threading.Thread(target=server.serve_forever, name="mail-viewer", daemon=True)
    thread.start()
    return MailViewer(server, thread)
