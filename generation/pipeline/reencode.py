"""Re-encoding an uploaded still: fresh pixels in a fresh file of the same family.

What is stored is what Pillow decoded and wrote again, never the bytes the client sent: data
after the image (an appended archive), metadata (EXIF with its GPS position, XMP, comments,
text chunks) and extra frames do not survive. EXIF orientation is applied to the pixels first,
so the picture still stands the right way up, and an embedded ICC profile is converted to sRGB
and then dropped, so the colours stay right in decoders that ignore profiles (OpenCV, FFmpeg).
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from generation.pipeline.probe import ProbeError, image_bounded

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)

JPEG_QUALITY = 95  # high enough that one more generation is not visible
WEBP_QUALITY = 95
_PILLOW_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
# The modes each family is written in; anything else is converted to RGB, or RGBA with alpha.
_KEPT_MODES = {
    "png": {"L", "LA", "RGB", "RGBA", "I;16", "I"},
    "jpeg": {"L", "RGB"},
    "webp": {"RGB", "RGBA"},
}


def image_reencode(source: Path, target: Path, *, family: str, max_pixels: int | None) -> None:
    """Write `source` (a PNG, JPEG or WebP) to `target` as a clean file of the same family.

    The header is held to `max_pixels` before Pillow is handed the file, and Pillow's own idea
    of the size must agree with it before a pixel is decoded. Raises ProbeError with a code.
    """
    from PIL import Image, JpegImagePlugin, UnidentifiedImageError

    header = image_bounded(source, family, max_pixels)
    try:
        with Image.open(source, formats=[_PILLOW_FORMATS[family]]) as image:
            _check_opened(image, header.width, header.height, family)
            sampling = JpegImagePlugin.get_sampling(image) if family == "jpeg" else -1
            image.load()
            clean = _clean_pixels(image, family)
    except ProbeError:
        raise
    except Image.DecompressionBombError:  # Pillow's own bound, should max_pixels be above it
        raise ProbeError("media_too_many_pixels", "The image has too many pixels.") from None
    except Exception as exc:
        # A hostile file can trip any decoder path (zlib.error, struct.error, ...); it is bad
        # input all the same, never a server error.
        expected = isinstance(exc, (UnidentifiedImageError, OSError, SyntaxError, ValueError))
        log.log(
            logging.INFO if expected else logging.WARNING,
            "reencode: %s did not decode: %r",
            family,
            exc,
            exc_info=not expected,
        )
        raise ProbeError(
            "media_corrupt", "The image could not be decoded; it may be damaged."
        ) from None
    _write(clean, target, family, lossless=header.lossless, sampling=sampling)


def _check_opened(image: Image.Image, width: int, height: int, family: str) -> None:
    """What Pillow read from the header, before it decodes: the same size, and one frame."""
    if image.size != (width, height):
        raise ProbeError(
            "media_corrupt",
            "The image's header does not agree with its contents; it may be damaged.",
        )
    if family != "jpeg" and getattr(image, "n_frames", 1) > 1:
        # A JPEG's extra frames (MPO) are previews and depth maps, dropped with the rest; those
        # of a PNG or WebP are an animation, which a still would quietly lose.
        raise ProbeError(
            "unsupported_media_type", "Animated images are not accepted; upload a still image."
        )


def _clean_pixels(image: Image.Image, family: str) -> Image.Image:
    """Upright, sRGB pixels in a mode the family keeps, with no metadata attached."""
    from PIL import ImageOps

    upright = ImageOps.exif_transpose(image)
    icc = upright.info.get("icc_profile")
    if "transparency" in upright.info and family != "jpeg":
        upright = upright.convert("RGBA")  # a palette or colour key becomes a real alpha
    elif upright.mode not in _KEPT_MODES[family] and upright.mode != "CMYK":
        alpha = "A" in upright.mode and family != "jpeg"
        upright = upright.convert("RGBA" if alpha else "L" if upright.mode == "1" else "RGB")
    clean = _to_srgb(upright, icc)
    clean.info = {}  # savers take ICC profiles, comments and transparency from here
    return clean


def _to_srgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    from PIL import ImageCms

    if icc and image.mode in ("RGB", "RGBA", "CMYK"):
        try:
            converted = ImageCms.profileToProfile(
                image,
                ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                ImageCms.createProfile("sRGB"),
                outputMode="RGBA" if image.mode == "RGBA" else "RGB",
            )
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError) as exc:
            log.info("reencode: ICC profile ignored: %s", exc)  # as browsers ignore a bad one
    # No profile (or a grey or unreadable one): the pixels are taken as sRGB already.
    return image.convert("RGB") if image.mode == "CMYK" else image


def _write(image: Image.Image, target: Path, family: str, *, lossless: bool, sampling: int) -> None:
    if family == "jpeg":
        # Keep the source's chroma subsampling (4:4:4, 4:2:2 or 4:2:0) so no detail is lost.
        subsampling = sampling if sampling in (0, 1, 2) else 2
        image.save(target, "JPEG", quality=JPEG_QUALITY, subsampling=subsampling, optimize=True)
    elif family == "webp":
        image.save(target, "WEBP", lossless=lossless, quality=WEBP_QUALITY, method=4)
    else:
        image.save(target, "PNG")
