"""ffmpeg invocations: argv built by pure functions, runs with progress parsed from -progress."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import ffmpeg

from generation.pipeline.tools import ToolUnavailable


class FfmpegError(RuntimeError):
    def __init__(self, message: str, stderr_tail: str) -> None:
        super().__init__(f"{message}: {stderr_tail}")
        self.stderr_tail = stderr_tail


@functools.cache
def ffmpeg_exe() -> str:
    """The binary imageio-ffmpeg ships, unless FFMPEG_BINARY or a system ffmpeg is preferred."""
    configured = os.environ.get("FFMPEG_BINARY")
    if configured:
        found = shutil.which(configured)
        if found is None:
            raise ToolUnavailable(
                f"FFMPEG_BINARY={configured!r} is not an executable.", "ffmpeg_unavailable"
            )
        return found
    import imageio_ffmpeg

    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError:  # the wheel's binary is missing (a stripped install)
        found = shutil.which("ffmpeg")
        if found is None:
            raise ToolUnavailable("No ffmpeg binary is installed.", "ffmpeg_unavailable") from None
        return found


def ffmpeg_version() -> str:
    out = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-version"], capture_output=True, text=True, timeout=10
    )
    if out.returncode != 0:
        raise FfmpegError("ffmpeg -version failed", out.stderr[-500:])
    return out.stdout.splitlines()[0]


def transcode_args(
    src: Path, dst: Path, *, max_height: int = 720, preset: str = "veryfast", crf: int = 23
) -> list[str]:
    """H.264 + AAC MP4 with fast start, scaled down (never up) to max_height, even sizes."""
    stream = ffmpeg.input(str(src))
    scale = f"scale=-2:'min({max_height},ih)':flags=bicubic"
    out = ffmpeg.output(
        stream,
        str(dst),
        vf=scale,
        vcodec="libx264",
        preset=preset,
        crf=crf,
        pix_fmt="yuv420p",
        acodec="aac",
        audio_bitrate="128k",
        movflags="+faststart",
    )
    out = out.global_args("-hide_banner", "-nostats", "-progress", "pipe:1").overwrite_output()
    return out.compile(cmd=ffmpeg_exe())


def parse_progress_line(line: str) -> float | None:
    """Seconds of output written, from one `key=value` line of ffmpeg's -progress stream."""
    key, _, value = line.strip().partition("=")
    if key in ("out_time_us", "out_time_ms"):  # both are microseconds, despite the name
        try:
            return max(0.0, int(value) / 1_000_000)
        except ValueError:
            return None
    return None


def run_ffmpeg(
    argv: list[str], *, duration_s: float, on_fraction: Callable[[float], None] | None = None
) -> None:
    """Run ffmpeg to the end, reporting the fraction of duration_s written so far."""
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr, text=True)
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                seconds = parse_progress_line(line)
                if seconds is not None and on_fraction and duration_s > 0:
                    on_fraction(min(1.0, seconds / duration_s))
            code = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        if code != 0:
            stderr.seek(0)
            tail = stderr.read()[-2000:].decode(errors="replace")
            raise FfmpegError(f"ffmpeg exited with {code}", tail)
