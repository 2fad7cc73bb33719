"""Synthetic remix source clips whose truth is known by construction.

A person sprite is cut once from a real photo that a package ships (its alpha: mediapipe's
segmentation of the still photo, thresholded, largest region, holes filled) and then placed,
moving, over a known textured background. Whatever the alpha is, it is the truth of every clip
built from it: the person is exactly where the sprite was pasted, minus what was drawn in front.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tests.cameo_media import _detect, insightface_image
from tests.media import write_clip

Box = tuple[float, float, float, float]
AUDIO_RATE = 44_100


@dataclass(frozen=True)
class SourceSpec:
    seconds: float = 2.0
    size: tuple[int, int] = (180, 320)  # width, height (portrait)
    fps: int = 12
    photo: str = "astronaut"  # astronaut | rachel | corpus:<face_photos key>
    background: str = "room"  # room | a scene of tests.remix_photos.SCENES
    cut_at: float | None = None  # from here on: another camera angle, the subject elsewhere
    occlude: tuple[float, float] | None = None  # seconds during which a board hides the face
    audio: bool = True  # a tone over noise, so the clip has an AAC stream
    face_width: float = 0.3  # the subject's face width, fraction of the frame's width
    center_x: float = 0.5  # the subject's face centre, fraction of the frame's width
    sway: float = 0.08  # side-to-side movement, fraction of the width; 0: a static shot
    second: str | None = None  # another person, standing further back beside the subject
    second_from: float = 0.0  # seconds: when the other person enters
    noise: float = 2.5  # camera noise, sigma in grey levels, new in every frame


@dataclass
class SourceTruth:
    path: Path
    masks: list[np.ndarray]  # bool HxW per frame: every person's visible pixels
    boxes: list[Box | None]  # the subject's person box, x0 y0 x1 y1 (pixels, clipped to the frame)
    face_visible: list[bool]  # the subject's face is in view (not behind the board)
    background: np.ndarray  # the plate of the first shot
    plates: list[np.ndarray] = field(default_factory=list)  # one per shot
    shot: list[int] = field(default_factory=list)  # each frame's shot
    cuts: list[int] = field(default_factory=list)  # frame indices where a new shot starts
    other_boxes: list[Box | None] = field(default_factory=list)  # the second person's box
    # The board held in front of the face (x0, y0, x1, y1), where there is one: neither person
    # nor background (tests/remix_photos.score_masks leaves it out of both).
    boards: list[Box | None] = field(default_factory=list)


@dataclass(frozen=True)
class Sprite:
    image: np.ndarray  # BGR, cropped to the alpha's bounding box
    alpha: np.ndarray  # float32 0/1
    face_center: tuple[float, float]
    face_width: float


@dataclass(frozen=True)
class Frame:
    image: np.ndarray
    mask: np.ndarray
    box: Box | None
    face_visible: bool
    shot: int
    other_box: Box | None
    board: Box | None = None


def build_source(
    path: Path, spec: SourceSpec = SourceSpec(), *, keep_masks: bool = True
) -> SourceTruth:
    """Writes an H.264/AAC MP4; keep_masks=False drops the per-frame truth masks (long clips)."""
    width, height = spec.size
    truth = SourceTruth(path, [], [], [], plate_for(spec, 0))
    truth.plates = [plate_for(spec, 0)] + ([plate_for(spec, 1)] if spec.cut_at else [])

    def frames() -> Iterator[np.ndarray]:
        for i in range(frame_count(spec)):
            frame = render(spec, i)
            _record(truth, frame, i, keep_masks)
            yield frame.image

    write_clip(
        path,
        frames(),
        size=spec.size,
        fps=spec.fps,
        seconds=spec.seconds,
        audio=tone(spec.seconds) if spec.audio else None,
        audio_rate=AUDIO_RATE,
    )
    return truth


def _record(truth: SourceTruth, frame: Frame, index: int, keep_masks: bool) -> None:
    if keep_masks:
        truth.masks.append(frame.mask)
    truth.boxes.append(frame.box)
    truth.face_visible.append(frame.face_visible)
    truth.other_boxes.append(frame.other_box)
    truth.boards.append(frame.board)
    if truth.shot and frame.shot != truth.shot[-1]:
        truth.cuts.append(index)
    truth.shot.append(frame.shot)


def render_frames(spec: SourceSpec = SourceSpec()) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(frame_bgr, truth_mask) for every frame, without encoding."""
    for i in range(frame_count(spec)):
        frame = render(spec, i)
        yield frame.image, frame.mask


def frame_count(spec: SourceSpec) -> int:
    return int(round(spec.seconds * spec.fps))


def mask_iou(pred: np.ndarray, truth: np.ndarray) -> float:
    """Intersection over union of two masks (bool, or uint8 where > 127 is inside)."""
    a = pred > 127 if pred.dtype == np.uint8 else pred.astype(bool)
    b = truth > 127 if truth.dtype == np.uint8 else truth.astype(bool)
    union = int(np.count_nonzero(a | b))
    return 1.0 if union == 0 else int(np.count_nonzero(a & b)) / union


# --- one frame --------------------------------------------------------------------------------
def render(spec: SourceSpec, index: int) -> Frame:
    width, height = spec.size
    t = index / spec.fps
    shot = int(spec.cut_at is not None and t >= spec.cut_at)
    image = plate_for(spec, shot).astype(np.float32)
    mask = np.zeros((height, width), bool)
    other_box = None
    if spec.second and t >= spec.second_from:
        # Further back and to the side of the subject, so drawn first.
        other_x = 0.18 if _subject_x(spec, t, shot) > 0.5 else 0.82
        other_box = _paste(image, mask, sprite(spec.second), 0.9 * spec.face_width, other_x, 0.1)
    scale = 0.8 if shot else 1.0
    face_width = scale * spec.face_width * (1.0 + 0.05 * math.sin(2 * math.pi * t / 2.3))
    if not spec.sway:
        face_width = scale * spec.face_width
    subject = sprite(spec.photo)
    box = _paste(image, mask, subject, face_width, _subject_x(spec, t, shot), 0.0)
    face_visible, board = True, None
    if spec.occlude and spec.occlude[0] <= t < spec.occlude[1]:
        board = _occlude(image, mask, subject, face_width, _subject_x(spec, t, shot), spec.size)
        face_visible = False
    image += _noise(width, height, index) * (spec.noise / 2.5)
    frame = np.clip(image, 0, 255).astype(np.uint8)
    return Frame(frame, mask, box, face_visible, shot, other_box, board)


def _subject_x(spec: SourceSpec, t: float, shot: int) -> float:
    base = spec.center_x - 0.15 if shot else spec.center_x
    return base + spec.sway * math.sin(2 * math.pi * t / 3.0)


def _placement(
    person: Sprite, face_width: float, center_x: float, sink: float, size: tuple[int, int]
) -> tuple[float, int, int]:
    """Scale and top-left corner: the face at center_x, the sprite's foot below the frame's."""
    width, height = size
    scale = face_width * width / person.face_width
    x = int(round(center_x * width - person.face_center[0] * scale))
    y = int(round(height * (1.0 + sink) - person.image.shape[0] * scale))
    return scale, x, y


def _paste(
    image: np.ndarray,
    mask: np.ndarray,
    person: Sprite,
    face_width: float,
    center_x: float,
    sink: float,
) -> Box | None:
    import cv2

    height, width = mask.shape
    scale, x, y = _placement(person, face_width, center_x, sink, (width, height))
    rgb = cv2.resize(person.image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(person.alpha, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)
    fx0, fy0 = max(0, x), max(0, y)
    fx1, fy1 = min(width, x + rgb.shape[1]), min(height, y + rgb.shape[0])
    if fx0 >= fx1 or fy0 >= fy1:
        return None
    a = alpha[fy0 - y : fy1 - y, fx0 - x : fx1 - x, None]
    region = image[fy0:fy1, fx0:fx1]
    region *= 1.0 - a
    region += a * rgb[fy0 - y : fy1 - y, fx0 - x : fx1 - x]
    mask[fy0:fy1, fx0:fx1] |= a[:, :, 0] >= 0.5
    return _bbox(a[:, :, 0] >= 0.5, fx0, fy0)


def _bbox(inside: np.ndarray, dx: int, dy: int) -> Box | None:
    ys, xs = np.nonzero(inside)
    if len(xs) == 0:
        return None
    return (
        float(xs.min() + dx),
        float(ys.min() + dy),
        float(xs.max() + dx + 1),
        float(ys.max() + dy + 1),
    )


def _occlude(
    image: np.ndarray,
    mask: np.ndarray,
    person: Sprite,
    face_width: float,
    center_x: float,
    size: tuple[int, int],
) -> Box:
    """A striped board held in front of the face: it hides the face and is no person."""
    scale, x, y = _placement(person, face_width, center_x, 0.0, size)
    cx, cy = x + person.face_center[0] * scale, y + person.face_center[1] * scale
    half = 0.85 * person.face_width * scale
    x0, x1 = max(0, int(cx - half)), min(size[0], int(cx + half))
    y0, y1 = max(0, int(cy - 1.1 * half)), min(size[1], int(cy + 1.1 * half))
    stripes = (np.arange(y0, y1) // max(2, int(half / 5)) % 2)[:, None, None]
    image[y0:y1, x0:x1] = np.where(stripes, (40.0, 120.0, 200.0), (30.0, 60.0, 90.0))
    mask[y0:y1, x0:x1] = False
    return float(x0), float(y0), float(x1), float(y1)


@functools.cache
def _noise_bank(width: int, height: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    return rng.normal(0, 2.5, (height + 32, width + 32, 3)).astype(np.float32)


def _noise(width: int, height: int, index: int) -> np.ndarray:
    # A window of one cached field at a different offset each frame: new noise, no RNG cost.
    rng = np.random.default_rng(index)
    dx, dy = (int(v) for v in rng.integers(0, 32, 2))
    return _noise_bank(width, height)[dy : dy + height, dx : dx + width]


# --- sprites ----------------------------------------------------------------------------------
@functools.cache
def sprite(name: str) -> Sprite:
    """The person cut from a photo, once per process; its alpha is the clips' ground truth."""
    import cv2

    if name.startswith("corpus:"):  # a person of the face-photo corpus (tests/remix_photos.py)
        from tests.remix_photos import person_sprite

        return person_sprite(name.removeprefix("corpus:"))
    if name == "astronaut":
        from skimage import data

        # Cut above the helmet she holds at the photo's foot: whether a held object is part of
        # the person is a matter of definition, and the segmenters disagree on this one.
        image = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)[:380].copy()
    elif name == "rachel":
        # The leftmost person of insightface's group photo, cut above the table.
        image = cv2.imread(str(insightface_image("t1.jpg")))[200:610, 0:262].copy()
    else:
        raise ValueError(name)
    alpha = _still_alpha(image)
    ys, xs = np.nonzero(alpha)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    image, alpha = image[y0:y1, x0:x1].copy(), alpha[y0:y1, x0:x1].astype(np.float32)
    faces = _detect(image, full_range=True)
    if len(faces) != 1:
        raise AssertionError(f"{name}: expected one face, found {len(faces)}")
    (fx, fy, fw, fh), _ = faces[0]
    if name == "rachel":
        # The photo stops at her waist on the table: her body goes on down, off the frame.
        extra = max(0, int(fy + fh / 2 + 4.5 * fw) - image.shape[0])
        image = cv2.copyMakeBorder(image, 0, extra, 0, 0, cv2.BORDER_REPLICATE)
        alpha = cv2.copyMakeBorder(alpha, 0, extra, 0, 0, cv2.BORDER_REPLICATE)
    return Sprite(image, alpha, (fx + fw / 2, fy + fh / 2), fw)


def _still_alpha(image: np.ndarray) -> np.ndarray:
    """Segmentation of the still photo made binary and clean: one region, no holes."""
    import cv2

    from cameo.biometrics.cutout import person_mask

    inside = (person_mask(image) > 0.5).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(inside, connectivity=8)
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    inside = (labels == largest).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
    inside = cv2.morphologyEx(inside, cv2.MORPH_OPEN, kernel)
    # Fill holes: what the border cannot reach through the outside is inside.
    outside = np.pad(1 - inside, 1, constant_values=1)
    flood = outside.copy()
    cv2.floodFill(flood, None, (0, 0), 2)
    holes = (flood == 1)[1:-1, 1:-1]
    return (inside.astype(bool) | holes).astype(bool)


# --- backgrounds ------------------------------------------------------------------------------
def plate_for(spec: SourceSpec, shot: int) -> np.ndarray:
    width, height = spec.size
    plate = source_background(width, height, spec.background)
    if shot == 0:
        return plate
    return _other_angle(plate)


def _other_angle(plate: np.ndarray) -> np.ndarray:
    """The same place from another camera: mirrored, closer, in a dimmer light."""
    import cv2

    height, width = plate.shape[:2]
    crop = plate[int(0.1 * height) : int(0.9 * height), int(0.1 * width) : int(0.9 * width)]
    closer = cv2.resize(crop[:, ::-1], (width, height), interpolation=cv2.INTER_LINEAR)
    return np.clip(closer.astype(np.float32) * (0.7, 0.75, 0.8), 0, 255).astype(np.uint8)


@functools.cache
def source_background(width: int, height: int, kind: str = "room") -> np.ndarray:
    plate = _room(width, height) if kind == "room" else _photo_plate(kind, width, height)
    plate.flags.writeable = False  # cached and shared: a caller must copy to draw on it
    return plate


@functools.cache
def new_background(width: int, height: int, kind: str = "beach") -> np.ndarray:
    """A plate distinct from every source background, to swap in."""
    plate = _beach(width, height) if kind == "beach" else _photo_plate(kind, width, height)
    plate.flags.writeable = False  # cached and shared: a caller must copy to draw on it
    return plate


def _photo_plate(kind: str, width: int, height: int) -> np.ndarray:
    from remix.pipeline.background import background_plate
    from tests.remix_photos import scene_image

    image = scene_image(kind)

    return background_plate(image, width, height)


def _room(width: int, height: int) -> np.ndarray:
    """A lit wall with wallpaper stripes, a window, a framed picture, a shelf and a wooden floor."""
    rng = np.random.default_rng(7)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    u, v = xs / width, ys / height
    wall = 150 + 50 * u - 30 * v + 8 * np.sin(2 * math.pi * u * 14)
    image = np.stack([wall * 0.8, wall * 0.92, wall], axis=-1)
    floor = v > 0.72
    grain = 20 * np.sin(2 * math.pi * (v * 40 + 0.3 * np.sin(u * 9)))
    image[floor] = np.stack([40 + grain, 80 + grain, 120 + grain], axis=-1)[floor]
    _rect(image, (0.62, 0.1, 0.92, 0.35), (235, 215, 190))  # window
    _rect(image, (0.64, 0.12, 0.9, 0.33), (250, 230, 200))
    _rect(image, (0.06, 0.15, 0.3, 0.32), (30, 50, 70))  # framed picture
    _rect(image, (0.08, 0.17, 0.28, 0.3), (60, 140, 90))
    _rect(image, (0.55, 0.5, 1.0, 0.53), (40, 60, 80))  # shelf
    _rect(image, (0.6, 0.44, 0.68, 0.5), (50, 50, 180))  # books on it
    _rect(image, (0.7, 0.42, 0.76, 0.5), (160, 90, 40))
    image += rng.normal(0, 4, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def _beach(width: int, height: int) -> np.ndarray:
    """A bright sky over the sea, and sand: colours far from any room's."""
    rng = np.random.default_rng(13)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    u, v = xs / width, ys / height
    sky = np.stack([235 - 40 * v, 200 - 30 * v, 140 - 20 * v], axis=-1)
    waves = 10 * np.sin(2 * math.pi * (v * 30 + u * 3))
    sea = np.stack([160 + waves, 120 + waves, 30 + 0 * u], axis=-1)
    sand = np.stack([140 + 0 * u, 200 + 0 * u, 225 + 0 * u], axis=-1)
    image = np.where((v < 0.45)[..., None], sky, np.where((v < 0.6)[..., None], sea, sand))
    image += rng.normal(0, 6, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def _rect(
    image: np.ndarray, where: tuple[float, float, float, float], bgr: tuple[int, ...]
) -> None:
    height, width = image.shape[:2]
    x0, y0, x1, y1 = where
    image[int(y0 * height) : int(y1 * height), int(x0 * width) : int(x1 * width)] = bgr


def tone(seconds: float) -> np.ndarray:
    rng = np.random.default_rng(5)
    t = np.arange(int(seconds * AUDIO_RATE)) / AUDIO_RATE
    return (0.1 * np.sin(2 * math.pi * 440 * t) + rng.normal(0, 0.01, len(t))).astype(np.float32)
