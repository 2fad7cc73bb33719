"""Which pixels are people: two segmenters, each kept to what it is good at.

mediapipe's selfie segmentation marks people finely (hair, hands) but also anything person-like
beside or behind them: a cup, a cat's face, a pillar. BlazePose's segmentation (mediapipe's pose
model, which follows one body from frame to frame) is clean but soft at the outline and sees one
person only. So the pose mask is the body, and the selfie mask counts only near a body: within a
band around the pose mask (the outline and hair it misses), and around each face that the pose
mask does not already hold (a second person, or the first when the pose model has lost them), in
the region a head and body below it can take up (`combined`).

The pose model runs in its own thread, frames in order (`PeopleSegmenter.body`); the rest runs
in the caller's, where `BodyCarrier` carries a body the pose model lost to where its pixels went.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

Box = tuple[float, float, float, float]

SEGMENTER_NAME = "mediapipe:pose_segmentation+selfie_segmentation"
POSE_BAND = 0.02  # of the frame's long side: how far past the pose mask the selfie mask counts
POSE_KEEP = 0.5  # pose probability from which the selfie mask counts near the body
HEAD_ABOVE = 0.9  # face widths of hair above the face box
HEAD_SIDE = 1.3  # face widths either side of the face's centre, down to the chin
BODY_SPREAD = 1.0  # from the chin down, the region widens by this much per pixel of height
BODY_SIDE = 2.5  # and at most this many face widths either side
# The pose model runs this often a second at least (every frame up to 47 fps); between, the last
# body stands. At 12 a second the tuning clips (24 fps) lost 0.3 of IoU in their worst frame.
POSE_RATE = 24.0
HOLD_BODY_S = 0.5  # how long the last body stands in while the pose model has lost it
ABOVE_HEAD = 0.25  # the most of a body mask that may lie above its head's top (raised arms)
POSE_HOLDS_FACE = 0.5
# Carrying the last body while the pose model has lost it: looked for within CARRY_REACH (of
# the long side) of where it was, and still the body while CARRY_FOUND of its pixels are within
# CARRY_CLOSE grey levels of how they looked.
CARRY_S = 2.0
CARRY_REACH = 0.08
CARRY_CLOSE = 24
CARRY_FOUND = 0.5
# The skeleton (mediapipe pose landmarks): limbs as segments between these landmarks, drawn
# LIMB_WIDTH face widths thick, the head a disc of HEAD_RADIUS, all grown by SKELETON_MARGIN
# for loose clothes and hair.
LIMBS = (
    (11, 12),
    (11, 13),
    (13, 15),
    (12, 14),
    (14, 16),
    (15, 19),
    (16, 20),
    (11, 23),
    (12, 24),
    (23, 24),
    (23, 25),
    (25, 27),
    (24, 26),
    (26, 28),
    (0, 11),
    (0, 12),
)
HANDS = (19, 20)  # index finger landmarks: the middle of each hand
HAND_REACH = 1.2  # face widths around a hand
LIMB_WIDTH = 0.8
HEAD_RADIUS = 1.0
SKELETON_MARGIN = 0.35


@dataclass(frozen=True, eq=False)  # holds arrays
class Body:
    """What the pose model says of its one person in a frame."""

    mask: np.ndarray  # float32 0-1, the pose model's segmentation
    nose: tuple[float, float]  # pixels
    # Where the body can be (float32 0/1): the skeleton drawn thick (body_region), drawn on
    # first use in the caller's thread, not the pose model's, from the landmarks (pixels) and
    # the face the nose is in.
    drawn: np.ndarray | None = None
    points: np.ndarray | None = None
    face: Box | None = None
    held: bool = False  # an earlier frame's body, standing in while the pose model lost it
    anchored: bool = False  # it holds the face its nose is in (else believed by overlap alone)


class PeopleSegmenter:
    """Stateful (the pose model follows its person): one per video, reset at a cut."""

    name = SEGMENTER_NAME

    def __init__(self, fps: float = POSE_RATE) -> None:
        self._pose_every = max(1, int(fps // POSE_RATE))
        self._hold = max(1, round(HOLD_BODY_S * fps))  # frames
        self._pose: Any = None
        self._last_body: Body | None = None
        self._missed = 0
        self._count = 0

    def reset(self) -> None:
        """Forget the followed body: after a cut it would be looked for in the wrong place."""
        self._restart()
        self._last_body, self._missed = None, 0

    def _restart(self) -> None:
        if self._pose is not None:
            self._pose.close()
        self._pose = None

    def close(self) -> None:
        self.reset()

    def body(self, frame_small: np.ndarray, faces: list[Box]) -> Body | None:
        """The followed body in this frame (or the last one, held through a brief loss). Call
        it for every frame in order: the pose model follows its person from frame to frame.
        The rest (the selfie model, `combined`) needs no order and may run beside it."""
        self._count += 1
        body: Body | None = None
        skip = self._count % self._pose_every != 0
        if skip and self._last_body is not None and not self._missed:
            body = self._last_body  # a body moves little in a 24th of a second
        else:
            body = self._pose_body(frame_small, faces)
            if body is not None:
                belief = self._belief(body, faces)
                if belief is None:
                    self._restart()  # followed the wrong thing: look afresh next frame
                    body = None
                else:
                    body = replace(body, anchored=belief == "anchored")
        if body is not None:
            self._last_body, self._missed = body, 0
        elif self._last_body is not None and self._missed < self._hold:
            # The pose model drops a body for a frame or two (a fast turn, an occluder):
            # the last one is nearer the truth than falling back on faces alone.
            self._missed += 1
            body = replace(self._last_body, held=True)
        return body

    def _belief(self, body: Body, faces: list[Box]) -> str | None:
        """A body is a person's ("anchored") when it covers the face its nose is in and most of
        it is below the top of that head (raised arms may reach above; a cup taken for a head
        may not). Otherwise (its face turned away or hidden, or the faces found are not people),
        it is believed ("follows") where the last believed body was; else None."""
        inside = body.mask > 0.5
        nose_x, nose_y = body.nose
        face = next((box for box in faces if _in_box(nose_x, nose_y, box, grow=0.5)), None)
        if face is not None:
            top = face[1] - HEAD_ABOVE * (face[2] - face[0])
            if _share_inside(body.mask, face) >= POSE_HOLDS_FACE:
                return "anchored" if _share_above(inside, top) <= ABOVE_HEAD else None
        if self._last_body is None:
            return None
        return "follows" if _iou(inside, self._last_body.mask > 0.5) >= 0.5 else None

    def _pose_body(self, frame_small: np.ndarray, faces: list[Box]) -> Body | None:
        import mediapipe as mp

        if self._pose is None:  # one model per segmenter: a video's frames, one at a time
            self._pose = mp.solutions.pose.Pose(
                static_image_mode=False,
                model_complexity=1,  # pose_landmark_full ships in the wheel; heavy does not
                enable_segmentation=True,
                smooth_segmentation=True,
            )
        result = self._pose.process(np.ascontiguousarray(frame_small[:, :, ::-1]))
        if result.segmentation_mask is None or result.pose_landmarks is None:
            return None
        height, width = frame_small.shape[:2]
        points = np.array([(p.x * width, p.y * height) for p in result.pose_landmarks.landmark])
        mask = np.clip(np.asarray(result.segmentation_mask, np.float32), 0.0, 1.0)
        nose = (float(points[0][0]), float(points[0][1]))
        face = next((box for box in faces if _in_box(*nose, box, grow=0.5)), None)
        return Body(mask, nose, points=points, face=face)


class BodyCarrier:
    """Carries the body through frames where the pose model has lost it (a board over the face,
    a fast turn): the last body the pose model saw, moved to where its pixels are now (masked
    template matching near where it was), for as long as most of them are still found there,
    at most CARRY_S. What hides part of the body is carried with it, in front of the new
    background, as a foreground object should stay. One per video, frames in order."""

    def __init__(self, fps: float) -> None:
        self._limit = max(1, round(CARRY_S * fps))
        self._seen: tuple[np.ndarray, Body] | None = None  # the frame and body last seen
        self._frames = 0

    def reset(self) -> None:
        self._seen, self._frames = None, 0

    def body(self, frame_small: np.ndarray, selfie: np.ndarray, body: Body | None) -> Body | None:
        """The pose model's body where it holds a face, else the carried one (unless the pose
        model's body agrees better with the selfie model), else `body`."""
        if body is not None and body.anchored:
            self._seen, self._frames = (frame_small, body), 0
            return body
        if self._seen is None or self._frames >= self._limit:
            return body
        shift = _moved(*self._seen, frame_small)
        if shift is None:
            self._frames = self._limit  # lost: the held body, if any, and nothing after
            return body
        self._frames += 1
        carried = _shifted_body(self._seen[1], shift)
        # Without its face, the pose model may follow a shadow or the background beside the
        # body, or it may be right where the carried body, only moved, is not: the one the
        # selfie model agrees with more is taken.
        if body is not None and not body.held:
            seen = selfie > 0.5
            if _iou(body.mask > 0.5, seen) >= _iou(carried.mask > 0.5, seen):
                return body
        return carried


def _moved(before: np.ndarray, body: Body, now: np.ndarray) -> tuple[int, int] | None:
    """How far the body's pixels moved from `before` to `now` (dx, dy), or None where most of
    them are no longer found."""
    import cv2

    inside = (body.mask > 0.5).astype(np.uint8)
    x, y, w, h = cv2.boundingRect(inside)
    height, width = inside.shape
    # As far as a body moves in a few frames, and no more than a quarter of its own size.
    reach = max(2, min(round(CARRY_REACH * max(height, width)), min(w, h) // 4))
    if w < 2 * reach + 4 or h < 2 * reach + 4:
        return None
    # The box's inner part is looked for within the box, so that it may move `reach` either
    # way even where the body runs off the frame. Only the body's inner pixels count: its soft
    # outline holds old background too, which stays where it is and would pin the match.
    core = cv2.erode(inside, np.ones((2 * (reach // 3) + 1,) * 2, np.uint8))
    inner = (slice(y + reach, y + h - reach), slice(x + reach, x + w - reach))
    template = np.ascontiguousarray(before[inner])
    weights = np.ascontiguousarray(np.repeat(core[inner][:, :, None], 3, axis=2))
    if not weights.any():
        return None
    search = np.ascontiguousarray(now[y : y + h, x : x + w])
    scores = cv2.matchTemplate(search, template, cv2.TM_SQDIFF, mask=weights)
    _, _, best, _ = cv2.minMaxLoc(scores)
    dx, dy = best[0] - reach, best[1] - reach
    # Found where most of its pixels still look as they did (the rest may be hidden).
    top, left = y + reach + dy, x + reach + dx
    there = now[top : top + template.shape[0], left : left + template.shape[1]]
    close = np.abs(there.astype(np.int16) - template).max(axis=2) <= CARRY_CLOSE
    if np.count_nonzero(close & (weights[:, :, 0] > 0)) < CARRY_FOUND * np.count_nonzero(
        weights[:, :, 0]
    ):
        return None
    return int(dx), int(dy)


def _shifted_body(body: Body, shift: tuple[int, int]) -> Body:
    import cv2

    dx, dy = shift
    height, width = body.mask.shape
    move = np.array([[1, 0, dx], [0, 1, dy]], np.float32)

    def moved(image: np.ndarray) -> np.ndarray:
        return np.asarray(cv2.warpAffine(image, move, (width, height)), np.float32)

    nose = (body.nose[0] + dx, body.nose[1] + dy)
    return Body(moved(body.mask), nose, moved(body_region(body)), held=True)


def combined(selfie: np.ndarray, body: Body | None, faces: list[Box]) -> np.ndarray:
    """The selfie model's probability where a person can be (near the body, below a face),
    with the body's own mask over it."""
    import cv2

    height, width = selfie.shape[:2]
    # The whole frame only: square tiles (which see a portrait frame's people unsquashed)
    # also see more cups and cats as people (bench/remix_masks.py, tuning split).
    allowed = np.zeros((height, width), np.float32)
    if body is not None:
        band = max(3, round(POSE_BAND * max(height, width)))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
        allowed = np.maximum(
            cv2.dilate((body.mask > POSE_KEEP).astype(np.float32), kernel), body_region(body)
        )
    for box in faces:
        allowed = np.maximum(allowed, _head_and_body(box, height, width))
    soft = max(3, round(0.01 * max(height, width))) | 1
    allowed = np.asarray(cv2.GaussianBlur(allowed, (2 * soft + 1, 2 * soft + 1), 0), np.float32)
    probability = selfie * allowed
    if body is not None:
        probability = np.maximum(probability, body.mask)
    return probability


def body_region(body: Body) -> np.ndarray:
    """Where the body can be (float32 0/1), drawn once per body."""
    if body.drawn is None:
        assert body.points is not None, "a body has its region or its landmarks"
        height, width = body.mask.shape
        # A cache on a frozen record: the same body, held for a few frames, is drawn once.
        object.__setattr__(body, "drawn", _skeleton(body.points, body.face, height, width))
    assert body.drawn is not None
    return body.drawn


def _skeleton(points: np.ndarray, face: Box | None, height: int, width: int) -> np.ndarray:
    """The body's frame: the head round the nose, the torso between shoulders and hips, and
    each limb, drawn as thick as a body part is (from the face's width, else the shoulders')."""
    import cv2

    shoulders = float(np.linalg.norm(points[11] - points[12]))
    face_width = (face[2] - face[0]) if face is not None else 0.45 * shoulders
    face_width = max(2.0, face_width)
    canvas = np.zeros((height, width), np.uint8)
    shift = 4  # sub-pixel drawing: coordinates in 1/16 px
    scale = float(1 << shift)

    limit = 4 * max(height, width)  # off-frame landmarks are kept, within reason
    fixed = (np.clip(points, -limit, limit) * scale).astype(np.int64).tolist()

    def at(index: int) -> tuple[int, int]:
        return fixed[index][0], fixed[index][1]

    torso = np.array([at(i) for i in (11, 12, 24, 23)], np.int32)
    cv2.fillConvexPoly(canvas, torso, 1, lineType=cv2.LINE_8, shift=shift)
    thick = max(2, round(LIMB_WIDTH * face_width))
    for a, b in LIMBS:
        cv2.line(canvas, at(a), at(b), 1, thickness=thick, lineType=cv2.LINE_8, shift=shift)
    radius = int(HEAD_RADIUS * face_width * scale)
    cv2.circle(canvas, at(0), radius, 1, thickness=-1, lineType=cv2.LINE_8, shift=shift)
    for hand in HANDS:  # what a hand holds stays with the person (a cup, a phone, a helmet)
        reach = int(HAND_REACH * face_width * scale)
        cv2.circle(canvas, at(hand), reach, 1, thickness=-1, lineType=cv2.LINE_8, shift=shift)
    margin = max(3, round(SKELETON_MARGIN * face_width))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1, 2 * margin + 1))
    return cv2.dilate(canvas, kernel).astype(np.float32)


def _in_box(x: float, y: float, box: Box, *, grow: float) -> bool:
    x0, y0, x1, y1 = box
    dx, dy = grow * (x1 - x0), grow * (y1 - y0)
    return x0 - dx <= x <= x1 + dx and y0 - dy <= y <= y1 + dy


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 0.0


def _share_above(inside: np.ndarray, row: float) -> float:
    total = np.count_nonzero(inside)
    return np.count_nonzero(inside[: max(0, int(row))]) / total if total else 0.0


def _share_inside(mask: np.ndarray, box: Box) -> float:
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    region = mask[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)]
    return float((region > 0.5).mean()) if region.size else 0.0


def _head_and_body(box: Box, height: int, width: int) -> np.ndarray:
    """1 where a person with this face can be: the head with its hair, and below the chin a
    body that widens as it goes down; never above the hair."""
    x0, y0, x1, y1 = box
    face = max(1.0, x1 - x0)
    centre = (x0 + x1) / 2
    rows = np.arange(height, dtype=np.float32)[:, None]
    columns = np.arange(width, dtype=np.float32)[None, :]
    below = np.clip(rows - y1, 0, None)
    half = np.minimum(HEAD_SIDE * face + BODY_SPREAD * below, BODY_SIDE * face)
    inside = (rows >= y0 - HEAD_ABOVE * face) & (np.abs(columns - centre) <= half)
    return inside.astype(np.float32)
