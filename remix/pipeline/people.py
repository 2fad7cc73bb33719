"""Which pixels are people: two segmenters, each kept to what it is good at.

mediapipe's selfie segmentation marks people finely (hair, hands) but also anything person-like
beside or behind them: a cup, a cat's face, a pillar. BlazePose's segmentation (mediapipe's pose
model, which follows one body from frame to frame) is clean but soft at the outline and sees one
person only. So the pose mask is the body, and the selfie mask counts only near a body: within a
band around the pose mask (the outline and hair it misses), and around each face that the pose
mask does not already hold (a second person, or the first when the pose model has lost them), in
the region a head and body below it can take up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cameo.biometrics.cutout import person_mask

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
    region: np.ndarray  # float32 0/1: the skeleton drawn thick, where the body can be


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

    def probability(self, frame_small: np.ndarray, faces: list[Box]) -> np.ndarray:
        """Per-pixel person probability (float32 0-1) at the frame's size; `faces` are boxes
        x0, y0, x1, y1 in the same pixels."""
        return combined(person_mask(frame_small), self.body(frame_small, faces), faces)

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
            if body is not None and not self._believable(body, faces):
                self._restart()  # followed the wrong thing: look for the body afresh next frame
                body = None
        if body is not None:
            self._last_body, self._missed = body, 0
        elif self._last_body is not None and self._missed < self._hold:
            # The pose model drops a body for a frame or two (a fast turn, an occluder):
            # the last one is nearer the truth than falling back on faces alone.
            self._missed += 1
            body = self._last_body
        return body

    def _believable(self, body: Body, faces: list[Box]) -> bool:
        """A body is a person's when it covers the face its nose is in and most of it is below
        the top of that head (raised arms may reach above; a cup taken for a head may not).
        Otherwise (its face turned away or hidden, or the faces found are not people), it is
        believed where the last believed body was."""
        inside = body.mask > 0.5
        nose_x, nose_y = body.nose
        face = next((box for box in faces if _in_box(nose_x, nose_y, box, grow=0.5)), None)
        if face is not None:
            top = face[1] - HEAD_ABOVE * (face[2] - face[0])
            if _share_inside(body.mask, face) >= POSE_HOLDS_FACE:
                return _share_above(inside, top) <= ABOVE_HEAD
        if self._last_body is None:
            return False
        return _iou(inside, self._last_body.mask > 0.5) >= 0.5

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
        return Body(mask, nose, _skeleton(points, face, height, width))


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
            cv2.dilate((body.mask > POSE_KEEP).astype(np.float32), kernel), body.region
        )
    for box in faces:
        allowed = np.maximum(allowed, _head_and_body(box, height, width))
    soft = max(3, round(0.01 * max(height, width))) | 1
    allowed = np.asarray(cv2.GaussianBlur(allowed, (2 * soft + 1, 2 * soft + 1), 0), np.float32)
    probability = selfie * allowed
    if body is not None:
        probability = np.maximum(probability, body.mask)
    return probability


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
