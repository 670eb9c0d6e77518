"""Product images: what the catalog accepts and the thumbnail it makes. No I/O.

An image is accepted when its content (never its name) is JPEG, PNG or WebP, it is at most 5 MB, it decodes
completely with the decoder of that type, and it is not a decompression bomb. Refusals are `InvalidArgument`
naming the field `content`, so the caller learns which field was wrong and nothing about the decoder.
An accepted image loses its metadata (EXIF, XMP, comments: a phone photo may hold where it was taken), and
its thumbnail is a small upright WebP.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, PngImagePlugin

from services.kit.errors import FieldViolation, InvalidArgument

MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGES_PER_PRODUCT = 8
THUMBNAIL_MAX_SIDE = 320
# A 5 MB PNG of one colour can declare a 100,000 x 100,000 canvas; decoding it would take gigabytes.
# 40 megapixels covers any camera a seller is likely to use.
MAX_IMAGE_PIXELS = 40_000_000
CONTENT_FIELD = "content"

JPEG = "image/jpeg"
PNG = "image/png"
WEBP = "image/webp"
THUMBNAIL_CONTENT_TYPE = WEBP

# The file extension each accepted type is stored under (storage serves the type back from it).
EXTENSIONS: dict[str, str] = {JPEG: ".jpg", PNG: ".png", WEBP: ".webp"}
# Pillow's format name for each type: only that decoder is allowed to open the bytes.
_PILLOW_FORMATS: dict[str, str] = {JPEG: "JPEG", PNG: "PNG", WEBP: "WEBP"}
# The `info` entries that affect how pixels look, kept when an image is encoded again.
_PIXEL_INFO = frozenset({"icc_profile", "transparency", "gamma", "dpi"})
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class PreparedImage:
    """An accepted image and its thumbnail, ready to be stored.

    `content` is the upload itself, or, when it carried metadata, the same picture encoded again without it.
    `width` and `height` are those of the upright picture.
    """

    content_type: str
    content: bytes
    width: int
    height: int
    thumbnail: bytes
    thumbnail_content_type: str = THUMBNAIL_CONTENT_TYPE


def refuse(description: str) -> InvalidArgument:
    return InvalidArgument(
        f"image refused: {description}", violations=[FieldViolation(field=CONTENT_FIELD, description=description)]
    )


def detect_image_type(data: bytes) -> str:
    """The MIME type of `data` from its leading bytes: image/jpeg, image/png or image/webp.

    Raises InvalidArgument (field `content`) for an empty or oversized file and for any other content.
    """
    if not data:
        raise refuse("the file is empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise refuse(f"the file is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(_PNG_SIGNATURE):
        return PNG
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    raise refuse("only JPEG, PNG and WebP images are accepted")


def prepare_image(data: bytes, *, max_side: int = THUMBNAIL_MAX_SIDE) -> PreparedImage:
    """Checks `data` fully (type, size, dimensions, a complete decode) and makes its thumbnail.

    An image that carries EXIF or XMP (a phone photo may hold where it was taken) is encoded again, upright
    and without them; any other image is kept byte for byte. CPU-bound (a large JPEG takes a few hundred
    milliseconds): async callers run it in `asyncio.to_thread`.
    """
    content_type = detect_image_type(data)
    with _decode(data, content_type) as image:
        carries_metadata = _carries_metadata(image)
        try:
            upright = ImageOps.exif_transpose(image)
        except (OSError, SyntaxError, ValueError) as error:
            raise refuse("the image metadata is corrupt") from error
    # Pillow writes some metadata (a JPEG comment) back from `info` on save: keep only what drawing needs.
    upright.info = {key: value for key, value in upright.info.items() if key in _PIXEL_INFO}
    content = _encode_without_metadata(upright, content_type) if carries_metadata else data
    width, height = upright.size
    return PreparedImage(
        content_type=content_type,
        content=content,
        width=width,
        height=height,
        thumbnail=_thumbnail_of(upright, max_side),
    )


def make_thumbnail(data: bytes, max_side: int = THUMBNAIL_MAX_SIDE) -> bytes:
    """A WebP no larger than `max_side` on its long side, same aspect ratio, upright, without EXIF."""
    return prepare_image(data, max_side=max_side).thumbnail


def _decode(data: bytes, content_type: str) -> Image.Image:
    """Opens `data` with the decoder of `content_type` only and loads every pixel."""
    expected = _PILLOW_FORMATS[content_type]
    try:
        # Pillow's own bomb check (a warning, then an error, far above our limit) runs first; ours decides.
        image = Image.open(io.BytesIO(data), formats=[expected])
        if image.format != expected:
            image.close()
            raise refuse("the content does not match its image type")
        # The header is read; refuse a huge canvas before any pixel is decoded.
        if image.width <= 0 or image.height <= 0 or image.width * image.height > MAX_IMAGE_PIXELS:
            image.close()
            raise _too_many_pixels()
        image.load()
    except InvalidArgument:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _too_many_pixels() from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        # Truncated or corrupt data behind valid magic bytes; the decoder's message stays here.
        raise refuse("the image is corrupt or truncated") from error
    return image


def _too_many_pixels() -> InvalidArgument:
    return refuse(f"the image is larger than {MAX_IMAGE_PIXELS // 1_000_000} megapixels")


def _carries_metadata(image: Image.Image) -> bool:
    """EXIF, XMP, a JPEG comment or PNG text chunks: anything a camera or an editor may have written."""
    if bool(image.getexif()) or any(key in image.info for key in ("exif", "xmp", "comment")):
        return True
    return isinstance(image, PngImagePlugin.PngImageFile) and bool(image.text)


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)


def _encode_without_metadata(image: Image.Image, content_type: str) -> bytes:
    """The image in its own format with its colour profile but no EXIF or XMP."""
    out = io.BytesIO()
    icc_profile = image.info.get("icc_profile")
    extra = {"icc_profile": icc_profile} if icc_profile else {}
    if content_type == JPEG:
        image = image if image.mode in ("RGB", "L", "CMYK") else image.convert("RGB")
        image.save(out, format="JPEG", quality=92, **extra)
    elif content_type == PNG:
        image.save(out, format="PNG", **extra)
    else:
        image.convert("RGBA" if _has_alpha(image) else "RGB").save(out, format="WEBP", quality=90, **extra)
    return out.getvalue()


def _thumbnail_of(image: Image.Image, max_side: int) -> bytes:
    small = image.convert("RGBA" if _has_alpha(image) else "RGB")
    small.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    # A fresh image carries no EXIF, ICC profile or XMP unless asked to: nothing of the camera leaks.
    small.save(out, format="WEBP", quality=80, method=4)
    return out.getvalue()
