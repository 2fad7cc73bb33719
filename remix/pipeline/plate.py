"""The old background, learned from the video itself, and the mask cleared where it still shows.

Where the camera holds still, the background behind a moving person is seen bare in many
frames. Its colour over the frames where the mask clearly leaves it out is the shot's plate; in
a frame where the mask keeps a pixel that matches the plate there, the segmenters took old
background for the person (a cup beside a shoulder, a cat's nose by a hand), and it is cleared.
Only where the plate is sure (seen bare in a good share of the shot's frames, and steady
there) and never inside the pose model's confident body: a black suit over a black sky matches
the plate too. A moving camera gives no steady plate, so nothing is cleared.

Everything runs at the tracker's working size; the full-size masks are only scaled down to
find the bare frames and multiplied where something is cleared.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PLATE_NAME = "steady-plate"
SAMPLES = 32  # at most this many frames of a shot, spread over it, make its plate
BARE_BELOW = 32  # alpha (of 255) under which a pixel, and its neighbours, show bare background
BARE_SHARE = 0.25  # of the sampled frames: fewer bare sightings, and the plate is not trusted
STEADY = 6.0  # grey levels: the most its bare sightings may stray from the plate on average
MATCH = 10.0  # grey levels: a 5x5 patch this close to the plate is old background
BODY_CORE = 0.8  # pose probability from which a pixel is the person's, whatever matches


@dataclass(frozen=True, eq=False)  # holds arrays
class Plate:
    colour: np.ndarray  # uint8 HxWx3 BGR at working size
    sure: np.ndarray  # bool HxW: where the colour can be trusted


def learn_plate(smalls: list[np.ndarray], masks: list[np.ndarray]) -> Plate:
    """The shot's plate from its frames (BGR at working size) and their masks (any size)."""

    picked = np.unique(np.linspace(0, len(smalls) - 1, SAMPLES).round().astype(int))
    height, width = smalls[0].shape[:2]
    total = np.zeros((height, width, 3), np.float32)
    count = np.zeros((height, width), np.float32)
    bare_frames = []
    for index in picked:
        bare = _bare(masks[index], (width, height))
        frame = smalls[index].astype(np.float32)
        total += frame * bare[:, :, None]
        count += bare
        bare_frames.append((frame, bare))
    colour = total / np.maximum(count, 1.0)[:, :, None]
    spread = np.zeros((height, width), np.float32)
    for frame, bare in bare_frames:
        spread += np.abs(frame - colour).mean(axis=2) * bare
    spread /= np.maximum(count, 1.0)
    sure = (count >= max(3.0, BARE_SHARE * len(bare_frames))) & (spread < STEADY)
    return Plate(np.clip(colour + 0.5, 0, 255).astype(np.uint8), sure)


def clear_old_background(
    mask: np.ndarray, small: np.ndarray, body_core: np.ndarray | None, plate: Plate
) -> np.ndarray:
    """The full-size mask with the pixels that show the plate cleared (a new array if any)."""
    import cv2

    if not plate.sure.any():
        return mask
    difference = cv2.blur(cv2.absdiff(small, plate.colour), (5, 5))
    mean = cv2.transform(difference, _CHANNEL_MEAN)  # 5x5 patch, channels averaged
    old = plate.sure & (mean < MATCH)
    if body_core is not None:
        old &= ~body_core
    if not old.any():
        return mask
    keep = 255 - cv2.GaussianBlur(old.astype(np.uint8) * 255, (5, 5), 0)
    # Only the box around what is cleared is scaled up and applied.
    height, width = mask.shape
    x, y, w, h = cv2.boundingRect(255 - keep)
    sx, sy = width / small.shape[1], height / small.shape[0]
    x0, y0 = max(0, int((x - 1) * sx)), max(0, int((y - 1) * sy))
    x1, y1 = min(width, int((x + w + 1) * sx) + 1), min(height, int((y + h + 1) * sy) + 1)
    keep_full = cv2.resize(keep, (width, height), interpolation=cv2.INTER_LINEAR)
    out = mask.copy()
    out[y0:y1, x0:x1] = cv2.multiply(mask[y0:y1, x0:x1], keep_full[y0:y1, x0:x1], scale=1 / 255)
    return out


_CHANNEL_MEAN = np.full((1, 3), 1.0 / 3.0, np.float32)


def _bare(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """float32 0/1 at `size` (width, height): the mask and its neighbours well below a person."""
    import cv2

    small = cv2.resize(mask, size, interpolation=cv2.INTER_AREA)
    bare = (small < BARE_BELOW).astype(np.uint8)
    return cv2.erode(bare, np.ones((5, 5), np.uint8)).astype(np.float32)
