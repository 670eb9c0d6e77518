"""Product images through the RPC, stored locally and served over HTTP."""

from __future__ import annotations

import asyncio
import io
import urllib.error
import urllib.request

import grpc
import pytest
from PIL import Image

from marketplace.catalog.v1 import catalog_pb2
from tests.catalog.conftest import Catalog
from tests.kit.rpc.support import error_info, field_violations
from tests.stubs.imagekit import ImageKitStub


def jpeg_bytes(size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (20, 120, 200)).save(out, format="JPEG")
    return out.getvalue()


def fetch(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        return error.code, b"", ""


def add(product_id: str, content: bytes, content_type: str = "image/jpeg") -> catalog_pb2.AddProductImageRequest:
    return catalog_pb2.AddProductImageRequest(
        product_id=product_id, content=content, file_name="photo.jpg", content_type=content_type
    )


async def test_images_are_stored_served_limited_and_removed(catalog: Catalog) -> None:
    seller, _ = await catalog.seller()
    product = await catalog.create(seller)
    photo = jpeg_bytes()
    added = await catalog.stub.AddProductImage(add(product.id, photo), metadata=seller)
    assert [image.id for image in added.product.images] == [added.image.id]
    status, body, content_type = await asyncio.to_thread(fetch, added.image.url)
    assert (status, body, content_type) == (200, photo, "image/jpeg")
    status, thumbnail, content_type = await asyncio.to_thread(fetch, added.image.thumbnail_url)
    assert (status, content_type) == (200, "image/webp")
    assert Image.open(io.BytesIO(thumbnail)).format == "WEBP"

    for _ in range(7):
        await catalog.stub.AddProductImage(add(product.id, jpeg_bytes()), metadata=seller)
    with pytest.raises(grpc.aio.AioRpcError) as ninth:
        await catalog.stub.AddProductImage(add(product.id, jpeg_bytes()), metadata=seller)
    assert error_info(ninth.value).reason == "TOO_MANY_IMAGES"
    shown = await catalog.stub.GetProduct(catalog_pb2.GetProductRequest(id=product.id))
    assert len(shown.product.images) == 8
    assert shown.product.images[0].id == added.image.id
    stored = sorted(path.name for path in catalog.settings.catalog_image_dir.rglob("*") if path.is_file())
    assert len(stored) == 16

    after = await catalog.stub.DeleteProductImage(
        catalog_pb2.DeleteProductImageRequest(product_id=product.id, image_id=added.image.id), metadata=seller
    )
    assert added.image.id not in [image.id for image in after.product.images]
    assert (await asyncio.to_thread(fetch, added.image.url))[0] == 404
    assert (await asyncio.to_thread(fetch, added.image.thumbnail_url))[0] == 404

    await catalog.stub.DeleteProduct(catalog_pb2.DeleteProductRequest(id=product.id), metadata=seller)
    assert [path for path in catalog.settings.catalog_image_dir.rglob("*") if path.is_file()] == []
    assert await catalog.sql("SELECT count(*) FROM product_images") == [(0,)]


async def test_gif_and_oversized_images_are_refused(catalog: Catalog) -> None:
    seller, _ = await catalog.seller()
    product = await catalog.create(seller)
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, format="GIF")
    # A GIF declared as a PNG: the content decides.
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await catalog.stub.AddProductImage(add(product.id, gif.getvalue(), "image/png"), metadata=seller)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "content" in field_violations(refused.value)

    oversized = jpeg_bytes() + b"\0" * (5 * 1024 * 1024)
    with pytest.raises(grpc.aio.AioRpcError) as too_big:
        await catalog.stub.AddProductImage(add(product.id, oversized), metadata=seller)
    assert too_big.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "content" in field_violations(too_big.value)
    assert await catalog.sql("SELECT count(*) FROM product_images") == [(0,)]
    assert [path for path in catalog.settings.catalog_image_dir.rglob("*") if path.is_file()] == []


async def test_images_go_to_imagekit_when_it_is_configured(start_catalog) -> None:
    with ImageKitStub(private_key="private_stub_key") as imagekit:
        catalog = await start_catalog(
            imagekit_private_key=imagekit.private_key,
            imagekit_url_endpoint=imagekit.url_endpoint,
            imagekit_base_url=imagekit.base_url,
        )
        seller, _ = await catalog.seller()
        product = await catalog.create(seller)
        photo = jpeg_bytes()

        added = await catalog.stub.AddProductImage(add(product.id, photo), metadata=seller)

        assert added.image.url.startswith(imagekit.url_endpoint)
        status, body, _ = await asyncio.to_thread(fetch, added.image.url)
        assert (status, body) == (200, photo)
        assert not [path for path in catalog.settings.catalog_image_dir.rglob("*") if path.is_file()]


async def test_an_unreachable_image_store_is_unavailable_and_writes_nothing(start_catalog) -> None:
    with ImageKitStub(private_key="private_stub_key") as imagekit:
        catalog = await start_catalog(
            imagekit_private_key="not-the-key",
            imagekit_url_endpoint=imagekit.url_endpoint,
            imagekit_base_url=imagekit.base_url,
        )
        seller, _ = await catalog.seller()
        product = await catalog.create(seller)

        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await catalog.stub.AddProductImage(add(product.id, jpeg_bytes()), metadata=seller)

        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        assert error_info(refused.value).reason == "IMAGE_STORE_UNAVAILABLE"
        assert "IMAGEKIT" not in (refused.value.details() or "").upper()
        shown = await catalog.stub.GetProduct(catalog_pb2.GetProductRequest(id=product.id), metadata=seller)
        assert not shown.product.images
