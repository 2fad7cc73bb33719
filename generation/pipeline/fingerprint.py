"""Perceptual fingerprints of videos, for "was this generated here?" lookups.

A fingerprint is a 64-bit DCT hash (pHash) plus a coarse colour layout of frames sampled at
evenly spaced times. Times, not codec keyframes: a re-encode moves the keyframes but not what is
on screen at 3.2 s. Re-encoding, rescaling, a new frame rate or container, and a watermark change
a few bits of each hash; different content changes about half of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

VERSION = "phash-dct64-v1"
# Hamming distance at which two frames count as unrelated: random 64-bit hashes sit near 32.
UNRELATED_BITS = 24
# Scores: same clip ~1.0, re-encodes and watermarks well above this, other content below it.
MATCH_THRESHOLD = 0.6
COLOUR_WEIGHT = 0.2  # the hash carries the layout; colour separates same-layout, other-palette
BANDS = 4  # 16-bit bands per hash for bucket pre-filtering

Key = TypeVar("Key")


@dataclass(frozen=True)
class Fingerprint:
    duration_s: float
    aspect: float  # width / height as displayed
    times: tuple[float, ...]  # seconds, where each sample was taken
    hashes: tuple[int, ...]  # 64-bit pHash per sample
    colours: tuple[bytes, ...]  # 2x2 grid of mean RGB per sample, 12 bytes
    version: str = VERSION

    def to_json(self) -> dict[str, Any]:
        """A dict for a JSONField; hashes as hex, since JSON numbers lose bits past 2**53."""
        return {
            "version": self.version,
            "duration_s": round(self.duration_s, 3),
            "aspect": round(self.aspect, 4),
            "times": [round(t, 3) for t in self.times],
            "hashes": [f"{h:016x}" for h in self.hashes],
            "colours": [c.hex() for c in self.colours],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | str) -> Fingerprint:
        if isinstance(data, str):
            data = json.loads(data)
        if data.get("version") != VERSION:
            raise ValueError(f"fingerprint version {data.get('version')!r}, expected {VERSION}")
        return cls(
            duration_s=float(data["duration_s"]),
            aspect=float(data["aspect"]),
            times=tuple(float(t) for t in data["times"]),
            hashes=tuple(int(h, 16) for h in data["hashes"]),
            colours=tuple(bytes.fromhex(c) for c in data["colours"]),
        )

    def buckets(self) -> list[int]:
        """Non-negative 20-bit keys (band index, band bits) for an indexed pre-filter.

        A re-encode flips a few bits per hash, so some band of some sample almost always
        survives intact: candidates are the stored fingerprints sharing any bucket.
        """
        keys = {(band << 16) | ((h >> (16 * band)) & 0xFFFF) for h in self.hashes for band in range(BANDS)}
        return sorted(keys)


# --- Taking the fingerprint -----------------------------------------------------------------------
def fingerprint(video: Path, *, samples: int = 16) -> Fingerprint:
    """Sample `samples` frames at evenly spaced times and hash each one."""
    import av

    if samples < 1:
        raise ValueError("samples must be at least 1")
    with av.open(str(video)) as container:
        if not container.streams.video:
            raise ValueError(f"{video.name} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        duration = _duration(container, stream)
        targets = [(index + 0.5) * duration / samples for index in range(samples)]
        picked = list(_frames_nearest(container, stream, targets))
    if not picked:
        raise ValueError(f"{video.name} has no decodable frames")
    times = tuple(round(t, 3) for t, _ in picked)
    hashes = tuple(phash(gray) for _, (gray, _) in picked)
    colours = tuple(colour for _, (_, colour) in picked)
    return Fingerprint(duration, _aspect(stream), times, hashes, colours)


def _duration(container: Any, stream: Any) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000
    raise ValueError("the video declares no duration")


def _aspect(stream: Any) -> float:
    ratio = stream.codec_context.sample_aspect_ratio
    par = float(ratio) if ratio else 1.0
    return round(stream.codec_context.width * par / stream.codec_context.height, 4)


def _frames_nearest(
    container: Any, stream: Any, targets: list[float]
) -> Iterator[tuple[float, tuple[np.ndarray, bytes]]]:
    """(time, thumbnails) of the decoded frame nearest each target time, decoding once."""
    start = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
    previous: tuple[float, Any] | None = None
    pending = list(targets)
    for frame in container.decode(stream):
        if frame.time is None:
            continue
        now = frame.time - start
        while pending and now >= pending[0]:
            target = pending.pop(0)
            nearer_previous = previous is not None and target - previous[0] < now - target
            chosen = previous if nearer_previous else (now, frame)
            yield chosen[0], _thumbnails(chosen[1])
        if not pending:
            return
        previous = (now, frame)
    if previous is not None:  # the stream ended before the last targets: use its last frame
        for _ in pending:
            yield previous[0], _thumbnails(previous[1])


def _thumbnails(frame: Any) -> tuple[np.ndarray, bytes]:
    """A 32x32 grey image for the hash and a 2x2 mean colour grid, from one decoded frame."""
    import cv2

    # swscale's area filter shrinks in one step; a 64x64 RGB thumbnail is enough for both.
    rgb = frame.to_ndarray(format="rgb24", width=64, height=64, interpolation="AREA")
    gray = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (32, 32), interpolation=cv2.INTER_AREA)
    grid = cv2.resize(rgb, (2, 2), interpolation=cv2.INTER_AREA)
    return gray, grid.astype(np.uint8).tobytes()


def phash(gray32: np.ndarray) -> int:
    """64-bit pHash: DCT of a 32x32 grey image, top-left 8x8 lowest frequencies.

    The 63 AC coefficients are thresholded at their median; the DC slot, which only says
    "bright", holds whether the mean is above mid-grey.
    """
    import cv2

    coefficients = cv2.dct(gray32.astype(np.float32) / 255.0)[:8, :8].flatten()
    ac = coefficients[1:]
    bits = [bool(coefficients[0] / 32 > 0.5)] + list(ac > np.median(ac))
    return sum(1 << index for index, bit in enumerate(bits) if bit)


# --- Comparing -----------------------------------------------------------------------------------
def similarity(a: Fingerprint, b: Fingerprint) -> float:
    """In [0, 1]: 1 for the same video, ~0 for unrelated ones.

    Samples are paired by time (nearest sample, within half a sampling step), trying small
    time offsets so a trimmed or padded copy still lines up. Samples with no partner count 0.
    """
    if not a.hashes or not b.hashes:
        return 0.0
    step = max(a.duration_s / len(a.times), b.duration_s / len(b.times), 1e-3)
    offsets = [k * step / 2 for k in range(-2, 3)]
    return max(_aligned_score(a, b, offset, step) for offset in offsets)


def _aligned_score(a: Fingerprint, b: Fingerprint, offset: float, step: float) -> float:
    times_b = np.asarray(b.times)
    total = 0.0
    for time_a, hash_a, colour_a in zip(a.times, a.hashes, a.colours, strict=True):
        nearest = int(np.argmin(np.abs(times_b - (time_a + offset))))
        if abs(times_b[nearest] - (time_a + offset)) <= step / 2 + 1e-6:
            total += frame_similarity(hash_a, colour_a, b.hashes[nearest], b.colours[nearest])
    return total / max(len(a.times), len(b.times))


def frame_similarity(hash_a: int, colour_a: bytes, hash_b: int, colour_b: bytes) -> float:
    bits = (hash_a ^ hash_b).bit_count()
    layout = max(0.0, 1.0 - bits / UNRELATED_BITS)
    diff = np.abs(np.frombuffer(colour_a, np.uint8).astype(int) - np.frombuffer(colour_b, np.uint8))
    # Mean channel differences past ~48 levels read as a different palette.
    colour = max(0.0, 1.0 - float(diff.mean()) / 48.0)
    return (1 - COLOUR_WEIGHT) * layout + COLOUR_WEIGHT * colour


def match(
    candidate: Fingerprint,
    known: Iterable[tuple[Key, Fingerprint]],
    threshold: float = MATCH_THRESHOLD,
) -> list[tuple[Key, float]]:
    """The known fingerprints scoring at least threshold against candidate, best first."""
    scored = [(key, similarity(candidate, other)) for key, other in known]
    hits = [(key, round(score, 4)) for key, score in scored if score >= threshold]
    return sorted(hits, key=lambda hit: hit[1], reverse=True)
