"""The local mail sink (aiosmtpd): an SMTP server that accepts every message and stores it as a file, so the
stack runs with no mail account and every email it sent can be read (`python -m services.notify mail`)."""

from __future__ import annotations

import os
import socket
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

MAIL_DIR_NAME = "mail"


class MailDirectory:
    """aiosmtpd handler: each accepted message becomes `<directory>/<time>-<random>.eml` (written atomically)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def store(self, content: bytes) -> Path:
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.eml"
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(content)
                file.flush()
                os.fsync(file.fileno())
            path = self.directory / name
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return path

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        self.store(content if isinstance(content, bytes) else str(content).encode())
        return "250 Message accepted for delivery"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def start_mail_sink(directory: Path, *, host: str = "127.0.0.1", port: int = 0, handler: Any = None) -> Controller:
    """Starts the sink in a thread of its own; `.hostname`, `.port`, `.stop()`. Port 0: a free one."""
    controller = Controller(
        handler or MailDirectory(directory), hostname=host, port=port or free_port(host), ready_timeout=5.0
    )
    controller.start()
    return controller
