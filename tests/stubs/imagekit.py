"""A local server that speaks ImageKit's file API as the `imagekitio` 5.x SDK uses it.

- `POST /api/v1/files/upload` (multipart: `file`, `fileName`, `folder`, `tags`, ...) → 200 with the file's
  JSON in camelCase; a missing file or name → 400.
- `DELETE /v1/files/{fileId}` → 204, or 404 for an unknown id.
- `GET /endpoint/{filePath}` serves an uploaded file, so the URL an upload returns really works.
- Every API call must carry HTTP Basic `private_key:<anything>`; else 401. Errors use ImageKit's shape,
  `{"message": ..., "help": ...}`.

It records what it received (`uploads`, `deleted`, `requests`) for tests to assert on.
"""

from __future__ import annotations

import base64
import binascii
import email.parser
import email.policy
import json
import secrets
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.stubs.served import ServedStub

HELP = "For support kindly contact us at support@imagekit.io ."


@dataclass
class Upload:
    """One upload as received: the multipart form fields and the file part."""

    fields: dict[str, str]
    file_name: str
    file_content_type: str
    data: bytes
    authorization: str


@dataclass
class StoredObject:
    file_id: str
    file_path: str
    data: bytes
    content_type: str


@dataclass
class ReceivedRequest:
    method: str
    path: str
    status: int


@dataclass
class ImageKitStub(ServedStub):
    thread_name = "imagekit-stub"

    private_key: str = "private_test_key"
    uploads: list[Upload] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    requests: list[ReceivedRequest] = field(default_factory=list)
    files: dict[str, StoredObject] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    @property
    def url_endpoint(self) -> str:
        return f"{self.base_url}/endpoint"

    def handler(self) -> type[BaseHTTPRequestHandler]:
        return _handler_for(self)

    # The request logic, called from the handler threads.

    def authorised(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme != "Basic":
            return False
        try:
            user, _, _password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return secrets.compare_digest(user, self.private_key)

    def upload(self, content_type: str, body: bytes, authorization: str) -> tuple[int, dict[str, Any]]:
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body
        )
        if not message.is_multipart():
            return 400, {"message": "Request must be multipart/form-data", "help": HELP}
        fields: dict[str, str] = {}
        file_part: tuple[str, str, bytes] | None = None
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if not isinstance(name, str) or not isinstance(payload, bytes):
                continue
            if name == "file":
                file_part = (part.get_filename() or "", part.get_content_type(), payload)
            else:
                fields[name] = payload.decode()
        if file_part is None:
            return 400, {"message": "Missing file parameter for upload", "help": HELP}
        if not fields.get("fileName"):
            return 400, {"message": "Missing fileName parameter for upload", "help": HELP}
        folder = fields.get("folder", "/").strip("/")
        file_path = f"/{folder}/{fields['fileName']}" if folder else f"/{fields['fileName']}"
        file_id = secrets.token_hex(12)
        stored = StoredObject(file_id=file_id, file_path=file_path, data=file_part[2], content_type=file_part[1])
        with self._lock:
            self.uploads.append(Upload(fields, file_part[0], file_part[1], file_part[2], authorization))
            self.files[file_id] = stored
        tags = [tag for tag in fields.get("tags", "").split(",") if tag] or None
        return 200, {
            "fileId": file_id,
            "name": fields["fileName"],
            "size": len(file_part[2]),
            "versionInfo": {"id": file_id, "name": "Version 1"},
            "filePath": file_path,
            "url": f"{self.url_endpoint}{file_path}",
            "fileType": "image",
            "height": 1,
            "width": 1,
            "thumbnailUrl": f"{self.url_endpoint}/tr:n-ik_ml_thumbnail{file_path}",
            "tags": tags,
            "AITags": None,
            "isPrivateFile": False,
            "isPublished": True,
            "customCoordinates": None,
        }

    def delete(self, file_id: str) -> tuple[int, dict[str, Any] | None]:
        with self._lock:
            if self.files.pop(file_id, None) is None:
                return 404, {"message": "The requested file does not exist.", "help": HELP}
            self.deleted.append(file_id)
        return 204, None

    def served(self, file_path: str) -> StoredObject | None:
        with self._lock:
            return next((stored for stored in self.files.values() if stored.file_path == file_path), None)

    def record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.requests.append(ReceivedRequest(method, path, status))


def _handler_for(stub: ImageKitStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path != "/api/v1/files/upload":
                self._json(404, {"message": "Not found", "help": HELP})
            elif not self._authorised():
                return
            else:
                self._json(
                    *stub.upload(self.headers.get("Content-Type", ""), body, self.headers.get("Authorization", ""))
                )

        def do_DELETE(self) -> None:
            prefix = "/v1/files/"
            if not self.path.startswith(prefix) or "/" in self.path[len(prefix) :]:
                self._json(404, {"message": "Not found", "help": HELP})
            elif self._authorised():
                self._json(*stub.delete(self.path[len(prefix) :]))

        def do_GET(self) -> None:
            prefix = "/endpoint"
            stored = stub.served(self.path[len(prefix) :]) if self.path.startswith(prefix + "/") else None
            if stored is None:
                self._json(404, {"message": "Not found", "help": HELP})
                return
            self._send(200, stored.data, stored.content_type)

        def _authorised(self) -> bool:
            if stub.authorised(self.headers.get("Authorization", "")):
                return True
            self._json(401, {"message": "Your request contains invalid private key", "help": HELP})
            return False

        def _json(self, status: int, document: dict[str, Any] | None) -> None:
            self._send(status, b"" if document is None else json.dumps(document).encode(), "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            stub.record(self.command, self.path, status)
            self.send_response(status, HTTPStatus(status).phrase)
            if status != 204:
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if status != 204:
                self.wfile.write(body)

    return Handler
