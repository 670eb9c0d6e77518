"""Emails from templates (stdlib only): `templates/<kind>.txt` (a `Subject:` line, a blank line, the plain text
body) and `templates/<kind>.html` (the HTML body), with `$name` placeholders filled from a notification's data.

Every value is text; in HTML it is escaped, and `lines` (one "- ..." line per order line) becomes a list.
"""

from __future__ import annotations

import html
import string
from dataclasses import dataclass
from functools import cache
from pathlib import Path

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

_HTML_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font-family: sans-serif; line-height: 1.4">
{body}
</body></html>
"""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class _Template:
    subject: string.Template
    text: string.Template
    html: string.Template


@cache
def _template(kind: str) -> _Template:
    source = (TEMPLATE_DIR / f"{kind}.txt").read_text(encoding="utf-8")
    first, _, body = source.partition("\n")
    if not first.startswith("Subject: "):
        raise ValueError(f"template {kind}.txt must start with a Subject: line")
    html_source = (TEMPLATE_DIR / f"{kind}.html").read_text(encoding="utf-8")
    return _Template(
        string.Template(first.removeprefix("Subject: ").strip()),
        string.Template(body.lstrip("\n")),
        string.Template(html_source),
    )


def kinds_with_templates() -> list[str]:
    return sorted(path.stem for path in TEMPLATE_DIR.glob("*.txt"))


def subject(kind: str, data: dict[str, str]) -> str:
    return _template(kind).subject.substitute(data)


def render(kind: str, data: dict[str, str]) -> Rendered:
    """The email of `kind` for `data`; KeyError when the data lacks a placeholder's value."""
    template = _template(kind)
    title = template.subject.substitute(data)
    escaped = {key: _html_value(key, value) for key, value in data.items()}
    body = template.html.substitute(escaped)
    return Rendered(
        subject=title,
        text=template.text.substitute(data),
        html=_HTML_PAGE.format(title=html.escape(title), body=body),
    )


def _html_value(key: str, value: str) -> str:
    if key != "lines":
        return html.escape(value)
    items = [html.escape(line.removeprefix("- ")) for line in value.splitlines() if line.strip()]
    return "<ul>\n" + "\n".join(f"<li>{item}</li>" for item in items) + "\n</ul>"
