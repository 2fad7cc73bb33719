"""Media for tests, built by the tests with the ffmpeg binary the project itself uses."""

from __future__ import annotations

import subprocess
from pathlib import Path

from generation.pipeline.ffmpeg import ffmpeg_exe


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", *args], check=True, timeout=120)


def make_clip(
    path: Path,
    *,
    seconds: float = 2.0,
    size: str = "320x240",
    fps: int = 24,
    audio: bool = True,
    faststart: bool = True,
    source: str = "testsrc2",
) -> Path:
    args = ["-f", "lavfi", "-i", f"{source}=size={size}:rate={fps}:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
        args += ["-c:a", "aac", "-shortest"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if faststart:
        args += ["-movflags", "+faststart"]
    ffmpeg(*args, str(path))
    return path


def make_image(path: Path, *, size: str = "64x48") -> Path:
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={size}", "-frames:v", "1", str(path))
    return path


def make_corrupt_mp4(path: Path) -> Path:
    """A well-formed box layout (ftyp + mdat) around bytes that are no media at all."""
    ftyp = (24).to_bytes(4, "big") + b"ftypisom" + b"\x00\x00\x02\x00" + b"isomiso2"
    junk = bytes((i * 7919) % 251 for i in range(20_000))
    mdat = (len(junk) + 8).to_bytes(4, "big") + b"mdat" + junk
    path.write_bytes(ftyp + mdat)
    return path


def truncate(src: Path, dst: Path, keep: float = 0.5) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * keep)])
    return dst
