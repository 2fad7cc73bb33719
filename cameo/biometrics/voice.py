"""Speech in a capture's audio: silero-vad segments, a resemblyzer speaker embedding, and pitch
by YIN (de Cheveigné and Kawahara, 2002) in numpy. Audio is mono float32 at 16 kHz."""

from __future__ import annotations

import functools
import threading
from typing import Any

import numpy as np

RATE = 16_000
VOICE_MODEL = "resemblyzer:pretrained+silero_vad"

Segment = tuple[float, float]

_vad_lock = threading.Lock()
_encoder_lock = threading.Lock()


@functools.cache
def _vad_model() -> Any:
    from silero_vad import load_silero_vad

    return load_silero_vad()


@functools.cache
def _voice_encoder() -> Any:
    import torch
    from resemblyzer import VoiceEncoder

    device = "cuda" if torch.cuda.is_available() else "cpu"
    return VoiceEncoder(device, verbose=False)


def speech_segments(audio: np.ndarray) -> list[Segment]:
    """[(start_s, end_s), ...] where silero-vad hears speech."""
    import torch
    from silero_vad import get_speech_timestamps

    if len(audio) < RATE // 10:
        return []
    model = _vad_model()
    with _vad_lock, torch.no_grad():
        stamps = get_speech_timestamps(
            torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)),
            model,
            sampling_rate=RATE,
            return_seconds=True,
        )
    return [(float(s["start"]), float(s["end"])) for s in stamps]


def clip_segments(segments: list[Segment], start: float, end: float) -> list[Segment]:
    """The parts of the segments that lie inside [start, end]."""
    inside = [(max(a, start), min(b, end)) for a, b in segments]
    return [(a, b) for a, b in inside if b > a]


def total_seconds(segments: list[Segment]) -> float:
    return float(sum(b - a for a, b in segments))


def speech_audio(audio: np.ndarray, segments: list[Segment]) -> np.ndarray:
    parts = [audio[int(a * RATE) : int(b * RATE)] for a, b in segments]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


def voice_embedding(speech: np.ndarray) -> np.ndarray:
    """resemblyzer's 256-d speaker embedding of the speech (silences already cut), L2-normalised."""
    from resemblyzer.audio import normalize_volume

    wav = normalize_volume(speech.astype(np.float32), -30, increase_only=True)
    with _encoder_lock:
        embedding = np.asarray(_voice_encoder().embed_utterance(wav), dtype=np.float32)
    return embedding / max(1e-12, float(np.linalg.norm(embedding)))


def pitch_hz(
    speech: np.ndarray,
    *,
    fmin: float = 60.0,
    fmax: float = 400.0,
    window: int = 512,
    hop: int = 160,
    threshold: float = 0.15,
) -> np.ndarray:
    """Fundamental frequency of each voiced 32 ms frame (10 ms hop), by YIN."""
    lag_min, lag_max = int(RATE / fmax), int(np.ceil(RATE / fmin))
    span = window + lag_max
    if len(speech) < span:
        return np.zeros(0, dtype=np.float32)
    starts = np.arange(0, len(speech) - span + 1, hop)
    frames = np.stack([speech[s : s + span] for s in starts]).astype(np.float64)
    loud = np.sqrt((frames[:, :window] ** 2).mean(axis=1)) > 0.01 * max(1e-9, np.abs(speech).max())
    frames = frames[loud]
    if not len(frames):
        return np.zeros(0, dtype=np.float32)
    cmnd = _cumulative_mean_normalised_difference(frames, window, lag_max)
    pitches = [_pick_period(row, lag_min, lag_max, threshold) for row in cmnd]
    return np.array([RATE / p for p in pitches if p], dtype=np.float32)


def _cumulative_mean_normalised_difference(
    frames: np.ndarray, window: int, lag_max: int
) -> np.ndarray:
    # d(t) = sum_j (x_j - x_{j+t})^2 over j < window, through one FFT cross-correlation per frame.
    size = 1 << int(np.ceil(np.log2(window + lag_max + window)))
    head = np.fft.rfft(frames[:, :window], size)
    full = np.fft.rfft(frames, size)
    corr = np.fft.irfft(np.conj(head) * full, size)[:, : lag_max + 1]
    squares = np.cumsum(np.pad(frames**2, ((0, 0), (1, 0))), axis=1)
    energy_head = squares[:, window][:, None]
    lags = np.arange(lag_max + 1)
    energy_lagged = squares[:, lags + window] - squares[:, lags]
    diff = energy_head + energy_lagged - 2 * corr
    diff[:, 0] = 0.0
    running = np.cumsum(diff[:, 1:], axis=1) / lags[1:]
    cmnd = np.ones_like(diff)
    cmnd[:, 1:] = diff[:, 1:] / np.maximum(running, 1e-12)
    return cmnd


def _pick_period(cmnd: np.ndarray, lag_min: int, lag_max: int, threshold: float) -> float:
    below = np.nonzero(cmnd[lag_min:lag_max] < threshold)[0]
    if not len(below):
        return 0.0
    lag = lag_min + int(below[0])
    while lag + 1 < lag_max and cmnd[lag + 1] < cmnd[lag]:
        lag += 1  # walk down to the dip's bottom
    left, mid, right = cmnd[lag - 1], cmnd[lag], cmnd[lag + 1]
    curve = left - 2 * mid + right
    return lag + (0.5 * (left - right) / curve if abs(curve) > 1e-12 else 0.0)
