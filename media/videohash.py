"""Perceptual hashes of a video's frames for finding copies: Meta's PDQ (the `pdqhash`
package) on frames sampled every half second, compared as sets, as vPDQ does.

Sets, not a timeline: a copy trimmed, sped up or cut into keeps its frames but not their
times, so each frame of one video is matched to the nearest frame of the other at any time.
A frame matches within FRAME_DISTANCE of PDQ's 256 bits (PDQ's own threshold); a video is a
copy when enough of either side's frames match (an excerpt matches all of its own frames).
Mirroring flips the picture, not its content: the query side is tried flipped as well.

No Django here: `media/hashes.py` stores these and searches them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

VERSION = "pdq-v1"
HASH_BYTES = 32  # PDQ's 256 bits
FRAME_DISTANCE = 31  # bits: PDQ's recommended match threshold
QUALITY_MIN = 50  # PDQ's quality below this: a frame too flat to tell one video from another
COPY_FRACTION = 0.5  # of either side's frames, matched: a copy
MIN_MATCHED = 2  # frames; one lookalike frame (a title card) is not a copy
# A fixed grid of times from the start, not a share of the duration: a copy trimmed by whole
# steps samples the very frames the original did. Longer videos double the step, and each
# coarser grid is a subset of the finer one (FIRST_S + k * step), so they still line up.
FIRST_S, STEP_S, MAX_SAMPLES = 0.25, 0.5, 40
THUMB = 160  # pixels per side handed to PDQ, which works on 64x64 anyway
BANDS = 8  # 32-bit bands per hash for the indexed pre-filter
# Wide bands: two unrelated frames share one by chance once in 2**32, so the index returns
# next to nothing but copies; a copy within 16 bits keeps some band of most frames intact.


@dataclass(frozen=True)
class VideoHash:
    """The good-quality sampled frames of one video: PDQ hashes, and the same frames flipped
    left to right."""

    times: tuple[float, ...]
    frames: tuple[bytes, ...]
    mirrored: tuple[bytes, ...]
    version: str = VERSION

    def matrix(self, *, flipped: bool = False) -> np.ndarray:
        rows = self.mirrored if flipped else self.frames
        packed = np.frombuffer(b"".join(rows), np.uint8) if rows else np.zeros(0, np.uint8)
        return packed.reshape(-1, HASH_BYTES)

    def buckets(self, *, flipped: bool = False) -> list[str]:
        """Keys for an index, one set for the whole video: "q", the band, its 32 bits."""
        rows = self.matrix(flipped=flipped)
        return sorted(
            {
                f"q{band}{row[band * 4 : band * 4 + 4].tobytes().hex()}"
                for row in rows
                for band in range(BANDS)
            }
        )


def pack(rows: tuple[bytes, ...]) -> bytes:
    return b"".join(rows)


def unpack(data: bytes) -> tuple[bytes, ...]:
    return tuple(data[i : i + HASH_BYTES] for i in range(0, len(data), HASH_BYTES))


# --- Taking the hashes -----------------------------------------------------------------------
def video_hash(video: Path) -> VideoHash:
    """Hash frames sampled every STEP_S (doubled until at most MAX_SAMPLES fit), keeping
    only frames of PDQ quality QUALITY_MIN or more."""
    import av
    import pdqhash

    with av.open(str(video)) as container:
        if not container.streams.video:
            raise ValueError(f"{video.name} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        targets = _sample_times(_duration(container, stream))
        picked = _frames_at(container, stream, targets)
    times, frames, mirrored = [], [], []
    for time, rgb in picked:
        bits, quality = pdqhash.compute(rgb)
        if quality < QUALITY_MIN:
            continue
        # Hashed again flipped, not through compute_dihedral: its reflections sit ~36 bits
        # from the hash of a mirrored picture, more than re-encoding moves it.
        flipped, _ = pdqhash.compute(np.ascontiguousarray(rgb[:, ::-1]))
        times.append(round(time, 3))
        frames.append(_to_bytes(bits))
        mirrored.append(_to_bytes(flipped))
    return VideoHash(tuple(times), tuple(frames), tuple(mirrored))


def _to_bytes(bits: np.ndarray) -> bytes:
    return np.packbits(bits.astype(np.uint8)).tobytes()


def _sample_times(duration: float) -> list[float]:
    step = STEP_S
    while (duration - FIRST_S) / step >= MAX_SAMPLES:
        step *= 2
    count = max(1, int((duration - FIRST_S) / step) + 1)
    return [FIRST_S + index * step for index in range(count)]


def _duration(container: Any, stream: Any) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return float(container.duration) / 1_000_000
    raise ValueError("the video declares no duration")


def _frames_at(container: Any, stream: Any, targets: list[float]) -> list[tuple[float, Any]]:
    """The first decoded frame at or after each target time, as a THUMB x THUMB RGB array."""
    start = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
    picked: list[tuple[float, Any]] = []
    pending = list(targets)
    last: tuple[float, Any] | None = None
    for frame in container.decode(stream):
        if frame.time is None:
            continue
        now = frame.time - start
        last = (now, frame)
        while pending and now >= pending[0]:
            pending.pop(0)
            picked.append((now, _thumb(frame)))
        if not pending:
            break
    if pending and last is not None and not picked:
        picked.append((last[0], _thumb(last[1])))  # a stream shorter than it said
    return picked


def _thumb(frame: Any) -> Any:
    return frame.to_ndarray(format="rgb24", width=THUMB, height=THUMB, interpolation="AREA")


# --- Comparing -------------------------------------------------------------------------------
_POPCOUNT = np.array([bin(value).count("1") for value in range(256)], np.uint8)


def distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamming distances, every row of a (n x 32 bytes) against every row of b (m x 32)."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)), np.int32)
    xor = np.bitwise_xor(a[:, None, :], b[None, :, :])
    return _POPCOUNT[xor].sum(axis=2, dtype=np.int32)


def copy_score(query: VideoHash, other: VideoHash) -> float:
    """In [0, 1]: the larger share of either video's frames matched in the other, in whichever
    orientation of the query matches better; 0 when fewer than MIN_MATCHED frames match."""
    theirs = other.matrix()
    best = 0.0
    for flipped in (False, True):
        near = distances(query.matrix(flipped=flipped), theirs) <= FRAME_DISTANCE
        if not near.size:
            continue
        mine_matched, theirs_matched = near.any(axis=1), near.any(axis=0)
        if min(mine_matched.sum(), theirs_matched.sum()) < MIN_MATCHED:
            continue
        best = max(best, float(mine_matched.mean()), float(theirs_matched.mean()))
    return round(best, 4)


def is_copy(query: VideoHash, other: VideoHash) -> bool:
    return copy_score(query, other) >= COPY_FRACTION
