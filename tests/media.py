"""Media for tests, built by the tests with the ffmpeg binary the project itself uses."""

from __future__ import annotations

import subprocess
import tempfile
import wave
from collections.abc import Iterable
from pathlib import Path

import numpy as np

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


def write_clip(
    path: Path,
    frames: Iterable[np.ndarray],
    *,
    size: tuple[int, int],
    fps: int,
    seconds: float,
    audio: np.ndarray | None = None,
    audio_rate: int = 22_050,
    crf: int = 18,
) -> Path:
    """BGR frames (and mono float samples) to an H.264/AAC MP4 with fast start, as a phone or
    an earlier pipeline would leave it; frames are streamed to ffmpeg, never all in memory.
    `crf`: H.264's quality (18 looks clean; 30 and up shows blocks, as a messaging app's)."""
    width, height = size
    with tempfile.TemporaryDirectory() as tmp:
        args = [ffmpeg_exe(), "-v", "error", "-y"]
        args += ["-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{width}x{height}"]
        args += ["-r", str(fps), "-i", "pipe:0"]
        if audio is not None:
            wav = Path(tmp) / "audio.wav"
            write_wav(wav, audio, audio_rate)
            args += ["-i", str(wav), "-c:a", "aac", "-b:a", "96k"]
        args += ["-c:v", "libx264", "-preset", "ultrafast", "-crf", str(crf), "-pix_fmt", "yuv420p"]
        args += ["-movflags", "+faststart", "-t", f"{seconds:.3f}", str(path)]
        with tempfile.TemporaryFile() as stderr:  # a chatty ffmpeg must never block the pipe
            proc = subprocess.Popen(args, stdin=subprocess.PIPE, stderr=stderr)
            assert proc.stdin is not None
            for frame in frames:
                proc.stdin.write(frame.tobytes())
            proc.stdin.close()
            if proc.wait(timeout=300) != 0:
                stderr.seek(0)
                raise RuntimeError(f"ffmpeg failed: {stderr.read().decode()[-2000:]}")
    return path


def write_wav(path: Path, samples: np.ndarray, rate: int = 22_050) -> None:
    """Mono float samples in -1..1 as 16-bit PCM."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
