"""Media sniffing (by content, never by name) and probing with PyAV.

PyAV carries FFmpeg's libraries in its wheel, so probing needs no ffprobe binary.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

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


def probe(path: Path) -> MediaProbe:
    """Open, describe and check a media file end to end; raises ProbeError with a code."""
    import av

    with open(path, "rb") as handle:
        family = sniff(handle.read(64))
    if family is None:
        raise ProbeError("unsupported_media_type", "The file is not a video, image or audio file.")
    if family in {"mp4", "quicktime", "m4a"} and bmff_cut_short(path):
        raise ProbeError("media_truncated", "The file ends before its last section does.")
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as exc:
        raise ProbeError("media_corrupt", f"The file could not be read: {exc}") from None
    with container:
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        if video is None and audio is None:
            raise ProbeError("media_corrupt", "The file has no video or audio stream.")
        declared = float(container.duration / 1_000_000) if container.duration else 0.0
        if video is not None:
            try:
                next(container.decode(video))
            except (av.error.FFmpegError, StopIteration) as exc:
                raise ProbeError(
                    "media_corrupt", f"The first frame does not decode: {exc}"
                ) from None
            container.seek(0)
        main = video if video is not None else audio
        try:
            reached = _demuxed_seconds(container, main)
        except av.error.FFmpegError as exc:
            raise ProbeError("media_truncated", f"The file ends early: {exc}") from None
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
