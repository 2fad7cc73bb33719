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

VERSION = "pdq-v2"  # v2: letterbox and pillarbox bars cropped before hashing
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
DECODE_WIDTH = 320  # frames decoded at this width (aspect kept) to find their bars
# A row or column whose grey values step by less than this on average, in every sampled
# frame, is a bar: black, a flat colour, or the blurred fill a re-upload puts round a picture.
BAR_DETAIL = 1.5
MAX_BAR = 0.35  # of the height or width, per side: more than that is content, not a bar
MIN_BARS = 0.08  # of the height or width, both sides together: less is no letterbox
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
    box = content_box([rgb for _, rgb in picked])
    # The whole frame always; the picture inside bars too when there are bars worth the
    # name, as more frames of the same set: an original matches its letterboxed re-upload,
    # while a bar edge a few rows off on marginal rows never costs the plain match.
    crops = [None, box] if _barred(box, picked[0][1].shape if picked else (0, 0)) else [None]
    for crop in crops:
        for time, full in picked:
            if crop is not None:
                top, bottom, left, right = crop
                full = full[top:bottom, left:right]
            rgb = _thumb(full)
            bits, quality = pdqhash.compute(rgb)
            if quality < QUALITY_MIN:
                continue
            # Hashed again flipped, not through compute_dihedral: its reflections sit ~36
            # bits from the hash of a mirrored picture, more than re-encoding moves it.
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
            picked.append((now, _decoded(frame)))
        if not pending:
            break
    if pending and last is not None and not picked:
        picked.append((last[0], _decoded(last[1])))  # a stream shorter than it said
    return picked


def _decoded(frame: Any) -> np.ndarray:
    height = max(2, round(frame.height * DECODE_WIDTH / max(1, frame.width)))
    return frame.to_ndarray(format="rgb24", width=DECODE_WIDTH, height=height, interpolation="AREA")


def _thumb(rgb: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.resize(np.ascontiguousarray(rgb), (THUMB, THUMB), interpolation=cv2.INTER_AREA)


def content_box(frames: list[np.ndarray]) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the picture inside letterbox or pillarbox bars: the
    leading and trailing rows and columns without detail in every sampled frame (black, a
    flat colour, or the blurred fill a re-upload puts round a smaller picture)."""
    if not frames:
        return 0, 0, 0, 0
    grey = np.stack([frame.astype(np.float32).mean(axis=2) for frame in frames])
    height, width = grey.shape[1:]
    flat_rows = (np.abs(np.diff(grey, axis=2)).mean(axis=2) < BAR_DETAIL).all(axis=0)
    flat_cols = (np.abs(np.diff(grey, axis=1)).mean(axis=1) < BAR_DETAIL).all(axis=0)
    top, bottom = _run(flat_rows), height - _run(flat_rows[::-1])
    left, right = _run(flat_cols), width - _run(flat_cols[::-1])
    if top > MAX_BAR * height or height - bottom > MAX_BAR * height or bottom - top < 8:
        top, bottom = 0, height
    if left > MAX_BAR * width or width - right > MAX_BAR * width or right - left < 8:
        left, right = 0, width
    return top, bottom, left, right


def _barred(box: tuple[int, int, int, int], shape: tuple[int, ...]) -> bool:
    top, bottom, left, right = box
    height, width = shape[0], shape[1]
    if not height or not width:
        return False
    return (height - (bottom - top)) >= MIN_BARS * height or (
        width - (right - left)
    ) >= MIN_BARS * width


def _run(flat: np.ndarray) -> int:
    """How many leading entries are True."""
    return int(np.argmin(flat)) if not flat.all() else len(flat)


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
        mine_matched = np.asarray(near.any(axis=1))
        theirs_matched = np.asarray(near.any(axis=0))
        if min(mine_matched.sum(), theirs_matched.sum()) < MIN_MATCHED:
            continue
        mine, others = _share(mine_matched, query.times), _share(theirs_matched, other.times)
        best = max(best, mine, others)
    return round(best, 4)


def _share(matched: np.ndarray, times: tuple[float, ...]) -> float:
    """The share of sampled times with a matched frame: a time's whole frame and the picture
    inside its bars are two hashes of one moment."""
    if len(times) != len(matched):  # hashes stored without their times
        return float(matched.mean())
    moments = {t: False for t in times}
    for t, hit in zip(times, matched, strict=True):
        moments[t] = moments[t] or bool(hit)
    return sum(moments.values()) / len(moments)


def is_copy(query: VideoHash, other: VideoHash) -> bool:
    return copy_score(query, other) >= COPY_FRACTION
