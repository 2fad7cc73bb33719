"""Reading a capture clip: probe, sampled video frames (upright, BGR) and 16 kHz mono audio."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

AUDIO_RATE = 16_000


class UnreadableClip(Exception):
    """The container or its streams could not be read."""


@dataclass(frozen=True)
class ClipInfo:
    duration_s: float
    width: int  # as displayed, after the rotation below
    height: int
    fps: float
    rotation: int  # degrees from the display matrix; frames are returned already turned upright
    has_audio: bool
    has_video: bool


@dataclass(frozen=True)
class SampledFrame:
    index: int
    time_s: float
    image: np.ndarray  # BGR uint8, upright


def probe_clip(clip: Path) -> ClipInfo:
    import av

    try:
        with av.open(str(clip)) as container:
            video = container.streams.video[0] if container.streams.video else None
            has_audio = bool(container.streams.audio)
            duration = _duration_s(container, video)
            if video is None:
                return ClipInfo(duration, 0, 0, 0.0, 0, has_audio, has_video=False)
            fps = float(video.average_rate or video.guessed_rate or 0.0)
            rotation = _first_frame_rotation(container, video)
            width, height = video.codec_context.width, video.codec_context.height
    except (av.error.FFmpegError, IndexError, StopIteration) as exc:
        raise UnreadableClip(str(exc)) from exc
    if rotation % 180:
        width, height = height, width
    return ClipInfo(duration, width, height, fps, rotation, has_audio, has_video=True)


def _duration_s(container: object, video: object | None) -> float:
    if getattr(container, "duration", None):
        return float(container.duration) / 1_000_000  # type: ignore[attr-defined]
    if video is not None and video.duration and video.time_base:  # type: ignore[attr-defined]
        return float(video.duration * video.time_base)  # type: ignore[attr-defined]
    return 0.0


def _first_frame_rotation(container: object, video: object) -> int:
    for frame in container.decode(video):  # type: ignore[attr-defined]
        return int(round(getattr(frame, "rotation", 0) or 0)) % 360
    return 0


def sample_frames(
    clip: Path, *, rotation: int, every_s: float, max_side: int
) -> list[SampledFrame]:
    """Decode the whole video stream, keeping one frame per `every_s`, scaled to fit max_side."""
    import av

    frames: list[SampledFrame] = []
    next_t = 0.0
    try:
        with av.open(str(clip)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            size = _scaled_size(stream.codec_context.width, stream.codec_context.height, max_side)
            for frame in container.decode(stream):
                t = float(frame.time) if frame.time is not None else next_t
                if t + 1e-6 < next_t:
                    continue
                image = frame.to_ndarray(format="bgr24", width=size[0], height=size[1])
                frames.append(SampledFrame(len(frames), t, _upright(image, rotation)))
                while next_t <= t + 1e-6:  # on a fixed grid, so rounding does not drift
                    next_t += every_s
    except av.error.FFmpegError as exc:
        if not frames:
            raise UnreadableClip(str(exc)) from exc
        # A damaged tail still leaves the frames before it; the checks decide if they suffice.
    return frames


def _scaled_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    scale = min(1.0, max_side / max(width, height))
    return max(2, int(round(width * scale / 2)) * 2), max(2, int(round(height * scale / 2)) * 2)


def _upright(image: np.ndarray, rotation: int) -> np.ndarray:
    # The display matrix angle is counter-clockwise; undo it as ffmpeg's autorotate does.
    turns = {90: 1, 180: 2, 270: 3}.get(rotation % 360, 0)
    return np.ascontiguousarray(np.rot90(image, k=turns)) if turns else image


def read_audio(clip: Path, rate: int = AUDIO_RATE) -> np.ndarray:
    """The first audio stream as mono float32 in [-1, 1] at `rate` Hz."""
    import av

    chunks: list[np.ndarray] = []
    try:
        with av.open(str(clip)) as container:
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
            for frame in container.decode(stream):
                chunks.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(frame))
            chunks.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(None))
    except (av.error.FFmpegError, IndexError) as exc:
        raise UnreadableClip(str(exc)) from exc
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.clip(np.concatenate(chunks).astype(np.float32), -1.0, 1.0)
