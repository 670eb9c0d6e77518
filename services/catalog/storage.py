"""Where product images live: the `ImageStorage` port and its two adapters.

- `ImageKitStorage`: ImageKit through its SDK (`imagekitio` 5.x), when IMAGEKIT_PRIVATE_KEY and
  IMAGEKIT_URL_ENDPOINT are set.
- `LocalImageStorage` + `LocalImageServer`: files under a folder, served over plain HTTP by a small
  stdlib server; the default, which needs no account.

Keys are chosen by the catalog (e.g. `products/<product id>/<image id>.webp`): one to eight segments of
letters, digits, `.`, `_` and `-`, each starting with a letter or digit, ending in the extension of the
image's type. Anything else is refused with ValueError before a byte is written, so no key can climb out of
the storage folder. A provider failure raises `ImageStorageError` (a RuntimeError): the catalog answers
UNAVAILABLE (reason IMAGE_STORE_UNAVAILABLE, retryable), and the provider's message (never the key or its reply
body) goes only to the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import urllib.parse
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import imagekitio
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.catalog.images import EXTENSIONS

MAX_KEY_LENGTH = 512
_KEY_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_MAX_KEY_SEGMENTS = 8
_CONTENT_TYPES = {extension: content_type for content_type, extension in EXTENSIONS.items()} | {".jpeg": "image/jpeg"}
IMAGEKIT_TAG = "marketplace-catalog"


class ImageStorageError(RuntimeError):
    """The storage provider failed or refused (bad credentials, outage). Not the caller's fault."""


@dataclass(frozen=True)
class StoredFile:
    """A stored image: its key, the public URL to show it, and the provider's id (needed to delete it)."""

    key: str
    url: str
    file_id: str


class ImageStorage(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> StoredFile:
        """Stores `data` under `key`, replacing what was there. Raises ValueError for a bad key."""
        ...

    async def delete(self, stored: StoredFile) -> None:
        """Removes the file; a file that is already gone is not an error."""
        ...

    async def close(self) -> None:
        """Releases connections."""
        ...


def check_key(key: str) -> str:
    """Returns `key` when it is a safe storage key (see the module's docstring), else raises ValueError."""
    segments = key.split("/")
    if (
        len(key) > MAX_KEY_LENGTH
        or len(segments) > _MAX_KEY_SEGMENTS
        or not all(_KEY_SEGMENT.fullmatch(segment) for segment in segments)
    ):
        raise ValueError(f"invalid storage key {key!r}")
    return key


def content_type_of(key: str) -> str | None:
    """The image type a key's extension stands for, or None."""
    return _CONTENT_TYPES.get(os.path.splitext(key)[1].lower())


def _check_put(key: str, content_type: str) -> None:
    check_key(key)
    if content_type_of(key) != content_type:
        raise ValueError(f"storage key {key!r} does not end with the extension of {content_type}")


class LocalImageStorage:
    """Files under `root`; `LocalImageServer` serves them at `{base_url}/{key}`."""

    def __init__(self, root: Path, base_url: str) -> None:
        self.root = root
        self.base_url = base_url.rstrip("/")

    def path_of(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    async def put(self, key: str, data: bytes, content_type: str) -> StoredFile:
        _check_put(key, content_type)
        await asyncio.to_thread(_write_atomically, self.path_of(key), data)
        return StoredFile(key=key, url=f"{self.base_url}/{key}", file_id=key)

    async def delete(self, stored: StoredFile) -> None:
        await asyncio.to_thread(self.path_of(stored.key).unlink, missing_ok=True)

    async def close(self) -> None:
        return None


def _write_atomically(path: Path, data: bytes) -> None:
    # A reader never sees half a file: write beside it, then rename over it. The temporary name starts with
    # a dot, which no key can, so the server never serves it.
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


class LocalImageServer:
    """A minimal HTTP/1.1 server for the files under `root`: GET and HEAD of a valid image key, else 404.

    No directory listing, no file outside `root` (keys are checked and symlinks resolved), one request per
    connection, and a slow client is dropped after `read_timeout` seconds.
    """

    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 0, *, read_timeout: float = 10.0) -> None:
        self.root = root
        self.host = host
        self._port = port
        self.read_timeout = read_timeout
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the image server is not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._server = await asyncio.start_server(self._handle, self.host, self._port, limit=8192)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def run(self, stop: asyncio.Event) -> None:
        """Serves until `stop` is set (the shape of `Runtime.add_task`)."""
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                method, target = await asyncio.wait_for(_read_request_head(reader), self.read_timeout)
            except (TimeoutError, ValueError, asyncio.IncompleteReadError, ConnectionError):
                await _respond(writer, 400, "Bad Request")
                return
            if method not in ("GET", "HEAD"):
                await _respond(writer, 405, "Method Not Allowed", extra={"Allow": "GET, HEAD"})
                return
            found = await asyncio.to_thread(self._read, target)
            if found is None:
                await _respond(writer, 404, "Not Found")
                return
            data, content_type = found
            await _respond(
                writer,
                200,
                "OK",
                body=data,
                content_type=content_type,
                send_body=method == "GET",
                extra={"Cache-Control": "public, max-age=86400"},
            )
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _read(self, target: str) -> tuple[bytes, str] | None:
        path_part = urllib.parse.urlsplit(target).path
        if not path_part.startswith("/"):
            return None
        key = urllib.parse.unquote(path_part[1:])
        content_type = content_type_of(key)
        try:
            check_key(key)
        except ValueError:
            return None
        if content_type is None:
            return None
        root = self.root.resolve()
        path = root.joinpath(*key.split("/")).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            return None
        try:
            return path.read_bytes(), content_type
        except OSError:
            return None


async def _read_request_head(reader: asyncio.StreamReader) -> tuple[str, str]:
    """The method and target of the request; the headers are read and ignored (there is no body to read)."""
    request_line = (await reader.readline()).decode("latin-1").strip()
    parts = request_line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise ValueError("malformed request line")
    for _ in range(100):
        line = await reader.readline()
        if not line:
            raise ValueError("connection closed inside the headers")
        if line in (b"\r\n", b"\n"):
            return parts[0], parts[1]
    raise ValueError("too many headers")


async def _respond(
    writer: asyncio.StreamWriter,
    status: int,
    reason: str,
    *,
    body: bytes | None = None,
    content_type: str = "text/plain; charset=utf-8",
    send_body: bool = True,
    extra: dict[str, str] | None = None,
) -> None:
    payload = body if body is not None else f"{status} {reason}\n".encode()
    headers = {
        "Content-Type": content_type,
        "Content-Length": str(len(payload)),
        "X-Content-Type-Options": "nosniff",
        "Connection": "close",
        **(extra or {}),
    }
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    writer.write(head.encode("latin-1") + b"\r\n")
    if send_body:
        writer.write(payload)
    await writer.drain()


class ImageKitStorage:
    """ImageKit through the `imagekitio` SDK. A key `a/b/c.webp` becomes the file `c.webp` in folder `/a/b`.

    `base_url` points the SDK at another API host (tests use a local stub); None means ImageKit itself.
    """

    def __init__(
        self,
        private_key: str,
        url_endpoint: str,
        base_url: str | None = None,
        *,
        max_retries: int = 2,
        timeout: float = 30.0,
    ) -> None:
        self.url_endpoint = url_endpoint.rstrip("/")
        # ImageKit authenticates with HTTP Basic `private_key:` (an empty password).
        self._client = imagekitio.AsyncImageKit(
            private_key=private_key, password="", base_url=base_url, max_retries=max_retries, timeout=timeout
        )

    async def put(self, key: str, data: bytes, content_type: str) -> StoredFile:
        _check_put(key, content_type)
        folder, _, file_name = key.rpartition("/")
        try:
            uploaded = await self._client.files.upload(
                file=(file_name, data, content_type),
                file_name=file_name,
                folder=f"/{folder}",
                tags=[IMAGEKIT_TAG],
                use_unique_file_name=False,
            )
        except imagekitio.APIError as error:
            raise _storage_error("upload", error) from error
        if not uploaded.file_id:
            raise ImageStorageError("ImageKit upload answered without a fileId")
        url = uploaded.url or f"{self.url_endpoint}{uploaded.file_path or '/' + key}"
        return StoredFile(key=key, url=url, file_id=uploaded.file_id)

    async def delete(self, stored: StoredFile) -> None:
        if not stored.file_id:
            return
        try:
            await self._client.files.delete(stored.file_id)
        except imagekitio.NotFoundError:
            return
        except imagekitio.APIError as error:
            raise _storage_error("delete", error) from error

    async def close(self) -> None:
        await self._client.close()


def _storage_error(action: str, error: imagekitio.APIError) -> ImageStorageError:
    if isinstance(error, imagekitio.AuthenticationError | imagekitio.PermissionDeniedError):
        return ImageStorageError(f"ImageKit {action} refused the credentials: check IMAGEKIT_PRIVATE_KEY")
    if isinstance(error, imagekitio.APIStatusError):
        return ImageStorageError(f"ImageKit {action} failed with HTTP {error.status_code}")
    return ImageStorageError(f"ImageKit {action} failed: {type(error).__name__}")


class ImageStorageSettings(BaseSettings):
    """The image variables. The catalog's settings may inherit from this class, or load it on its own."""

    model_config = SettingsConfigDict(extra="ignore")

    imagekit_private_key: str = ""
    imagekit_url_endpoint: str = ""
    # Another ImageKit API host; tests point it at a local stub.
    imagekit_base_url: str = ""
    # Local storage: the folder, and the address of the HTTP server that serves it.
    catalog_image_dir: Path = Path("var/catalog-images")
    catalog_image_host: str = "127.0.0.1"
    catalog_image_port: int = 8090
    # The public URL prefix of local images (e.g. through Envoy); empty: the server's own address.
    catalog_image_base_url: str = ""

    @property
    def uses_imagekit(self) -> bool:
        return bool(self.imagekit_private_key and self.imagekit_url_endpoint)


def storage_from_settings(settings: ImageStorageSettings, *, local_base_url: str | None = None) -> ImageStorage:
    """ImageKit when both its key and URL endpoint are set, else local files.

    Local URLs start with CATALOG_IMAGE_BASE_URL, else `local_base_url` (the started server's address), else
    `http://CATALOG_IMAGE_HOST:CATALOG_IMAGE_PORT`.
    """
    if settings.uses_imagekit:
        return ImageKitStorage(
            settings.imagekit_private_key, settings.imagekit_url_endpoint, settings.imagekit_base_url or None
        )
    base_url = (
        settings.catalog_image_base_url
        or local_base_url
        or f"http://{settings.catalog_image_host}:{settings.catalog_image_port}"
    )
    return LocalImageStorage(settings.catalog_image_dir, base_url)


@dataclass
class ImageBackend:
    """The storage the catalog uses, and the local file server when the storage is local."""

    storage: ImageStorage
    server: LocalImageServer | None

    async def close(self) -> None:
        await self.storage.close()
        if self.server is not None:
            await self.server.stop()


async def open_image_backend(settings: ImageStorageSettings) -> ImageBackend:
    """What the catalog calls in its setup (and hands `close` to `runtime.on_close`)."""
    if settings.uses_imagekit:
        return ImageBackend(storage=storage_from_settings(settings), server=None)
    server = LocalImageServer(settings.catalog_image_dir, settings.catalog_image_host, settings.catalog_image_port)
    await server.start()
    return ImageBackend(storage=storage_from_settings(settings, local_base_url=server.url), server=server)
