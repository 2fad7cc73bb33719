"""Numpy signal helpers the audio stages share: WAV files, filters, pitch, envelopes, synthesis.

Signals are float32 arrays in [-1, 1]: shape (n,) for mono, (n, channels) for more.
"""

from __future__ import annotations

import wave
from math import gcd
from pathlib import Path

import numpy as np


# --- Files and rates ----------------------------------------------------------------------------
def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """A 16-bit PCM WAV as float32, shape (n,) for mono or (n, channels)."""
    with wave.open(str(path), "rb") as handle:
        if handle.getsampwidth() != 2:
            raise ValueError(f"{path} is not 16-bit PCM")
        rate, channels = handle.getframerate(), handle.getnchannels()
        pcm = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2")
    samples = pcm.astype(np.float32) / 32768.0
    return (samples if channels == 1 else samples.reshape(-1, channels)), rate


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    """16-bit PCM; values beyond full scale are clipped, so mix with headroom first."""
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    pcm = np.round(np.clip(samples, -1.0, 32767 / 32768) * 32768).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(channels)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(pcm.tobytes())
    return path


def to_mono(samples: np.ndarray) -> np.ndarray:
    return samples if samples.ndim == 1 else samples.mean(axis=1)


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    from scipy.signal import resample_poly

    if rate == target:
        return samples.astype(np.float32)
    step = gcd(rate, target)
    return resample_poly(samples, target // step, rate // step, axis=0).astype(np.float32)


# --- Filters and levels -------------------------------------------------------------------------
def band(samples: np.ndarray, rate: int, low: float | None, high: float | None) -> np.ndarray:
    """Butterworth low-, high- or band-pass (order 4), zero state, so no delay is added upfront."""
    from scipy.signal import butter, sosfilt

    nyquist = rate / 2
    if low and high:
        sos = butter(4, [low / nyquist, min(high / nyquist, 0.99)], "bandpass", output="sos")
    elif high:
        sos = butter(4, min(high / nyquist, 0.99), "lowpass", output="sos")
    elif low:
        sos = butter(4, low / nyquist, "highpass", output="sos")
    else:
        return samples
    return sosfilt(sos, samples, axis=0).astype(np.float32)


def db(gain_db: float) -> float:
    return float(10 ** (gain_db / 20))


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0


def frame_rms(samples: np.ndarray, size: int, hop: int) -> np.ndarray:
    """RMS of each window of `size` samples, one window every `hop` samples."""
    mono = to_mono(samples).astype(np.float64)
    if len(mono) < size:
        return np.array([rms(mono)])
    windows = np.lib.stride_tricks.sliding_window_view(mono, size)[::hop]
    return np.sqrt(np.mean(windows**2, axis=1))


def voiced_span(samples: np.ndarray, rate: int, floor_db: float = -40.0) -> tuple[int, int]:
    """First and one-past-last sample louder than floor_db below the loudest 5 ms window."""
    hop = max(1, rate // 200)
    levels = frame_rms(samples, hop, hop)
    loud = np.flatnonzero(levels > max(levels.max() * db(floor_db), 1e-5))
    if not loud.size:
        return 0, 0
    return int(loud[0] * hop), int(min(len(samples), (loud[-1] + 1) * hop))


def follow(levels: np.ndarray, attack: float, release: float) -> np.ndarray:
    """One-pole envelope follower over a control-rate signal; coefficients are per step."""
    out = np.empty_like(levels)
    state = 0.0
    for i, level in enumerate(levels):
        coeff = attack if level > state else release
        state += coeff * (level - state)
        out[i] = state
    return out


# --- Pitch --------------------------------------------------------------------------------------
def yin_track(
    samples: np.ndarray, rate: int, fmin: float = 50.0, fmax: float = 500.0
) -> np.ndarray:
    """F0 in Hz per 10 ms frame by YIN (de Cheveigne & Kawahara 2002); NaN where unvoiced."""
    mono = to_mono(samples).astype(np.float64)
    size, lag_max, lag_min = int(rate * 0.03), int(rate / fmin) + 2, max(2, int(rate / fmax))
    hop = rate // 100
    if len(mono) < size + lag_max:
        return np.array([])
    frames = np.lib.stride_tricks.sliding_window_view(mono, size + lag_max)[::hop]
    diff = _yin_difference(frames, size, lag_max)
    cmnd = diff[:, 1:] * np.arange(1, lag_max) / np.maximum(np.cumsum(diff[:, 1:], axis=1), 1e-12)
    loudness = np.sqrt(np.mean(frames[:, :size] ** 2, axis=1))
    audible = loudness > 0.1 * np.percentile(loudness, 95)
    return np.array(
        [
            _yin_pick(row, lag_min, rate) if ok else np.nan
            for row, ok in zip(cmnd, audible, strict=True)
        ]
    )


def _yin_difference(frames: np.ndarray, size: int, lag_max: int) -> np.ndarray:
    """d(tau) = E(head) + E(shifted) - 2 r(tau) for every frame at once, r by FFT."""
    n_fft = 1 << int(np.ceil(np.log2(size + lag_max + size)))
    head = np.zeros_like(frames)
    head[:, :size] = frames[:, :size]
    spectrum = np.conj(np.fft.rfft(head, n_fft)) * np.fft.rfft(frames, n_fft)
    corr = np.fft.irfft(spectrum, n_fft)[:, :lag_max]
    energy = np.concatenate([np.zeros((len(frames), 1)), np.cumsum(frames**2, axis=1)], axis=1)
    shifted = energy[:, size : size + lag_max] - energy[:, :lag_max]
    return np.maximum(energy[:, size : size + 1] + shifted - 2 * corr, 0.0)


def _yin_pick(cmnd: np.ndarray, lag_min: int, rate: int, threshold: float = 0.2) -> float:
    """The first dip under threshold, walked to its local minimum and refined by a parabola."""
    below = np.flatnonzero(cmnd[lag_min - 1 :] < threshold)
    if not below.size:
        return np.nan
    i = below[0] + lag_min - 1
    while i + 1 < len(cmnd) and cmnd[i + 1] < cmnd[i]:
        i += 1
    if 0 < i < len(cmnd) - 1:
        a, b, c = cmnd[i - 1], cmnd[i], cmnd[i + 1]
        shift = 0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c else 0.0
    else:
        shift = 0.0
    return rate / (i + 1 + shift)  # cmnd[0] is lag 1


def median_f0(samples: np.ndarray, rate: int, min_voiced: int = 5) -> float | None:
    """Median F0 over voiced frames, or None when too few frames are voiced to say."""
    track = yin_track(samples, rate)
    voiced = track[np.isfinite(track)]
    return float(np.median(voiced)) if len(voiced) >= min_voiced else None


# --- Synthesis ----------------------------------------------------------------------------------
def seconds(n: int, rate: int) -> np.ndarray:
    return np.arange(n, dtype=np.float64) / rate


def decay_envelope(n: int, rate: int, attack_s: float, decay_s: float) -> np.ndarray:
    """Linear attack to 1, then exponential decay with time constant decay_s."""
    t = seconds(n, rate)
    rise = np.clip(t / max(attack_s, 1.0 / rate), 0.0, 1.0)
    return (rise * np.exp(-np.maximum(t - attack_s, 0.0) / decay_s)).astype(np.float32)


def sweep(n: int, rate: int, f_start: float, f_end: float) -> np.ndarray:
    """A sine gliding exponentially from f_start to f_end, starting at phase 0."""
    freq = f_start * (f_end / f_start) ** (seconds(n, rate) / max(n / rate, 1e-9))
    return np.sin(2 * np.pi * np.cumsum(freq) / rate).astype(np.float32)


def additive(
    n: int, rate: int, freq: float, partials: tuple[float, ...], phase: float = 0.0
) -> np.ndarray:
    """A harmonic tone: partial k at k*freq with the given amplitudes, aliasing ones dropped."""
    t = seconds(n, rate)
    out = np.zeros(n)
    for k, amp in enumerate(partials, start=1):
        if amp and k * freq < rate / 2:
            out += amp * np.sin(2 * np.pi * k * freq * t + phase * k)
    return (out / max(sum(partials), 1e-9)).astype(np.float32)


def thump(
    length_s: float, rate: int, f_start: float, f_end: float, attack_s: float, decay_s: float
) -> np.ndarray:
    """A falling (or rising) low sine with a sharp attack: the body of a landing or a hit."""
    n = int(length_s * rate)
    return sweep(n, rate, f_start, f_end) * decay_envelope(n, rate, attack_s, decay_s)


def noise_tick(
    rng: np.random.Generator, length_s: float, rate: int, low: float, high: float, decay_s: float
) -> np.ndarray:
    """A band of noise struck and left to die away: a step, a crack, grit."""
    n = int(length_s * rate)
    body = band(rng.standard_normal(n).astype(np.float32), rate, low, high)
    peak = max(float(np.abs(body).max()), 1e-9)
    return body / peak * decay_envelope(n, rate, 0.0005, decay_s)


def brown_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """Integrated white noise with a leak, so it stays centred; normalised to unit RMS."""
    from scipy.signal import lfilter

    walk = lfilter([1.0], [1.0, -0.995], rng.standard_normal(n))
    walk -= walk.mean()
    return (walk / max(rms(walk), 1e-9)).astype(np.float32)


def swept_band_noise(
    rng: np.random.Generator, n: int, rate: int, f_start: float, f_end: float, q: float = 3.0
) -> np.ndarray:
    """White noise through a band whose centre glides from f_start to f_end (STFT masking)."""
    from scipy.signal import istft, stft

    freqs, _, spec = stft(rng.standard_normal(n), rate, nperseg=512)
    centres = f_start * (f_end / f_start) ** np.linspace(0.0, 1.0, spec.shape[1])
    width = centres / q
    mask = np.exp(-0.5 * ((freqs[:, None] - centres[None, :]) / width[None, :]) ** 2)
    _, out = istft(spec * mask, rate, nperseg=512)
    out = out[:n] if len(out) >= n else np.pad(out, (0, n - len(out)))
    return (out / max(float(np.abs(out).max()), 1e-9)).astype(np.float32)
