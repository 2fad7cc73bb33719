"""Perceptual fingerprints of videos, for "was this generated here?" lookups.

A fingerprint is a 64-bit DCT hash (pHash) plus a coarse colour layout of frames sampled at
evenly spaced times. Times, not codec keyframes: a re-encode moves the keyframes but not what is
on screen at 3.2 s. Re-encoding, rescaling, a new frame rate or container, and a watermark change
a few bits of each hash; different content changes about half of them.

On flat frames (sky, gradients) most DCT coefficients sit near the median and their bits are
noise, so each hash carries a mask of its most decisive bits and comparisons count those only;
and the flatter a frame's grey image, the more its 4x4 colour layout decides instead (a red to
brown gradient can be nearly one shade of grey).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# v2: reliability masks, contrasts and a 4x4 colour grid; v1 JSON does not compare with it.
VERSION = "phash-dct64-v2"
RELIABLE_BITS = 32  # per hash, the bits whose coefficients lie farthest from the median
# Fractions of differing reliable bits: copies sit below SAME, unrelated frames near 0.4-0.5.
SAME_FRACTION, UNRELATED_FRACTION = 0.1, 0.45
# Scores: same clip ~1.0, re-encodes and watermarks well above this, other content below it.
MATCH_THRESHOLD = 0.6
COLOUR_WEIGHT = 0.2  # at full contrast: colour separates same-layout, other-palette frames
FULL_CONTRAST = 12.0  # grey standard deviation (0-255) from which the hash is fully trusted
GRID = 4  # colour layout cells per side
BANDS = 4  # 16-bit bands per hash for bucket pre-filtering
FLAT_BUCKET = BANDS << 16

Sample = tuple[int, int, bytes, int]  # one sampled frame: hash, mask, colours, contrast


@dataclass(frozen=True)
class Fingerprint:
    duration_s: float
    aspect: float  # width / height as displayed
    times: tuple[float, ...]  # seconds, where each sample was taken
    hashes: tuple[int, ...]  # 64-bit pHash per sample
    masks: tuple[int, ...]  # per sample, its RELIABLE_BITS most decisive bits
    colours: tuple[bytes, ...]  # per sample, GRID x GRID mean RGB, row-major
    contrasts: tuple[int, ...]  # per sample, standard deviation of its 32x32 grey image
    version: str = VERSION

    def to_json(self) -> dict[str, Any]:
        """A dict for a JSONField; hashes as hex, since JSON numbers lose bits past 2**53."""
        return {
            "version": self.version,
            "duration_s": round(self.duration_s, 3),
            "aspect": round(self.aspect, 4),
            "times": [round(t, 3) for t in self.times],
            "hashes": [f"{h:016x}" for h in self.hashes],
            "masks": [f"{m:016x}" for m in self.masks],
            "colours": [c.hex() for c in self.colours],
            "contrasts": list(self.contrasts),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | str) -> Fingerprint:
        payload: dict[str, Any] = json.loads(data) if isinstance(data, str) else data
        if payload.get("version") != VERSION:
            raise ValueError(f"fingerprint version {payload.get('version')!r}, expected {VERSION}")
        return cls(
            duration_s=float(payload["duration_s"]),
            aspect=float(payload["aspect"]),
            times=tuple(float(t) for t in payload["times"]),
            hashes=tuple(int(h, 16) for h in payload["hashes"]),
            masks=tuple(int(m, 16) for m in payload["masks"]),
            colours=tuple(bytes.fromhex(c) for c in payload["colours"]),
            contrasts=tuple(int(c) for c in payload["contrasts"]),
        )

    def buckets(self) -> list[int]:
        """Non-negative keys (band index << 16 | band bits) for an indexed pre-filter.

        A re-encode flips a few bits per hash, so some 16-bit band of some sample almost always
        survives: candidates are the stored fingerprints sharing any bucket. Flat samples'
        bits are noise, so they give FLAT_BUCKET instead, which flat clips all share.
        """
        keys = set()
        for value, contrast in zip(self.hashes, self.contrasts, strict=True):
            if contrast < FULL_CONTRAST:
                keys.add(FLAT_BUCKET)
                continue
            keys |= {(band << 16) | ((value >> (16 * band)) & 0xFFFF) for band in range(BANDS)}
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
    hashed = [phash(gray) for _, (gray, _) in picked]
    colours = tuple(colour for _, (_, colour) in picked)
    hashes, masks = tuple(h for h, _ in hashed), tuple(m for _, m in hashed)
    contrasts = tuple(round(float(gray.std())) for _, (gray, _) in picked)
    return Fingerprint(duration, _aspect(stream), times, hashes, masks, colours, contrasts)


SOFT_BINDING_ALG = f"org.doubletake.fingerprint.{VERSION}"


def soft_binding(print_: Fingerprint) -> dict[str, Any]:
    """The fingerprint as a manifest's soft binding (C2PA's name for a binding to the pictures
    rather than the bytes): a copy whose bytes changed still finds its manifest by it."""
    return {"alg": SOFT_BINDING_ALG, "fingerprint": print_.to_json()}


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
            chosen: tuple[float, Any]
            if previous is not None and target - previous[0] < now - target:
                chosen = previous
            else:
                chosen = (now, frame)
            yield chosen[0], _thumbnails(chosen[1])
        if not pending:
            return
        previous = (now, frame)
    if previous is not None:  # the stream ended before the last targets: use its last frame
        for _ in pending:
            yield previous[0], _thumbnails(previous[1])


def _thumbnails(frame: Any) -> tuple[np.ndarray, bytes]:
    """A 32x32 grey image for the hash and the mean colour grid, from one decoded frame."""
    import cv2

    # swscale's area filter shrinks in one step; a 64x64 RGB thumbnail is enough for both.
    rgb = frame.to_ndarray(format="rgb24", width=64, height=64, interpolation="AREA")
    gray = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (32, 32), interpolation=cv2.INTER_AREA)
    grid = cv2.resize(rgb, (GRID, GRID), interpolation=cv2.INTER_AREA)
    return gray, grid.astype(np.uint8).tobytes()


def phash(gray32: np.ndarray) -> tuple[int, int]:
    """(hash, mask): 64-bit pHash of a 32x32 grey image and its most reliable bits.

    DCT, top-left 8x8 lowest frequencies; the 63 AC coefficients are thresholded at their
    median. The DC slot, which only says "bright", holds whether the mean is above mid-grey
    and is never in the mask.
    """
    import cv2

    coefficients = cv2.dct(gray32.astype(np.float32) / 255.0)[:8, :8].flatten()
    ac = coefficients[1:]
    median = np.median(ac)
    bits = [bool(coefficients[0] / 32 > 0.5)] + list(ac > median)
    decisive = set((np.argsort(-np.abs(ac - median), kind="stable")[:RELIABLE_BITS] + 1).tolist())
    return _pack(bits), _pack(index in decisive for index in range(64))


def _pack(bits: Iterable[bool]) -> int:
    return sum(1 << index for index, bit in enumerate(bits) if bit)


# --- Comparing -----------------------------------------------------------------------------------
def similarity(a: Fingerprint, b: Fingerprint) -> float:
    """In [0, 1]: ~1 for the same video or a re-encoded copy, low for unrelated ones.

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
    for index, time_a in enumerate(a.times):
        nearest = int(np.argmin(np.abs(times_b - (time_a + offset))))
        if abs(times_b[nearest] - (time_a + offset)) <= step / 2 + 1e-6:
            total += frame_similarity(_sample(a, index), _sample(b, nearest))
    return total / max(len(a.times), len(b.times))


def _sample(print_: Fingerprint, i: int) -> Sample:
    return print_.hashes[i], print_.masks[i], print_.colours[i], print_.contrasts[i]


def frame_similarity(a: Sample, b: Sample) -> float:
    """Two samples: 1 alike, 0 unrelated."""
    (hash_a, mask_a, colour_a, contrast_a), (hash_b, mask_b, colour_b, contrast_b) = a, b
    differ = hash_a ^ hash_b
    # Each side's decisive bits, averaged, so the score is symmetric.
    fraction = ((differ & mask_a).bit_count() / max(1, mask_a.bit_count())) / 2
    fraction += ((differ & mask_b).bit_count() / max(1, mask_b.bit_count())) / 2
    span = UNRELATED_FRACTION - SAME_FRACTION
    layout = min(1.0, max(0.0, (UNRELATED_FRACTION - fraction) / span))
    diff = np.abs(np.frombuffer(colour_a, np.uint8).astype(int) - np.frombuffer(colour_b, np.uint8))
    # Mean channel differences past ~48 levels read as a different palette.
    colour = max(0.0, 1.0 - float(diff.mean()) / 48.0)
    structure = min(1.0, min(contrast_a, contrast_b) / FULL_CONTRAST)
    weight = (1 - COLOUR_WEIGHT) * structure
    return weight * layout + (1 - weight) * colour
