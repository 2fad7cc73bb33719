"""Media sniffing (by content, never by name) and probing with PyAV.

PyAV carries FFmpeg's libraries in its wheel, so probing needs no ffprobe binary. Given a pixel
limit, the probe holds the file to it before any decoder sees it (an image's own header, a
video's container) and hands the limit to FFmpeg's decoders as a second net.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

from generation.pipeline.imageheader import ImageHeader, ImageHeaderError, image_header
from generation.pipeline.videoheader import video_declared_size

log = logging.getLogger(__name__)

# Families by magic bytes. ISO BMFF files (MP4, MOV, M4A) carry "ftyp" at offset 4.
VIDEO_FAMILIES = {"mp4", "quicktime", "matroska"}
IMAGE_FAMILIES = {"jpeg", "png", "webp"}
AUDIO_FAMILIES = {"wav", "mp3", "ogg", "m4a", "flac"}


class ProbeError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def sniff(head: bytes) -> str | None:
    """The container family from the first bytes of a file, or None if unrecognised."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"qt  ":
            return "quicktime"
        if brand in (b"M4A ", b"M4B "):
            return "m4a"
        return "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"fLaC"):
        return "flac"
    return None


@dataclass(frozen=True)
class MediaProbe:
    family: str
    format_name: str
    duration_s: float
    has_video: bool
    has_audio: bool
    width: int = 0
    height: int = 0
    fps: float = 0.0
    video_codec: str = ""
    audio_codec: str = ""
    audio_sample_rate: int = 0
    audio_channels: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def _demuxed_seconds(container: object, stream: object) -> float:
    """Walk every packet (no decoding) and return how far the stream really reaches."""
    last_end = 0.0
    for packet in container.demux(stream):  # type: ignore[attr-defined]
        if packet.pts is None or packet.time_base is None:
            continue
        end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
        last_end = max(last_end, end)
    return last_end


def bmff_cut_short(path: Path) -> bool:
    """True when an MP4/MOV's top-level boxes claim more bytes than the file holds."""
    size = path.stat().st_size
    offset = 0
    with open(path, "rb") as handle:
        while offset + 8 <= size:
            handle.seek(offset)
            header = handle.read(16)
            box = int.from_bytes(header[:4], "big")
            if box == 1 and len(header) >= 16:
                box = int.from_bytes(header[8:16], "big")
            elif box == 0:  # "extends to end of file"
                return False
            if box < 8:
                return False  # not a box walk we understand; leave the verdict to the demuxer
            offset += box
    return offset > size


def pixels_check(width: int, height: int, max_pixels: int | None) -> None:
    if max_pixels is not None and width * height > max_pixels:
        raise ProbeError(
            "media_too_many_pixels",
            f"The picture is {width}x{height} ({width * height:,} pixels), over the limit of "
            f"{max_pixels:,} pixels.",
        )


def image_bounded(path: Path, family: str, max_pixels: int | None) -> ImageHeader:
    """An image's header, held to the pixel limit; nothing is decoded."""
    try:
        header = image_header(path, family)
    except ImageHeaderError as exc:
        raise ProbeError("media_corrupt", str(exc)) from None
    pixels_check(header.width, header.height, max_pixels)
    return header


def sniff_file(path: Path) -> str:
    with open(path, "rb") as handle:
        family = sniff(handle.read(64))
    if family is None:
        raise ProbeError("unsupported_media_type", "The file is not a video, image or audio file.")
    return family


def probe(path: Path, *, max_pixels: int | None = None) -> MediaProbe:
    """Open, describe and check a media file end to end; raises ProbeError with a code.

    With `max_pixels`, a picture over it is refused (media_too_many_pixels) from the image
    header or the video container before a decoder allocates it, and the decoders themselves
    refuse anything larger (a container that lies is then refused as media_corrupt).
    """
    import av

    family = sniff_file(path)
    if family in IMAGE_FAMILIES:
        image_bounded(path, family, max_pixels)
    elif (declared_size := video_declared_size(path, family)) is not None:
        pixels_check(*declared_size, max_pixels)
    if family in {"mp4", "quicktime", "m4a"} and bmff_cut_short(path):
        raise ProbeError("media_truncated", "The file ends before its last section does.")
    # FFmpeg decodes a frame while opening (to learn the pixel format): bound that decoder too.
    bound = {"max_pixels": str(max_pixels)} if max_pixels is not None else {}
    try:
        container = av.open(str(path), options=bound)
    except av.error.FFmpegError as exc:
        log.info("probe: open failed: %s", exc)
        raise ProbeError(
            "media_corrupt", "The file could not be read; it may be damaged."
        ) from None
    with container:
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        main = video if video is not None else audio
        if main is None:
            raise ProbeError("media_corrupt", "The file has no video or audio stream.")
        declared = float(container.duration / 1_000_000) if container.duration else 0.0
        if video is not None:
            pixels_check(video.codec_context.width, video.codec_context.height, max_pixels)
            video.codec_context.options = dict(bound)
            try:
                next(container.decode(video))
            except (av.error.FFmpegError, StopIteration) as exc:
                log.info("probe: first frame failed: %s", exc)
                raise ProbeError(
                    "media_corrupt", "The first frame does not decode; the file may be damaged."
                ) from None
            container.seek(0)
        try:
            reached = _demuxed_seconds(container, main)
        except av.error.FFmpegError as exc:
            log.info("probe: demux failed: %s", exc)
            raise ProbeError(
                "media_truncated", "The file ends before its last section does."
            ) from None
        # A file cut short still declares its full length in the header; its packets do not.
        # Judge the stream that was walked by its own declared length: another stream (audio
        # padded past the last frame, say) may legitimately run a little longer.
        own = float(main.duration * main.time_base) if main.duration and main.time_base else 0.0
        expected = own or declared
        if family not in IMAGE_FAMILIES and expected > 0.5 and reached < expected * 0.9:
            raise ProbeError(
                "media_truncated",
                f"The file ends at {reached:.1f} s of the {expected:.1f} s it declares.",
            )
        rate = video.average_rate if video is not None else None
        return MediaProbe(
            family=family,
            format_name=container.format.name,
            duration_s=round(expected or reached, 3),
            has_video=video is not None,
            has_audio=audio is not None,
            width=video.codec_context.width if video is not None else 0,
            height=video.codec_context.height if video is not None else 0,
            fps=round(float(Fraction(rate)), 3) if rate else 0.0,
            video_codec=video.codec_context.name if video is not None else "",
            audio_codec=audio.codec_context.name if audio is not None else "",
            audio_sample_rate=audio.codec_context.sample_rate if audio is not None else 0,
            audio_channels=audio.codec_context.channels if audio is not None else 0,
        )
