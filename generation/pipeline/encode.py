"""Encode stage: rendered frames and the soundtrack into a fast-start H.264/AAC MP4.

Frames stream into ffmpeg's stdin as raw RGB, one at a time, so a 20 s clip never sits in
memory twice. Also makes the poster JPEG and the short preview clip the feed shows first.
"""

from __future__ import annotations

import functools
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import ffmpeg
import numpy as np

from generation.pipeline.ffmpeg import FfmpegError, ffmpeg_exe, ffmpeg_version, run_ffmpeg
from generation.pipeline.probe import MediaProbe, probe

QUIET = ("-hide_banner", "-nostats", "-loglevel", "warning")
FINISH_TIMEOUT_S = 300  # after the last frame, ffmpeg only flushes; longer means it is stuck


@dataclass(frozen=True)
class EncodeResult:
    path: Path
    probe: MediaProbe
    frames: int  # frames written; 0 when the output was cut from another file
    backend: str  # "ffmpeg version ..." as the binary reports itself
    timings: dict[str, float] = field(default_factory=dict)


@functools.cache
def _backend() -> str:
    return ffmpeg_version().split(" Copyright")[0]


def encode_args(
    *,
    fps: int,
    width: int,
    height: int,
    audio_wav: Path | None,
    out_mp4: Path,
    crf: int = 20,
    preset: str = "veryfast",
    video_filter: str | None = None,
    duration_s: float | None = None,
    frame_format: str = "rgb24",
) -> list[str]:
    """argv for raw RGB (or `frame_format`: bgr24) frames on stdin (+ a WAV) to H.264 yuv420p
    + AAC with fast start.

    With `duration_s` (frames / fps) the audio is padded and cut to exactly that length;
    without it ffmpeg's -shortest decides, which can overshoot the video by a fraction of a
    second."""
    if width % 2 or height % 2:
        raise ValueError(f"yuv420p needs even sizes, got {width}x{height}")
    frames = ffmpeg.input(
        "pipe:", format="rawvideo", pix_fmt=frame_format, s=f"{width}x{height}", framerate=fps
    )
    streams = [frames.video]
    options: dict[str, object] = {"vcodec": "libx264", "preset": preset, "crf": crf}
    options |= {"pix_fmt": "yuv420p", "movflags": "+faststart"}
    if video_filter:
        options["vf"] = video_filter
    if audio_wav is not None:
        streams.append(ffmpeg.input(str(audio_wav)).audio)
        # Pad the audio and stop with the video: the frame count decides the length.
        options |= {"acodec": "aac", "audio_bitrate": "160k"}
        if duration_s is not None:
            options["af"] = f"apad=whole_dur={duration_s:.6f},atrim=end={duration_s:.6f}"
        else:
            options |= {"af": "apad", "shortest": None}
    out = ffmpeg.output(*streams, str(out_mp4), **options)
    return out.global_args(*QUIET).overwrite_output().compile(cmd=ffmpeg_exe())


def encode(
    frames: Iterable[np.ndarray],
    *,
    fps: int,
    width: int,
    height: int,
    audio_wav: Path | None,
    out_mp4: Path,
    crf: int = 20,
    preset: str = "veryfast",
    video_filter: str | None = None,
    duration_s: float | None = None,
    frame_format: str = "rgb24",
) -> EncodeResult:
    """Stream HxWx3 uint8 RGB frames (BGR with `frame_format="bgr24"`) through ffmpeg into
    out_mp4 and probe the result."""
    began = time.perf_counter()
    argv = encode_args(
        fps=fps,
        width=width,
        height=height,
        audio_wav=audio_wav,
        out_mp4=out_mp4,
        crf=crf,
        preset=preset,
        video_filter=video_filter,
        duration_s=duration_s,
        frame_format=frame_format,
    )
    written = _stream(argv, frames, (height, width, 3))
    encoded = time.perf_counter()
    result = probe(out_mp4)
    timings = {"encode": encoded - began, "probe": time.perf_counter() - encoded}
    return EncodeResult(out_mp4, result, written, _backend(), _rounded(timings))


def _stream(argv: list[str], frames: Iterable[np.ndarray], shape: tuple[int, int, int]) -> int:
    """Feed frames to ffmpeg's stdin; stderr goes to a file so a chatty ffmpeg never blocks."""
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=stderr
        )
        assert proc.stdin is not None
        written = 0
        try:
            for frame in frames:
                _check_frame(frame, shape, written)
                proc.stdin.write(np.ascontiguousarray(frame).data)
                written += 1
            proc.stdin.close()
            code = proc.wait(timeout=FINISH_TIMEOUT_S)
        except BrokenPipeError:
            code = proc.wait(timeout=FINISH_TIMEOUT_S)
        except BaseException:  # a bad frame, a renderer error, a timeout: leave no ffmpeg behind
            proc.kill()
            proc.wait()
            raise
        if code != 0 or written == 0:
            stderr.seek(0)
            tail = stderr.read()[-2000:].decode(errors="replace")
            raise FfmpegError(f"encoding {written} frames failed (exit {code})", tail)
    return written


def _check_frame(frame: np.ndarray, shape: tuple[int, int, int], index: int) -> None:
    if frame.shape != shape or frame.dtype != np.uint8:
        raise ValueError(
            f"frame {index} is {frame.shape} {frame.dtype}; expected {shape} uint8 RGB"
        )


def _rounded(timings: dict[str, float]) -> dict[str, float]:
    return {name: round(seconds, 4) for name, seconds in timings.items()}


# --- Poster and preview -------------------------------------------------------------------------
def poster_args(mp4: Path, out_jpg: Path, at_s: float) -> list[str]:
    """One frame at at_s as a high-quality JPEG (seeking before the input: fast and exact)."""
    stream = ffmpeg.input(str(mp4), ss=f"{max(0.0, at_s):.3f}")
    out = ffmpeg.output(stream, str(out_jpg), **{"frames:v": 1, "q:v": 3, "update": 1})
    return out.global_args(*QUIET).overwrite_output().compile(cmd=ffmpeg_exe())


def poster(mp4: Path, out_jpg: Path, at_s: float = 0.0) -> Path:
    run_ffmpeg(poster_args(mp4, out_jpg, at_s), duration_s=0.0)
    if not out_jpg.exists() or out_jpg.stat().st_size == 0:
        raise FfmpegError(f"no frame at {at_s} s for a poster", "")
    return out_jpg


def preview_args(mp4: Path, out_mp4: Path, *, seconds: float, height: int) -> list[str]:
    """The first seconds, scaled down (never up) to height, muted, lower quality, fast start."""
    stream = ffmpeg.input(str(mp4), t=f"{seconds:.3f}")
    out = ffmpeg.output(
        stream.video,
        str(out_mp4),
        vf=f"scale=-2:'min({height},ih)':flags=bicubic",
        vcodec="libx264",
        preset="veryfast",
        crf=28,
        pix_fmt="yuv420p",
        movflags="+faststart",
        an=None,
    )
    return out.global_args(*QUIET).overwrite_output().compile(cmd=ffmpeg_exe())


def preview(mp4: Path, out_mp4: Path, *, seconds: float = 3.0, height: int = 480) -> EncodeResult:
    began = time.perf_counter()
    run_ffmpeg(preview_args(mp4, out_mp4, seconds=seconds, height=height), duration_s=seconds)
    timings = {"preview": time.perf_counter() - began}
    return EncodeResult(out_mp4, probe(out_mp4), 0, _backend(), _rounded(timings))
