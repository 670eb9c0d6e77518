import io
import struct
import zlib

import pytest
from PIL import Image, PngImagePlugin

from services.catalog.images import (
    EXTENSIONS,
    MAX_IMAGE_BYTES,
    MAX_IMAGE_PIXELS,
    MAX_IMAGES_PER_PRODUCT,
    THUMBNAIL_CONTENT_TYPE,
    detect_image_type,
    make_thumbnail,
    prepare_image,
)
from services.kit.errors import InvalidArgument


def encoded(fmt: str, size: tuple[int, int] = (64, 48), mode: str = "RGB", **save: object) -> bytes:
    image = Image.new(mode, size, color=(200, 30, 60, 255)[: len(mode)] if mode != "L" else 128)
    out = io.BytesIO()
    image.save(out, format=fmt, **save)
    return out.getvalue()


def refusal(data: bytes) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as caught:
        prepare_image(data)
    assert [violation.field for violation in caught.value.violations] == ["content"]
    return caught.value


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize(
    ("fmt", "size", "mode", "content_type", "thumbnail_size"),
    [
        ("JPEG", (1000, 500), "RGB", "image/jpeg", (320, 160)),
        ("PNG", (300, 900), "RGBA", "image/png", (107, 320)),
        ("WEBP", (640, 640), "RGB", "image/webp", (320, 320)),
        ("PNG", (120, 90), "L", "image/png", (120, 90)),
    ],
)
def test_jpeg_png_and_webp_are_accepted_and_thumbnailed_keeping_the_aspect_ratio(
    fmt, size, mode, content_type, thumbnail_size
):
    data = encoded(fmt, size, mode)
    assert detect_image_type(data) == content_type

    prepared = prepare_image(data)

    assert prepared.content_type == content_type
    assert prepared.content == data
    assert (prepared.width, prepared.height) == size
    assert prepared.thumbnail_content_type == THUMBNAIL_CONTENT_TYPE == "image/webp"
    thumbnail = opened(prepared.thumbnail)
    assert thumbnail.format == "WEBP"
    assert max(thumbnail.size) <= 320
    assert thumbnail.size == thumbnail_size  # small images are never enlarged
    assert make_thumbnail(data) == prepared.thumbnail


def test_a_transparent_png_keeps_its_transparency_in_the_thumbnail():
    image = Image.new("RGBA", (400, 200), (0, 0, 0, 0))
    out = io.BytesIO()
    image.save(out, format="PNG")
    thumbnail = opened(make_thumbnail(out.getvalue()))
    assert thumbnail.mode == "RGBA"
    assert thumbnail.getchannel("A").getextrema() == (0, 0)


def test_the_thumbnail_is_upright_and_carries_no_exif():
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: the camera was turned; display rotated by 90 degrees
    exif[0x010F] = "SellerPhone"  # Make
    exif[0x0131] = "PhotoApp 1.0"  # Software
    data = encoded("JPEG", (400, 200), exif=exif.tobytes())
    assert opened(data).getexif()[0x010F] == "SellerPhone"

    prepared = prepare_image(data)

    assert (prepared.width, prepared.height) == (200, 400)
    thumbnail = opened(prepared.thumbnail)
    assert thumbnail.size == (160, 320)
    assert dict(thumbnail.getexif()) == {}
    assert "exif" not in thumbnail.info
    assert b"SellerPhone" not in prepared.thumbnail


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_an_original_with_exif_or_xmp_is_stored_upright_without_them(fmt):
    exif = Image.Exif()
    exif[0x0112] = 8  # Orientation: display rotated by 270 degrees
    exif[0x010F] = "SellerPhone"
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description GPSLatitude="48.85"/></x:xmpmeta>'
    if fmt == "PNG":
        text = PngImagePlugin.PngInfo()
        text.add_itxt("XML:com.adobe.xmp", xmp.decode())
        data = encoded(fmt, (300, 100), exif=exif.tobytes(), pnginfo=text)
    else:
        data = encoded(fmt, (300, 100), exif=exif.tobytes(), xmp=xmp)
    assert b"SellerPhone" in data and b"GPSLatitude" in data

    prepared = prepare_image(data)

    assert prepared.content_type == detect_image_type(prepared.content)
    assert b"SellerPhone" not in prepared.content and b"GPSLatitude" not in prepared.content
    cleaned = opened(prepared.content)
    assert cleaned.format == fmt
    assert cleaned.size == (prepared.width, prepared.height) == (100, 300)
    assert dict(cleaned.getexif()) == {}
    assert prepare_image(prepared.content).content == prepared.content  # nothing left to remove


def test_text_chunks_and_comments_are_removed_too():
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "taken at 12 Example Street")
    png = encoded("PNG", pnginfo=text)
    jpeg = encoded("JPEG", comment=b"taken at 12 Example Street")
    for data in (png, jpeg):
        assert b"Example Street" in data
        prepared = prepare_image(data)
        assert b"Example Street" not in prepared.content
        assert opened(prepared.content).size == (64, 48)


def test_a_smaller_max_side_is_honoured():
    thumbnail = opened(make_thumbnail(encoded("PNG", (500, 250)), max_side=100))
    assert thumbnail.size == (100, 50)


def gif() -> bytes:
    return encoded("GIF", mode="L")


def png_then_garbage() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"\x13\x37 not really a png" * 20


def truncated_jpeg() -> bytes:
    data = encoded("JPEG", (600, 400), quality=95)
    return data[: len(data) // 2]


def jpeg_magic_in_front_of_a_png() -> bytes:
    return b"\xff\xd8\xff" + encoded("PNG")


def riff_wave() -> bytes:
    return b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 32


@pytest.mark.parametrize(
    ("case", "make", "says"),
    [
        ("gif", gif, "only JPEG, PNG and WebP"),
        ("pdf", lambda: b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n", "only JPEG, PNG and WebP"),
        ("text", lambda: b"just some text, named photo.jpg by its uploader\n", "only JPEG, PNG and WebP"),
        ("empty", lambda: b"", "empty"),
        ("png header then garbage", png_then_garbage, "corrupt"),
        ("truncated jpeg", truncated_jpeg, "corrupt"),
        ("jpeg magic before png content", jpeg_magic_in_front_of_a_png, "corrupt"),
        ("riff that is not webp", riff_wave, "only JPEG, PNG and WebP"),
    ],
)
def test_anything_but_a_whole_jpeg_png_or_webp_is_refused_naming_content(case, make, says):
    error = refusal(make())
    assert says in error.violations[0].description
    assert error.reason == "INVALID_ARGUMENT"


def test_a_gif_renamed_to_jpg_is_refused_because_only_the_content_counts():
    name, content = "holiday.jpg", gif()
    assert name.endswith(".jpg")
    with pytest.raises(InvalidArgument) as caught:
        detect_image_type(content)
    assert caught.value.violations[0].field == "content"


def test_five_megabytes_are_accepted_and_one_byte_more_is_refused():
    jpeg = encoded("JPEG", (50, 50))
    at_limit = jpeg + b"\x00" * (MAX_IMAGE_BYTES - len(jpeg))
    assert len(at_limit) == MAX_IMAGE_BYTES == 5 * 1024 * 1024
    assert prepare_image(at_limit).content_type == "image/jpeg"

    error = refusal(at_limit + b"\x00")
    assert "larger than 5 MB" in error.violations[0].description


def with_declared_size(png: bytes, width: int, height: int) -> bytes:
    """The PNG with its IHDR chunk claiming another canvas size (CRC fixed, so it parses)."""
    ihdr_start = 8 + 4 + 4  # signature, chunk length, chunk type
    header = struct.pack(">II", width, height) + png[ihdr_start + 8 : ihdr_start + 13]
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + header) & 0xFFFFFFFF)
    return png[:ihdr_start] + header + crc + png[ihdr_start + 13 + 4 :]


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("side", [8_000, 10_000, 50_000])  # under, at (a warning) and over Pillow's limits
def test_a_decompression_bomb_is_refused_before_its_pixels_are_decoded(side):
    bomb = with_declared_size(encoded("PNG", (10, 10)), side, side)
    assert len(bomb) < 1024
    assert side * side > MAX_IMAGE_PIXELS
    error = refusal(bomb)
    assert "megapixels" in error.violations[0].description


def test_the_pixel_limit_is_ours_not_only_pillows():
    # 64 megapixels: Pillow would open it without complaint; the catalog refuses it by its size.
    bomb = with_declared_size(encoded("PNG", (10, 10)), 8_000, 8_000)
    assert Image.open(io.BytesIO(bomb)).size == (8_000, 8_000)
    assert "megapixels" in refusal(bomb).violations[0].description


def test_the_catalog_limits_and_stored_extensions():
    assert MAX_IMAGES_PER_PRODUCT == 8
    assert EXTENSIONS == {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
