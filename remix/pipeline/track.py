"""Subject tracking: who the video is about, where they are in every frame, and a steady mask.

One pass over the frames, streamed in three threads one frame apart (a reader, the pose model,
and the caller's thread, so that both cores work):
1. cut detection: a jump in the thumbnail histogram and picture from one frame to the next;
2. faces, in every frame or every few (`detect_every`: a background swap needs them only to
   anchor the segmentation), linked frame to frame by overlap into tracklets that never cross a
   cut, each with the box of the mask's regions that hold it;
3. person segmentation (remix/pipeline/people.py: the pose model's body, carried where its
   pixels went while the pose model has lost it, and the selfie model only near a body or a
   face), smoothed over time and refined along image edges.

Then, with every frame seen, tracklets are joined into identities by their face embeddings
(running means, compared by cosine), and the main subject is the identity whose face covers the
most of the video. Brief gaps in the subject's detections are bridged by interpolating its box.
Last, each shot's steady old background, where it was seen bare, is cleared from the masks that
still hold it (remix/pipeline/plate.py).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from cameo.biometrics.cutout import person_mask
from cameo.biometrics.faces import Face, FaceBackend
from generation.pipeline.prefetch import mapped_ahead
from remix.pipeline.people import BodyCarrier, PeopleSegmenter, combined
from remix.pipeline.plate import BODY_CORE, PLATE_NAME, clear_old_background, learn_plate

Box = tuple[float, float, float, float]

SMOOTHER_NAME = "motion-adaptive-ema+guided-filter"
READ_AHEAD = 4  # frames decoded and shrunk ahead of the one being tracked
WORK_SIDE = 384  # segmentation and smoothing run at most this size; the mask is scaled back up
DETECT_SIDE = 640  # a background swap looks for faces at most this size (see _detect_scaled)
MAX_GAP_S = 0.6  # longer without the subject's face, and the track lets go of the box
HOLD_BELOW = 0.75  # an occluded frame's mask under this share of the last clear one is held
EMBED_EVERY_S = 1.0  # a tracklet's identity is re-checked this often
MIN_FACE_SIDE = 0.04  # of the frame's short side: smaller detections are noise at phone sizes
MAX_FACE_SIDE = 0.7  # of the frame's width: wider "faces" anchor no person (see _plausible)
ANCHOR_SCORE = 0.75  # a detection less sure than this anchors no person (a rocket's nose: 0.55)
# Cosine similarity above which two faces are the same person. dlib's descriptors are not
# centred, so any two faces score high there: strangers around 0.90, one person above 0.97.
SAME_PERSON = {"dlib": 0.94, "insightface": 0.35}
SAME_PERSON_DEFAULT = 0.5
# Temporal smoothing: a pixel whose picture did not change keeps most of its past probability;
# one whose picture changed takes the new segmentation at once, so moving edges do not lag.
EMA_STILL = 0.2
EMA_CHANGE_FULL = 24.0  # grey levels of change at which the new probability is taken whole
RAMP = (0.3, 0.7)  # probability mapped to alpha 0..255 between these
CUT_HIST = 0.35  # Bhattacharyya distance between thumbnails' colour histograms
CUT_DIFF = 30.0  # mean absolute grey difference between thumbnails


@dataclass(frozen=True, eq=False)  # holds arrays: compared by identity
class TrackedFrame:
    index: int
    box: Box | None  # the main subject's person box x0, y0, x1, y1 in pixels; None: not visible
    face: Face | None  # the main subject's face where it is visible
    mask: np.ndarray  # uint8 HxW 0-255: every person in the frame, smoothed over time
    interpolated: bool = False  # box carried across a brief occlusion or missed detection


@dataclass
class SubjectTrack:
    frames: list[TrackedFrame]
    cuts: list[int]  # frame indices where a shot cut was detected
    backends: dict[str, str]
    timings: dict[str, float]  # seconds per sub-stage


@dataclass
class _Tracklet:
    """One face followed frame to frame within a shot."""

    shot: int
    frames: list[int] = field(default_factory=list)
    faces: list[Face] = field(default_factory=list)
    boxes: list[Box] = field(default_factory=list)  # person boxes
    embeddings: list[np.ndarray] = field(default_factory=list)
    embedded_at: int | None = None

    @property
    def mean(self) -> np.ndarray:
        return _unit(np.mean(self.embeddings, axis=0))

    def add(self, index: int, face: Face, box: Box) -> None:
        self.frames.append(index)
        self.faces.append(face)
        self.boxes.append(box)


def track_subject(
    frames: Iterable[np.ndarray],
    *,
    faces: FaceBackend,
    fps: float,
    on_frame: Callable[[int], None] | None = None,
    detect_every: int = 1,
    detect_side: int | None = None,
    clear_plate: bool = True,
) -> SubjectTrack:
    """Follows the main subject through the frames (BGR uint8, streamed). Faces are looked for
    in every `detect_every`-th frame (and at every cut), on the frame shrunk to `detect_side`
    pixels long if given; between, their boxes are carried. `clear_plate=False` leaves
    the masks as the segmenters made them (a face swap uses only their boxes)."""
    if fps <= 0:
        raise ValueError("fps must be positive")
    if detect_every < 1:
        raise ValueError("detect_every must be at least 1")
    clock = _Clock()
    cuts = _CutDetector()
    segmenter = PeopleSegmenter(fps)
    smoother = MaskSmoother()
    carrier = BodyCarrier(fps)
    linker = _Linker(faces, embed_every=max(1, round(EMBED_EVERY_S * fps)), reach=detect_every)
    masks: list[np.ndarray] = []
    cut_at: list[int] = []
    found: list[Face] = []
    since_detect = detect_every
    shape: list[tuple[int, ...]] = []

    def prepared(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
        # In the reader's thread, beside the caller: check, shrink, and look for a cut.
        _check_frame(frame, shape[0] if shape else None)
        shape[:1] = [frame.shape[:2]]
        with clock("read"):
            small = _work_size(frame)
            return frame, small, cuts.update(small)

    def followed(small: np.ndarray, anchors: list[Box], cut: bool) -> Any:
        # In the pose thread: the pose model sees every frame in order.
        with clock("pose"):
            if cut:
                segmenter.reset()
            return segmenter.body(small, anchors)

    smalls: list[np.ndarray] = []
    cores: list[np.ndarray | None] = []

    def finish(item: _Pending) -> None:
        mask, core = _finish(item, clock, smoother, carrier, linker)
        masks.append(mask)
        smalls.append(item.small)
        cores.append(core)
        if on_frame is not None:
            on_frame(item.index)

    # Three threads, one frame apart: the reader decodes and shrinks the next frames, the pose
    # model follows the body in this one, and the caller's thread does the rest of the frame
    # before (the selfie model, smoothing, faces), so both cores work.
    pending: deque[_Pending] = deque()
    try:
        with (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="pose") as pose,
            closing(mapped_ahead(prepared, frames, depth=READ_AHEAD)) as read,
        ):
            for index, (frame, small, cut) in enumerate(read):
                cut = cut and index > 0
                if cut:
                    cut_at.append(index)
                # 1. Faces, now and then: they anchor the segmentation and name the subject.
                detected = cut or since_detect >= detect_every
                if detected:
                    with clock("detect"):
                        found = _detect_scaled(faces, frame, detect_side)
                    since_detect = 0
                since_detect += 1
                scale = small.shape[1] / frame.shape[1]
                anchors = [_scaled(f.box, scale) for f in found if _plausible(f, frame)]
                body = pose.submit(followed, small, anchors, cut)
                pending.append(
                    _Pending(index, frame, small, cut, found, detected, anchors, len(cut_at), body)
                )
                if len(pending) > 1:
                    finish(pending.popleft())
            while pending:
                finish(pending.popleft())
    finally:
        segmenter.close()
    with clock("associate"):
        tracked = _subject_frames(linker, masks, cut_at, max_gap=max(1, round(MAX_GAP_S * fps)))
    if clear_plate:
        with clock("plate"):
            tracked = _cleared(tracked, smalls, cores, cut_at)
    backends = {
        "detector": faces.detector.name,
        "embedder": faces.embedder.name,
        "segmenter": segmenter.name,
        "smoother": SMOOTHER_NAME,
    }
    if clear_plate:
        backends["plate"] = PLATE_NAME
    return SubjectTrack(tracked, cut_at, backends, clock.seconds)


@dataclass(frozen=True, eq=False)  # holds arrays
class _Pending:
    """A frame whose body the pose thread is still following."""

    index: int
    frame: np.ndarray
    small: np.ndarray
    cut: bool
    found: list[Face]
    detected: bool
    anchors: list[Box]
    shot: int
    body: Future[Any]


def _finish(
    item: _Pending, clock: _Clock, smoother: MaskSmoother, carrier: BodyCarrier, linker: _Linker
) -> tuple[np.ndarray, np.ndarray | None]:
    """The frame's mask (segmentation near the people, smoothed over time) and the pose
    model's confident body (working size); its faces linked."""
    with clock("segment"):
        selfie = person_mask(item.small)
    with clock("wait"):
        body = item.body.result()
    with clock("segment"):
        if item.cut:
            carrier.reset()
        body = carrier.body(item.small, selfie, body)
        probability = combined(selfie, body, item.anchors)
    with clock("smooth"):
        mask = smoother.update(item.small, probability, reset=item.cut, size=item.frame.shape[:2])
    if item.detected:
        with clock("associate"):
            linker.update(item.index, item.found, mask, shot=item.shot)
        with clock("embed"):
            linker.check_identities(item.index, item.frame)
    # The pose model's own confident body guards the plate's clearing; a held or carried one
    # is an earlier frame's, and guards nothing.
    return mask, None if body is None or body.held else body.mask >= BODY_CORE


def _detect_scaled(faces: FaceBackend, frame: np.ndarray, side: int | None) -> list[Face]:
    """detect_faces on the frame at most `side` long (None: as it is), in the full frame's
    pixels. The detectors shrink their input about that much anyway, so the boxes are as good;
    the landmarks lose a little, which a face swap (aligned on them) would show."""
    import cv2

    height, width = frame.shape[:2]
    factor = side / max(height, width) if side else 1.0
    if factor >= 1.0:
        return detect_faces(faces, frame)
    size = (round(width * factor), round(height * factor))
    found = detect_faces(faces, cv2.resize(frame, size, interpolation=cv2.INTER_AREA))
    back = 1.0 / factor
    return [Face(_scaled(f.box, back), f.score, f.kps * back) for f in found]


def _scaled(box: Box, factor: float) -> Box:
    return (box[0] * factor, box[1] * factor, box[2] * factor, box[3] * factor)


def _plausible(face: Face, frame: np.ndarray) -> bool:
    """Whether a detection may anchor a person in the segmentation. A face as wide as most of
    the frame is the detector's mistake on texture (a cat's face, seen when the person's own
    is hidden), and so is an unsure one: both would let a person-like object in."""
    return face.score >= ANCHOR_SCORE and face.width <= MAX_FACE_SIDE * frame.shape[1]


def subject_mask(tracked: TrackedFrame) -> np.ndarray:
    """The mask with only the regions that overlap the subject's box (others set to 0)."""
    import cv2

    if tracked.box is None:
        return np.zeros_like(tracked.mask)
    inside = (tracked.mask > 127).astype(np.uint8)
    count, labels = cv2.connectedComponents(inside, connectivity=8)
    x0, y0, x1, y1 = (int(round(v)) for v in tracked.box)
    in_box = np.bincount(labels[y0:y1, x0:x1].ravel(), minlength=count)
    total = np.bincount(labels.ravel(), minlength=count)
    keep = in_box >= 0.5 * np.maximum(total, 1)
    keep[0] = False
    kept = keep[labels].astype(np.uint8)
    # Keep the soft ramp around the kept regions too, not a hard cut at the 50% line.
    kept = cv2.dilate(kept, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))
    return tracked.mask * kept


# --- faces ------------------------------------------------------------------------------------
def detect_faces(faces: FaceBackend, frame: np.ndarray) -> list[Face]:
    """Faces, largest first; square tiles too where the detector needs faces to fill its input."""
    height, width = frame.shape[:2]
    found = faces.detect(frame)
    # BlazeFace (the offline fallback) letterboxes a portrait frame into a small square and
    # misses faces under about a quarter of the width; overlapping square tiles find them.
    if faces.detector.name.startswith("mediapipe") and _far_from_square(frame):
        for dx, dy, tile in _square_tiles(frame):
            found += [_shifted(f, dx, dy) for f in faces.detect(tile)]
    least = MIN_FACE_SIDE * min(height, width)
    found = [f for f in _suppressed(found) if min(f.width, f.height) >= least]
    return sorted(found, key=lambda f: f.width * f.height, reverse=True)


def _far_from_square(frame: np.ndarray) -> bool:
    height, width = frame.shape[:2]
    return max(height, width) > 1.3 * min(height, width)


def _square_tiles(frame: np.ndarray) -> Iterator[tuple[int, int, np.ndarray]]:
    height, width = frame.shape[:2]
    side, length = min(height, width), max(height, width)
    steps = math.ceil((length - side) / (side / 2))
    for k in range(steps + 1):
        offset = round(k * (length - side) / steps)
        if height > width:
            yield 0, offset, np.ascontiguousarray(frame[offset : offset + side])
        else:
            yield offset, 0, np.ascontiguousarray(frame[:, offset : offset + side])


def _shifted(face: Face, dx: int, dy: int) -> Face:
    x0, y0, x1, y1 = face.box
    kps = face.kps + np.array([dx, dy], np.float32)
    return Face((x0 + dx, y0 + dy, x1 + dx, y1 + dy), face.score, kps)


def _suppressed(found: list[Face]) -> list[Face]:
    kept: list[Face] = []
    for face in sorted(found, key=lambda f: f.score, reverse=True):
        if all(box_iou(face.box, k.box) < 0.4 for k in kept):
            kept.append(face)
    return kept


class _Linker:
    """Links each frame's faces to the previous frame's by overlap, embedding now and then."""

    def __init__(self, faces: FaceBackend, *, embed_every: int, reach: int = 1) -> None:
        self.faces = faces
        self.embed_every = embed_every
        self.reach = reach  # frames between detections: a tracklet links across that many
        self.same = _same_person_threshold(faces.embedder.name)
        self.tracklets: list[_Tracklet] = []
        self._active: list[_Tracklet] = []

    def update(self, index: int, found: list[Face], mask: np.ndarray, shot: int) -> None:
        active = [
            t for t in self._active if t.shot == shot and index - self.reach <= t.frames[-1] < index
        ]
        pairs = _match(active, found)
        placed: list[_Tracklet] = []
        for face_index, (face, box) in enumerate(
            zip(found, person_boxes(found, mask), strict=True)
        ):
            tracklet = pairs.get(face_index)
            if tracklet is None:
                tracklet = _Tracklet(shot)
                self.tracklets.append(tracklet)
            tracklet.add(index, face, box)
            placed.append(tracklet)
        self._active = placed

    def check_identities(self, index: int, frame: np.ndarray) -> None:
        """Embeds this frame's faces that are due a check, splitting a tracklet that changed."""
        placed = self._active
        due = [
            t for t in placed if t.embedded_at is None or index - t.embedded_at >= self.embed_every
        ]
        if not due:
            return
        vectors = self.faces.embed_many([(frame, t.faces[-1]) for t in due])
        for tracklet, vector in zip(due, vectors, strict=True):
            if tracklet.embeddings and float(tracklet.mean @ vector) < self.same:
                # Someone else took this place (faces crossed): a new tracklet from here.
                fresh = self._split(tracklet)
                placed[placed.index(tracklet)] = fresh
                tracklet = fresh
            tracklet.embeddings.append(vector)
            tracklet.embedded_at = index

    def _split(self, tracklet: _Tracklet) -> _Tracklet:
        fresh = _Tracklet(tracklet.shot)
        fresh.add(tracklet.frames.pop(), tracklet.faces.pop(), tracklet.boxes.pop())
        self.tracklets.append(fresh)
        return fresh


def _match(active: list[_Tracklet], found: list[Face]) -> dict[int, _Tracklet]:
    """Greedy pairing of this frame's faces with the last frame's, by overlap and nearness."""
    scored = []
    for t_index, tracklet in enumerate(active):
        last = tracklet.faces[-1]
        for f_index, face in enumerate(found):
            near = _nearness(last, face)
            if near > 0:
                scored.append((near, t_index, f_index))
    pairs: dict[int, _Tracklet] = {}
    used: set[int] = set()
    for _, t_index, f_index in sorted(scored, reverse=True):
        if t_index not in used and f_index not in pairs:
            pairs[f_index] = active[t_index]
            used.add(t_index)
    return pairs


def _nearness(a: Face, b: Face) -> float:
    """IoU, or for a face that moved off its old box, how close the centres are (0: too far)."""
    ratio = (b.width * b.height) / max(1.0, a.width * a.height)
    if not 0.5 <= ratio <= 2.0:
        return 0.0
    distance = math.dist(_centre(a.box), _centre(b.box)) / max(1.0, a.width)
    return max(box_iou(a.box, b.box), 0.2 * (1.0 - distance / 0.75)) if distance < 0.75 else 0.0


def _same_person_threshold(embedder_name: str) -> float:
    for prefix, threshold in SAME_PERSON.items():
        if embedder_name.startswith(prefix):
            return threshold
    return SAME_PERSON_DEFAULT


# --- the subject ------------------------------------------------------------------------------
def _cleared(
    tracked: list[TrackedFrame],
    smalls: list[np.ndarray],
    cores: list[np.ndarray | None],
    cut_at: list[int],
) -> list[TrackedFrame]:
    """Each shot's masks with the old background they still hold cleared (remix/pipeline/plate),
    two frames at a time (OpenCV leaves the GIL)."""
    bounds = [0, *cut_at, len(tracked)]
    plates = [
        learn_plate(smalls[start:end], [t.mask for t in tracked[start:end]])
        for start, end in zip(bounds, bounds[1:], strict=False)
    ]
    shots = _shot_of_frames(len(tracked), cut_at)

    def clear(index: int) -> TrackedFrame:
        t = tracked[index]
        mask = clear_old_background(t.mask, smalls[index], cores[index], plates[shots[index]])
        return replace(t, mask=mask)

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="plate") as pool:
        return list(pool.map(clear, range(len(tracked))))


def _subject_frames(
    linker: _Linker, masks: list[np.ndarray], cut_at: list[int], *, max_gap: int
) -> list[TrackedFrame]:
    subject = _subject_tracklets(linker)
    seen: dict[int, tuple[Face, Box]] = {}
    for tracklet in subject:
        for index, face, box in zip(tracklet.frames, tracklet.faces, tracklet.boxes, strict=True):
            seen.setdefault(index, (face, box))
    shots = _shot_of_frames(len(masks), cut_at)
    boxes = _bridged(seen, shots, max_gap)
    masks = _held_masks(masks, seen, boxes, shots)
    return [
        TrackedFrame(
            index=i,
            box=boxes.get(i),
            face=seen[i][0] if i in seen else None,
            mask=mask,
            interpolated=i not in seen and i in boxes,
        )
        for i, mask in enumerate(masks)
    ]


def _subject_tracklets(linker: _Linker) -> list[_Tracklet]:
    """The tracklets of the identity whose face covers the most of the video."""
    identities: list[list[_Tracklet]] = []
    means: list[np.ndarray] = []
    # Longest first, so an identity's running mean starts from its best evidence.
    for tracklet in sorted(linker.tracklets, key=lambda t: len(t.frames), reverse=True):
        if not tracklet.embeddings:
            continue
        scores = [float(m @ tracklet.mean) for m in means]
        best = int(np.argmax(scores)) if scores else -1
        if best >= 0 and scores[best] >= linker.same and not _overlaps(identities[best], tracklet):
            identities[best].append(tracklet)
            weight = len(identities[best])
            means[best] = _unit(means[best] * (weight - 1) + tracklet.mean)
        else:
            identities.append([tracklet])
            means.append(tracklet.mean)
    if not identities:
        return []
    presence = [sum(f.width * f.height for t in group for f in t.faces) for group in identities]
    return identities[int(np.argmax(presence))]


def _overlaps(group: list[_Tracklet], tracklet: _Tracklet) -> bool:
    """One person is not in two places at once: tracklets sharing frames are two people."""
    frames = set(tracklet.frames)
    return any(frames.intersection(t.frames) for t in group)


def _shot_of_frames(count: int, cut_at: list[int]) -> list[int]:
    return [int(np.searchsorted(cut_at, i, side="right")) for i in range(count)]


def _bridged(seen: dict[int, tuple[Face, Box]], shots: list[int], max_gap: int) -> dict[int, Box]:
    """Person boxes where the face was seen, carried across short gaps within a shot."""
    boxes = {i: box for i, (_, box) in seen.items()}
    i = 0
    while i < len(shots):
        if i in boxes:
            i += 1
            continue
        j = i
        while j < len(shots) and j not in boxes and shots[j] == shots[i]:
            j += 1
        before = boxes.get(i - 1) if i > 0 and shots[i - 1] == shots[i] else None
        after = boxes.get(j) if j < len(shots) and shots[j] == shots[i] else None
        if j - i <= max_gap and (before or after):
            for k in range(i, j):
                # Between two sightings: interpolated; at a shot's end: the last box held.
                t = (k - i + 1) / (j - i + 1)
                boxes[k] = _lerp(before or after, after or before, t)  # type: ignore[arg-type]
        i = j
    return boxes


def _held_masks(
    masks: list[np.ndarray],
    seen: dict[int, tuple[Face, Box]],
    boxes: dict[int, Box],
    shots: list[int],
) -> list[np.ndarray]:
    """Masks through a brief occlusion: where the face is hidden (box bridged) the segmenter
    loses much of the body too, so the last clear sighting's mask in the same shot, moved with
    the box, is laid under the frame's own. What hides the face then stays in front of the
    new background too, as a foreground object should."""
    import cv2

    out = list(masks)
    for index in sorted(set(boxes) - set(seen)):
        clear = [i for i in seen if shots[i] == shots[index]]
        if not clear:
            continue
        nearest = min(clear, key=lambda i: abs(i - index))
        x0, y0, x1, y1 = (int(round(v)) for v in boxes[index])
        here = np.count_nonzero(masks[index][max(0, y0) : y1, max(0, x0) : x1] > 127)
        a0, b0, a1, b1 = (int(round(v)) for v in boxes[nearest])
        there = np.count_nonzero(masks[nearest][max(0, b0) : b1, max(0, a0) : a1] > 127)
        if here >= HOLD_BELOW * there:
            continue  # the segmenter still sees the person: trust this frame
        (cx, cy), (px, py) = _centre(boxes[index]), _centre(boxes[nearest])
        shift = np.array([[1, 0, cx - px], [0, 1, cy - py]], dtype=np.float32)
        height, width = masks[index].shape
        moved = cv2.warpAffine(masks[nearest], shift, (width, height), flags=cv2.INTER_NEAREST)
        out[index] = np.maximum(masks[index], moved)
    return out


def _lerp(a: Box, b: Box, t: float) -> Box:
    return (
        a[0] + t * (b[0] - a[0]),
        a[1] + t * (b[1] - a[1]),
        a[2] + t * (b[2] - a[2]),
        a[3] + t * (b[3] - a[3]),
    )


# --- person boxes -----------------------------------------------------------------------------
def person_boxes(found: list[Face], mask: np.ndarray) -> list[Box]:
    """For each face, the box of the mask's regions that hold it (or one guessed from the face)."""
    import cv2

    if not found:
        return []
    height, width = mask.shape
    factor = min(1.0, 160 / max(height, width))
    small = cv2.resize(mask, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    _, labels, stats, _ = cv2.connectedComponentsWithStats((small > 127).astype(np.uint8))
    return [_region_box(face, labels, stats, factor, (width, height)) for face in found]


def _region_box(
    face: Face, labels: np.ndarray, stats: np.ndarray, factor: float, size: tuple[int, int]
) -> Box:
    import cv2

    x0, y0, x1, y1 = (v * factor for v in face.box)
    cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, max(0.5, (x1 - x0) / 4)
    core = labels[
        max(0, int(cy - half)) : max(1, math.ceil(cy + half)),
        max(0, int(cx - half)) : max(1, math.ceil(cx + half)),
    ]
    hits = [int(v) for v in np.unique(core) if v]
    if not hits:
        return _face_guess(face, *size)
    left = min(stats[h, cv2.CC_STAT_LEFT] for h in hits)
    top = min(stats[h, cv2.CC_STAT_TOP] for h in hits)
    right = max(stats[h, cv2.CC_STAT_LEFT] + stats[h, cv2.CC_STAT_WIDTH] for h in hits)
    bottom = max(stats[h, cv2.CC_STAT_TOP] + stats[h, cv2.CC_STAT_HEIGHT] for h in hits)
    width, height = size
    return (
        float(left / factor),
        float(top / factor),
        float(min(width, right / factor)),
        float(min(height, bottom / factor)),
    )


def _face_guess(face: Face, width: int, height: int) -> Box:
    """Head and shoulders from the face: about three face widths wide, down to the frame's foot."""
    x0, y0, x1, y1 = face.box
    return (
        max(0.0, x0 - face.width),
        max(0.0, y0 - 0.3 * face.height),
        min(float(width), x1 + face.width),
        float(height),
    )


def box_iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _centre(box: Box) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def _unit(vector: np.ndarray) -> np.ndarray:
    return (vector / max(1e-12, float(np.linalg.norm(vector)))).astype(np.float32)


# --- masks ------------------------------------------------------------------------------------
class MaskSmoother:
    """Person probability smoothed over time and snapped to the picture's edges."""

    def __init__(self) -> None:
        self._probability: np.ndarray | None = None
        self._grey: np.ndarray | None = None

    def update(
        self,
        frame_small: np.ndarray,
        probability: np.ndarray,
        *,
        reset: bool,
        size: tuple[int, int],
    ) -> np.ndarray:
        """uint8 alpha at size (height, width) from this frame's probability at working size."""
        import cv2

        grey = cv2.GaussianBlur(cv2.cvtColor(frame_small, cv2.COLOR_BGR2GRAY), (5, 5), 0)
        grey = grey.astype(np.float32)
        previous = self._probability
        if reset or previous is None or previous.shape != probability.shape:
            smoothed = probability
        else:
            assert self._grey is not None
            change = cv2.GaussianBlur(np.abs(grey - self._grey), (5, 5), 0)
            weight = np.clip(EMA_STILL + change / EMA_CHANGE_FULL, EMA_STILL, 1.0)
            smoothed = previous + weight * (probability - previous)
        self._probability, self._grey = smoothed, grey
        return _refined(frame_small, smoothed, size)


def _refined(frame_small: np.ndarray, probability: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    radius = max(2, round(max(frame_small.shape[:2]) / 80))
    guide = cv2.cvtColor(frame_small, cv2.COLOR_BGR2GRAY).astype(np.float32) * (1.0 / 255.0)
    snapped = cv2.ximgproc.guidedFilter(guide, probability, radius, 1e-3)
    low, high = RAMP
    alpha = np.clip((snapped - low) * (255.0 / (high - low)) + 0.5, 0, 255).astype(np.uint8)
    height, width = size
    if alpha.shape != (height, width):  # linear, so it commutes with the ramp but for clipping
        alpha = cv2.resize(alpha, (width, height), interpolation=cv2.INTER_LINEAR)
    return alpha


def _work_size(frame: np.ndarray) -> np.ndarray:
    import cv2

    height, width = frame.shape[:2]
    factor = WORK_SIDE / max(height, width)
    if factor >= 1.0:
        return frame
    size = (round(width * factor), round(height * factor))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


# --- cuts -------------------------------------------------------------------------------------
class _CutDetector:
    """A cut: the colour histogram and the picture both jump from one frame to the next."""

    def __init__(self) -> None:
        self._previous: tuple[np.ndarray, np.ndarray] | None = None

    def update(self, frame: np.ndarray) -> bool:
        import cv2

        thumb = cv2.resize(frame, (48, 48), interpolation=cv2.INTER_AREA)
        hsv = cv2.cvtColor(thumb, cv2.COLOR_BGR2HSV)
        hist = cv2.calcHist([hsv], [0, 1, 2], None, [8, 4, 4], [0, 180, 0, 256, 0, 256])
        grey = cv2.cvtColor(thumb, cv2.COLOR_BGR2GRAY).astype(np.float32)
        previous, self._previous = self._previous, (hist, grey)
        if previous is None:
            return False
        distance = cv2.compareHist(previous[0], hist, cv2.HISTCMP_BHATTACHARYYA)
        difference = float(np.abs(previous[1] - grey).mean())
        return distance > CUT_HIST and difference > CUT_DIFF


# --- bookkeeping ------------------------------------------------------------------------------
def _check_frame(frame: np.ndarray, shape: tuple[int, ...] | None) -> None:
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"expected BGR uint8 frames, got {frame.dtype} {frame.shape}")
    if shape is not None and frame.shape[:2] != shape:
        raise ValueError(f"frame size changed from {shape} to {frame.shape[:2]}")


class _Clock:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            self.seconds[stage] = self.seconds.get(stage, 0.0) + elapsed
