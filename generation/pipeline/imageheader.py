"""An image's dimensions, read from its container header without decoding a pixel.

A decoder allocates the whole picture the header declares before it reads the compressed data,
so a 1 MB file can claim 16000x16000 pixels and cost a gigabyte. Reading the header first lets
intake refuse such a file before any decoder (PyAV, Pillow, OpenCV) is handed it.

Covers the image families intake accepts: PNG (IHDR), JPEG (the first SOFn marker, walking the
segments before it) and WebP (VP8, VP8L, VP8X).
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_DEPTHS = {0: {1, 2, 4, 8, 16}, 2: {8, 16}, 3: {1, 2, 4, 8}, 4: {8, 16}, 6: {8, 16}}
# Start-of-frame markers: every SOFn except C4 (DHT), C8 (reserved) and CC (DAC).
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_JPEG_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RST0-7 carry no length
_JPEG_MAX_FILL = 1024  # 0xFF fill bytes before one marker; encoders write a handful at most
_WEBP_MAX_CHUNKS = 64  # chunks walked before the image chunk of a VP8X file


class ImageHeaderError(ValueError):
    """The header is missing, damaged or declares something impossible; the message says which
    in words a person can act on."""


@dataclass(frozen=True)
class ImageHeader:
    family: str  # "png" | "jpeg" | "webp"
    width: int
    height: int
    lossless: bool  # PNG and VP8L WebP; a re-encode should keep it so

    @property
    def pixels(self) -> int:
        return self.width * self.height


def image_header(path: Path, family: str) -> ImageHeader:
    """The header of an image already sniffed as `family`; raises ImageHeaderError."""
    readers = {"png": _png, "jpeg": _jpeg, "webp": _webp}
    if family not in readers:
        raise ValueError(f"no header reader for {family!r}")
    with open(path, "rb") as handle:
        header = readers[family](handle)
    if header.width <= 0 or header.height <= 0:
        raise ImageHeaderError(
            f"The {_NAMES[family]} header declares an empty picture "
            f"({header.width}x{header.height})."
        )
    return header


_NAMES = {"png": "PNG", "jpeg": "JPEG", "webp": "WebP"}


def _exact(handle: BinaryIO, count: int, what: str) -> bytes:
    data = handle.read(count)
    if len(data) < count:
        raise ImageHeaderError(f"The file ends inside its {what}.")
    return data


# --- PNG --------------------------------------------------------------------------------------
def _png(handle: BinaryIO) -> ImageHeader:
    head = _exact(handle, 33, "PNG header")
    length, kind = struct.unpack(">I4s", head[8:16])
    if head[:8] != PNG_SIGNATURE or kind != b"IHDR" or length != 13:
        raise ImageHeaderError("The PNG does not begin with its IHDR header.")
    (crc,) = struct.unpack(">I", head[29:33])
    if zlib.crc32(head[12:29]) != crc:
        raise ImageHeaderError("The PNG header is damaged (its checksum does not match).")
    width, height, depth, colour = struct.unpack(">IIBB", head[16:26])
    if width > 2**31 - 1 or height > 2**31 - 1:
        raise ImageHeaderError(f"The PNG header declares an impossible size ({width}x{height}).")
    if depth not in _PNG_DEPTHS.get(colour, set()):
        raise ImageHeaderError(
            f"The PNG header declares an impossible pixel format "
            f"(colour type {colour}, {depth}-bit)."
        )
    return ImageHeader("png", width, height, lossless=True)


# --- JPEG -------------------------------------------------------------------------------------
def _jpeg(handle: BinaryIO) -> ImageHeader:
    if _exact(handle, 2, "JPEG header") != b"\xff\xd8":
        raise ImageHeaderError("The JPEG does not begin with its start-of-image marker.")
    while True:
        marker = _jpeg_marker(handle)
        if marker in _JPEG_STANDALONE:
            continue
        if marker in (0xD8, 0xD9, 0xDA):  # a second SOI, EOI or start of scan: no frame yet
            raise ImageHeaderError("The JPEG has no frame header before its image data.")
        (length,) = struct.unpack(">H", _exact(handle, 2, "JPEG header"))
        if length < 2:
            raise ImageHeaderError("The JPEG's segments are damaged.")
        if marker in _JPEG_SOF:
            frame = _exact(handle, min(length - 2, 6), "JPEG frame header")
            if len(frame) < 6:
                raise ImageHeaderError("The JPEG's frame header is too short.")
            height, width = struct.unpack(">HH", frame[1:5])
            if height == 0:  # the height would follow the first scan in a DNL marker
                raise ImageHeaderError("The JPEG does not declare its height in its header.")
            return ImageHeader("jpeg", width, height, lossless=False)
        _skip(handle, length - 2, "JPEG header")


def _jpeg_marker(handle: BinaryIO) -> int:
    if _exact(handle, 1, "JPEG header") != b"\xff":
        raise ImageHeaderError("The JPEG's segments are damaged.")
    for _ in range(_JPEG_MAX_FILL):
        byte = _exact(handle, 1, "JPEG header")[0]
        if byte != 0xFF:
            if byte == 0x00:
                raise ImageHeaderError("The JPEG's segments are damaged.")
            return byte
    raise ImageHeaderError("The JPEG's segments are damaged.")


def _skip(handle: BinaryIO, count: int, what: str) -> None:
    target = handle.tell() + count
    if target > os.fstat(handle.fileno()).st_size:  # seeking past the end would not say so
        raise ImageHeaderError(f"The file ends inside its {what}.")
    handle.seek(target)


# --- WebP -------------------------------------------------------------------------------------
def _webp(handle: BinaryIO) -> ImageHeader:
    riff = _exact(handle, 12, "WebP header")
    if riff[:4] != b"RIFF" or riff[8:12] != b"WEBP":
        raise ImageHeaderError("The WebP does not begin with its RIFF header.")
    kind, payload = _webp_chunk(handle, 30)
    if kind == b"VP8X":
        return _webp_extended(handle, payload)
    if kind in (b"VP8 ", b"VP8L"):
        return _webp_frame(kind, payload)
    raise ImageHeaderError("The WebP's first section is neither an image nor its header.")


def _webp_chunk(handle: BinaryIO, keep: int) -> tuple[bytes, bytes]:
    """The next chunk's kind and up to `keep` bytes of its payload; the rest is skipped."""
    kind, size = struct.unpack("<4sI", _exact(handle, 8, "WebP header"))
    payload = _exact(handle, min(size, keep), "WebP header")
    _skip(handle, size + (size & 1) - len(payload), "WebP data")  # chunks are padded to even
    return kind, payload


def _webp_frame(kind: bytes, payload: bytes) -> ImageHeader:
    if kind == b"VP8 ":
        # 3-byte frame tag (bit 0 clear on a key frame), start code, then 14-bit sizes.
        if len(payload) < 10 or payload[0] & 1 or payload[3:6] != b"\x9d\x01\x2a":
            raise ImageHeaderError("The WebP's lossy image header is damaged.")
        width, height = struct.unpack("<HH", payload[6:10])
        return ImageHeader("webp", width & 0x3FFF, height & 0x3FFF, lossless=False)
    # VP8L: signature byte, then width-1 and height-1 in 14 bits each and a 3-bit version.
    if len(payload) < 5 or payload[0] != 0x2F:
        raise ImageHeaderError("The WebP's lossless image header is damaged.")
    (bits,) = struct.unpack("<I", payload[1:5])
    if bits >> 29:
        raise ImageHeaderError("The WebP's lossless image header has an unknown version.")
    width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return ImageHeader("webp", width, height, lossless=True)


def _webp_extended(handle: BinaryIO, payload: bytes) -> ImageHeader:
    if len(payload) < 10:
        raise ImageHeaderError("The WebP's extended header is too short.")
    width = int.from_bytes(payload[4:7], "little") + 1
    height = int.from_bytes(payload[7:10], "little") + 1
    if payload[0] & 0x02:
        # Animated: every frame must fit in the canvas, so the canvas bounds the decoder.
        return ImageHeader("webp", width, height, lossless=False)
    for _ in range(_WEBP_MAX_CHUNKS):
        kind, chunk = _webp_chunk(handle, 30)
        if kind in (b"VP8 ", b"VP8L"):
            frame = _webp_frame(kind, chunk)
            if (frame.width, frame.height) != (width, height):
                # A decoder sizes its buffer by the frame, so a small canvas must not hide it.
                raise ImageHeaderError(
                    f"The WebP's image ({frame.width}x{frame.height}) does not match the "
                    f"canvas its header declares ({width}x{height})."
                )
            return frame
    raise ImageHeaderError("The WebP's extended header is not followed by an image.")
