"""The local mailbox: messages the sink stored, listed newest first, one printed with its plain text."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.notify.mail_sink import MailDirectory
from services.notify.mailbox import main
from services.notify.mailer import Email, build_message


def store(directory: MailDirectory, subject: str, text: str) -> None:
    email = Email("n-" + subject, "ada@example.com", "Ada", subject, text, f"<p>{text}</p>")
    directory.store(build_message(email, "Marketplace <no-reply@example.com>").as_bytes())


def test_the_mailbox_lists_newest_first_and_prints_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = MailDirectory(tmp_path / "mail")
    store(directory, "First", "the first one")
    store(directory, "Second", "the link: http://x/reset?token=abc")

    assert main(["--dir", str(directory.directory)]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert [line.split("  ")[-1] for line in listing] == ["Second", "First"]

    assert main(["1", "--dir", str(directory.directory)]) == 0
    shown = capsys.readouterr().out
    assert "Subject: Second" in shown
    assert "To: Ada <ada@example.com>" in shown
    assert "the link: http://x/reset?token=abc\n" in shown
    assert "\r" not in shown

    assert main(["3", "--dir", str(directory.directory)]) == 1
    assert "no message 3" in capsys.readouterr().err


def test_an_empty_mailbox_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--dir", str(tmp_path / "nothing")]) == 0
    assert "no mail in" in capsys.readouterr().out
