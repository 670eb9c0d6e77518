import asyncio
import base64
import io
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from PIL import Image

from services.catalog.images import prepare_image
from services.catalog.storage import (
    ImageKitStorage,
    ImageStorageError,
    ImageStorageSettings,
    LocalImageServer,
    LocalImageStorage,
    StoredFile,
    open_image_backend,
    storage_from_settings,
)
from tests.stubs.imagekit import ImageKitStub

IMAGE_VARIABLES = (
    "IMAGEKIT_PRIVATE_KEY",
    "IMAGEKIT_URL_ENDPOINT",
    "IMAGEKIT_BASE_URL",
    "CATALOG_IMAGE_DIR",
    "CATALOG_IMAGE_HOST",
    "CATALOG_IMAGE_PORT",
    "CATALOG_IMAGE_BASE_URL",
)


def webp_image() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(out, format="WEBP")
    return out.getvalue()


async def http_get(url: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    def fetch() -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(url, method=method)
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    return await asyncio.to_thread(fetch)


async def raw_request(port: int, request_line: bytes) -> tuple[int, bytes]:
    """Sends the bytes as they are (no client-side path normalisation) and returns status and body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request_line + b"\r\nHost: test\r\n\r\n")
    await writer.drain()
    response = await asyncio.wait_for(reader.read(), timeout=5)
    writer.close()
    await writer.wait_closed()
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


@pytest.fixture
async def local(tmp_path: Path) -> AsyncIterator[tuple[LocalImageStorage, LocalImageServer]]:
    root = tmp_path / "images"
    server = LocalImageServer(root, "127.0.0.1", 0)
    await server.start()
    try:
        yield LocalImageStorage(root, server.url), server
    finally:
        await server.stop()


async def test_local_storage_serves_what_was_put_over_http_and_delete_removes_it(local):
    storage, _server = local
    data = webp_image()

    stored = await storage.put("products/p-1/i-1.webp", data, "image/webp")

    assert stored == StoredFile(
        key="products/p-1/i-1.webp", url=f"{storage.base_url}/products/p-1/i-1.webp", file_id="products/p-1/i-1.webp"
    )
    status, headers, body = await http_get(stored.url)
    assert (status, body) == (200, data)
    assert headers["Content-Type"] == "image/webp"
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, headers, body = await http_get(stored.url, method="HEAD")
    assert (status, body, headers["Content-Length"]) == (200, b"", str(len(data)))

    await storage.delete(stored)

    assert not storage.path_of(stored.key).exists()
    assert (await http_get(stored.url))[0] == 404
    await storage.delete(stored)  # already gone: still fine


async def test_local_put_replaces_a_file_and_serves_each_type_with_its_content_type(local):
    storage, _server = local
    for key, fmt, content_type in [("a/x.jpg", "JPEG", "image/jpeg"), ("a/x.png", "PNG", "image/png")]:
        out = io.BytesIO()
        Image.new("RGB", (8, 8)).save(out, format=fmt)
        await storage.put(key, b"old", content_type)
        stored = await storage.put(key, out.getvalue(), content_type)
        status, headers, body = await http_get(stored.url)
        assert (status, headers["Content-Type"], body) == (200, content_type, out.getvalue())
    assert sorted(path.name for path in (storage.root / "a").iterdir()) == ["x.jpg", "x.png"]  # no temporaries


@pytest.mark.parametrize(
    "key",
    [
        "../outside.png",
        "products/../../outside.png",
        "/etc/outside.png",
        "products//outside.png",
        "products/.hidden.png",
        "products\\..\\outside.png",
        "products/outside.png\x00.png",
        "",
        "products/" + "a" * 600 + ".png",
    ],
)
async def test_local_storage_refuses_keys_that_could_leave_its_folder(local, key):
    storage, _server = local
    with pytest.raises(ValueError, match="invalid storage key"):
        await storage.put(key, b"data", "image/png")
    with pytest.raises(ValueError):
        await storage.delete(StoredFile(key=key, url="", file_id=key))
    assert not (storage.root.parent / "outside.png").exists()


async def test_a_key_must_carry_the_extension_of_its_content_type(local):
    storage, _server = local
    with pytest.raises(ValueError, match="extension"):
        await storage.put("products/p/i.png", b"data", "image/jpeg")
    with pytest.raises(ValueError, match="extension"):
        await storage.put("products/p/i.html", b"<script>", "text/html")
    assert not storage.root.joinpath("products").exists()


async def test_the_server_serves_nothing_outside_its_folder_nor_anything_but_images(local, tmp_path):
    storage, server = local
    (tmp_path / "secret.png").write_bytes(b"outside the image folder")
    await storage.put("products/p/i.png", b"inside", "image/png")
    storage.root.joinpath("notes.txt").write_text("not an image")
    storage.root.joinpath("link.png").symlink_to(tmp_path / "secret.png")

    for target in [
        b"/../secret.png",
        b"/%2e%2e/secret.png",
        b"/..%2Fsecret.png",
        b"/products/../../secret.png",
        b"//secret.png",
        b"/link.png",
        b"/notes.txt",
        b"/products",
        b"/products/",
        b"/",
        b"/products/p/missing.png",
    ]:
        status, body = await raw_request(server.port, b"GET " + target + b" HTTP/1.1")
        assert status == 404, target
        assert b"outside" not in body and b"not an image" not in body

    assert await raw_request(server.port, b"GET /products/p/i.png?v=2 HTTP/1.1") == (200, b"inside")
    assert (await raw_request(server.port, b"POST /products/p/i.png HTTP/1.1"))[0] == 405
    assert (await raw_request(server.port, b"this is not http"))[0] == 400


async def test_a_client_that_never_finishes_its_request_is_dropped(tmp_path):
    server = LocalImageServer(tmp_path, "127.0.0.1", 0, read_timeout=0.2)
    await server.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /a.png HTTP/1.1\r\n")  # and never the blank line
        await writer.drain()
        response = await asyncio.wait_for(reader.read(), timeout=5)
        assert response.startswith(b"HTTP/1.1 400 ")
        writer.close()
    finally:
        await server.stop()


@pytest.fixture
def imagekit() -> Iterator[ImageKitStub]:
    with ImageKitStub(private_key="private_stub_key") as stub:
        yield stub


@pytest.fixture
async def imagekit_storage(imagekit: ImageKitStub) -> AsyncIterator[ImageKitStorage]:
    storage = ImageKitStorage(imagekit.private_key, imagekit.url_endpoint, imagekit.base_url, max_retries=0)
    yield storage
    await storage.close()


async def test_imagekit_upload_sends_the_file_and_the_key_through_the_sdk(imagekit, imagekit_storage):
    data = webp_image()

    stored = await imagekit_storage.put("products/p-1/i-1.webp", data, "image/webp")

    [upload] = imagekit.uploads
    assert upload.data == data
    assert (upload.file_name, upload.file_content_type) == ("i-1.webp", "image/webp")
    assert upload.fields["fileName"] == "i-1.webp"
    assert upload.fields["folder"] == "/products/p-1"
    assert upload.fields["useUniqueFileName"] == "false"
    assert upload.fields["tags"] == "marketplace-catalog"
    assert upload.authorization == "Basic " + base64.b64encode(b"private_stub_key:").decode()
    assert stored.key == "products/p-1/i-1.webp"
    assert stored.file_id in imagekit.files
    assert stored.url == f"{imagekit.url_endpoint}/products/p-1/i-1.webp"
    status, _headers, body = await http_get(stored.url)
    assert (status, body) == (200, data)


async def test_imagekit_delete_removes_the_file_and_a_second_delete_is_fine(imagekit, imagekit_storage):
    stored = await imagekit_storage.put("products/p-1/i-2.png", b"png bytes", "image/png")

    await imagekit_storage.delete(stored)
    await imagekit_storage.delete(stored)

    assert imagekit.deleted == [stored.file_id]
    assert imagekit.files == {}
    deletes = [(request.path, request.status) for request in imagekit.requests if request.method == "DELETE"]
    assert deletes == [(f"/v1/files/{stored.file_id}", 204), (f"/v1/files/{stored.file_id}", 404)]


async def test_a_wrong_imagekit_key_is_a_clear_storage_error_that_does_not_echo_the_key(imagekit):
    storage = ImageKitStorage("private_wrong_key", imagekit.url_endpoint, imagekit.base_url, max_retries=0)
    try:
        with pytest.raises(ImageStorageError, match="refused the credentials: check IMAGEKIT_PRIVATE_KEY") as caught:
            await storage.put("products/p/i.png", b"png bytes", "image/png")
        assert "private_wrong_key" not in str(caught.value)
        with pytest.raises(ImageStorageError, match="refused the credentials"):
            await storage.delete(StoredFile(key="products/p/i.png", url="", file_id="abc"))
    finally:
        await storage.close()
    assert imagekit.uploads == []
    assert [request.status for request in imagekit.requests] == [401, 401]


async def test_imagekit_refuses_a_bad_key_before_calling_imagekit(imagekit, imagekit_storage):
    with pytest.raises(ValueError):
        await imagekit_storage.put("../escape.png", b"x", "image/png")
    assert imagekit.requests == []


async def test_an_unreachable_imagekit_is_a_storage_error():
    storage = ImageKitStorage("private_key", "http://127.0.0.1:9/endpoint", "http://127.0.0.1:9", max_retries=0)
    try:
        with pytest.raises(ImageStorageError, match="ImageKit upload failed: APIConnectionError"):
            await storage.put("products/p/i.png", b"x", "image/png")
    finally:
        await storage.close()


@pytest.fixture
def image_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in IMAGE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({}, LocalImageStorage),
        ({"IMAGEKIT_PRIVATE_KEY": "private_k"}, LocalImageStorage),
        ({"IMAGEKIT_URL_ENDPOINT": "https://ik.example/shop"}, LocalImageStorage),
        ({"IMAGEKIT_PRIVATE_KEY": "private_k", "IMAGEKIT_URL_ENDPOINT": "https://ik.example/shop"}, ImageKitStorage),
    ],
)
async def test_storage_from_settings_uses_imagekit_only_with_both_variables(image_environment, variables, expected):
    for name, value in variables.items():
        image_environment.setenv(name, value)
    storage = storage_from_settings(ImageStorageSettings())
    try:
        assert type(storage) is expected
    finally:
        await storage.close()


async def test_storage_from_settings_local_urls_and_folder(image_environment, tmp_path):
    image_environment.setenv("CATALOG_IMAGE_DIR", str(tmp_path / "pictures"))
    image_environment.setenv("CATALOG_IMAGE_PORT", "8123")
    storage = storage_from_settings(ImageStorageSettings())
    assert isinstance(storage, LocalImageStorage)
    assert (storage.root, storage.base_url) == (tmp_path / "pictures", "http://127.0.0.1:8123")

    image_environment.setenv("CATALOG_IMAGE_BASE_URL", "https://shop.example/images/")
    storage = storage_from_settings(ImageStorageSettings())
    assert isinstance(storage, LocalImageStorage)
    assert storage.base_url == "https://shop.example/images"


async def test_imagekit_from_settings_talks_to_imagekit_base_url(image_environment, imagekit):
    image_environment.setenv("IMAGEKIT_PRIVATE_KEY", imagekit.private_key)
    image_environment.setenv("IMAGEKIT_URL_ENDPOINT", imagekit.url_endpoint)
    image_environment.setenv("IMAGEKIT_BASE_URL", imagekit.base_url)
    backend = await open_image_backend(ImageStorageSettings())
    try:
        assert backend.server is None
        stored = await backend.storage.put("products/p/i.webp", webp_image(), "image/webp")
    finally:
        await backend.close()
    assert [upload.fields["fileName"] for upload in imagekit.uploads] == ["i.webp"]
    assert stored.url.startswith(imagekit.url_endpoint)


async def test_the_local_backend_starts_its_server_and_serves_a_prepared_image(image_environment, tmp_path):
    image_environment.setenv("CATALOG_IMAGE_DIR", str(tmp_path / "pictures"))
    image_environment.setenv("CATALOG_IMAGE_PORT", "0")
    prepared = prepare_image(webp_image())
    backend = await open_image_backend(ImageStorageSettings())
    try:
        assert backend.server is not None
        stored = await backend.storage.put("products/p/i-thumb.webp", prepared.thumbnail, "image/webp")
        assert stored.url == f"{backend.server.url}/products/p/i-thumb.webp"
        status, headers, body = await http_get(stored.url)
        assert (status, headers["Content-Type"], body) == (200, "image/webp", prepared.thumbnail)
    finally:
        await backend.close()
    with pytest.raises(urllib.error.URLError):
        await asyncio.to_thread(urllib.request.urlopen, stored.url, None, 2)
