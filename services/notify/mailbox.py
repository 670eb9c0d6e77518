"""`python -m services.notify mail [N | --dir DIR]`: the emails the local mail sink received, newest first, or
the N-th one (1 = newest) in full: headers and the plain text part."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from services.kit.settings import default_data_dir
from services.notify.mail_sink import MAIL_DIR_NAME


def mail_directory(environ: dict[str, str] | None = None) -> Path:
    return default_data_dir(os.environ if environ is None else environ) / MAIL_DIR_NAME


def messages(directory: Path) -> list[tuple[Path, EmailMessage]]:
    """Every stored message, newest first."""
    paths = sorted(directory.glob("*.eml"), reverse=True) if directory.is_dir() else []
    parser = BytesParser(policy=policy.default)
    found = []
    for path in paths:
        message = parser.parsebytes(path.read_bytes())
        if isinstance(message, EmailMessage):
            found.append((path, message))
    return found


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    content = part.get_content() if part is not None else ""
    return str(content).replace("\r\n", "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.notify mail", description=__doc__)
    parser.add_argument("number", nargs="?", type=int, help="print this message in full (1 = the newest)")
    parser.add_argument("--dir", type=Path, help="the mail directory (default: <MESH_DATA_DIR or var>/mail)")
    args = parser.parse_args(argv)
    directory = args.dir or mail_directory()
    found = messages(directory)
    if args.number is None:
        if not found:
            print(f"no mail in {directory}")
            return 0
        for number, (_path, message) in enumerate(found, start=1):
            print(f"{number:>3}  {message['Date']}  {message['To']}  {message['Subject']}")
        return 0
    if not 1 <= args.number <= len(found):
        print(f"no message {args.number}: {len(found)} in {directory}", file=sys.stderr)
        return 1
    path, message = found[args.number - 1]
    for header in ("From", "To", "Date", "Subject", "Message-ID"):
        print(f"{header}: {message[header]}")
    print(f"File: {path}\n")
    print(text_of(message))
    return 0
