"""Background swap: the tracked people over a new plate, graded toward its colour and light.

The person's colour is moved part of the way toward the plate's (a Reinhard transfer in LAB of
the person pixels' mean and spread), with the statistics smoothed over time so the grade does
not pump as the person moves; a little of the blurred plate is wrapped into the person's edge,
as light from the new setting would spill around them.
"""

from __future__ import annotations

import numpy as np

Box = tuple[int, int, int, int]  # x, y, width, height

COMPOSITOR_NAME = "mask-composite+lab-match+light-wrap"
STATS_EMA = 0.15  # weight of a new frame's statistics: about a 6-frame memory
MAX_SHIFT = np.array([8.0, 6.0, 6.0], np.float32)  # LAB (8-bit scale): a moderate grade
SPREAD_LIMITS = (0.9, 1.12)  # the most the person's contrast may be scaled
WRAP = 0.3  # how much of the plate's light reaches the person's outermost edge
STATS_SIDE = 160  # statistics and the light wrap are computed at about this size


def background_plate(image_bgr: np.ndarray, width: int, height: int) -> np.ndarray:
    """The image scaled to cover width x height, centre-cropped to exactly (height, width, 3)."""
    import cv2

    if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or min(image_bgr.shape[:2]) < 1:
        raise ValueError(f"expected a BGR image, got shape {image_bgr.shape}")
    src_h, src_w = image_bgr.shape[:2]
    scale = max(width / src_w, height / src_h)
    new_w, new_h = max(width, round(src_w * scale)), max(height, round(src_h * scale))
    shrink = new_w < src_w
    resized = cv2.resize(
        image_bgr, (new_w, new_h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
    )
    x0, y0 = (new_w - width) // 2, (new_h - height) // 2
    return np.ascontiguousarray(resized[y0 : y0 + height, x0 : x0 + width])


class BackgroundCompositor:
    """Composites one frame at a time; holds the smoothed colour statistics between frames."""

    name = COMPOSITOR_NAME

    def __init__(self, plate_bgr: np.ndarray, *, match_strength: float = 0.5) -> None:
        if not 0.0 <= match_strength <= 1.0:
            raise ValueError("match_strength must be between 0 and 1")
        self.plate = np.ascontiguousarray(plate_bgr)
        self.match_strength = match_strength
        self._person_stats: np.ndarray | None = None  # (2, 3): LAB mean and std
        self._plate_stats: np.ndarray | None = None
        self._static_plate = _prepared_plate(self.plate)
        self._static_glow: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the person's smoothed colour: call it at a cut (new shot, new light)."""
        self._person_stats = None

    def composite(
        self, frame_bgr: np.ndarray, mask_u8: np.ndarray, plate_bgr: np.ndarray | None = None
    ) -> np.ndarray:
        """The person (mask as alpha) over the plate, or over this frame's plate when given."""
        import cv2

        height, width = frame_bgr.shape[:2]
        prepared = self._static_plate if plate_bgr is None else _prepared_plate(plate_bgr)
        plate, plate_stats, plate_glow = prepared
        if plate.shape[:2] != (height, width) or mask_u8.shape != (height, width):
            raise ValueError(
                f"frame {frame_bgr.shape}, mask {mask_u8.shape} and plate {plate.shape} differ"
            )
        # x, y, w, h of the pixels with any person in them
        x, y, w, h = cv2.boundingRect(mask_u8)
        box = (x, y, w, h)
        if not w:
            return plate.copy()
        person_stats = _person_stats(frame_bgr, mask_u8)
        if person_stats is not None:
            self._person_stats = _ema(self._person_stats, person_stats)
        self._plate_stats = _ema(self._plate_stats, plate_stats)
        graded = self._graded(frame_bgr, mask_u8, box)
        if plate_bgr is None:
            if self._static_glow is None:  # the static plate's light, at full size once
                self._static_glow = cv2.resize(
                    plate_glow, (width, height), interpolation=cv2.INTER_LINEAR
                )
            glow = self._static_glow
        else:
            glow = cv2.resize(plate_glow, (width, height), interpolation=cv2.INTER_LINEAR)
        return _blend(graded, mask_u8, plate, glow, box)

    def _graded(self, frame_bgr: np.ndarray, mask_u8: np.ndarray, box: Box) -> np.ndarray:
        """The person's region of the frame (the mask's box) with their colour moved toward
        the plate's."""
        import cv2

        x, y, w, h = box
        region = frame_bgr[y : y + h, x : x + w]
        if self._person_stats is None or self._plate_stats is None or not self.match_strength:
            return region
        (src_mean, src_std), (dst_mean, dst_std) = self._person_stats, self._plate_stats
        k = self.match_strength
        shift = np.clip(k * (dst_mean - src_mean), -MAX_SHIFT, MAX_SHIFT)
        gain = np.clip(1.0 + k * (dst_std / np.maximum(src_std, 1.0) - 1.0), *SPREAD_LIMITS)
        # The transfer is per channel, so a lookup table applies it to 8-bit LAB directly.
        levels = np.arange(256, dtype=np.float32)[:, None]
        table = np.clip((levels - src_mean) * gain + src_mean + shift + 0.5, 0, 255)
        lab = cv2.cvtColor(region, cv2.COLOR_BGR2LAB)
        lab = cv2.LUT(lab, table.astype(np.uint8).reshape(256, 1, 3))
        return cv2.cvtColor(lab, cv2.COLOR_LAB2BGR)


def _prepared_plate(plate_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The plate, its LAB statistics, and its blurred light for the wrap (small, float)."""
    import cv2

    small = _small(plate_bgr)
    lab = cv2.cvtColor(small, cv2.COLOR_BGR2LAB).reshape(-1, 3).astype(np.float32)
    stats = np.stack([lab.mean(axis=0), lab.std(axis=0)])
    glow = cv2.GaussianBlur(small, (0, 0), 4.0)
    return plate_bgr, stats, glow


def _person_stats(frame_bgr: np.ndarray, mask_u8: np.ndarray) -> np.ndarray | None:
    import cv2

    inside = _small(mask_u8) > 191  # the person's core: edges mix in the old background
    if np.count_nonzero(inside) < 20:
        return None
    lab = cv2.cvtColor(_small(frame_bgr), cv2.COLOR_BGR2LAB)[inside].astype(np.float32)
    return np.stack([lab.mean(axis=0), lab.std(axis=0)])


def _ema(previous: np.ndarray | None, current: np.ndarray) -> np.ndarray:
    return current if previous is None else (1.0 - STATS_EMA) * previous + STATS_EMA * current


def _blend(
    person_bgr: np.ndarray, mask_u8: np.ndarray, plate: np.ndarray, glow: np.ndarray, box: Box
) -> np.ndarray:
    """The plate with the person's region (`person_bgr`, the mask's box) laid over it; outside
    the box the mask is 0, so only the box is blended."""
    import cv2

    height, width = mask_u8.shape
    x, y, w, h = box
    inside = (slice(y, y + h), slice(x, x + w))
    # Light wrap: the plate's blurred light over the person's rim, none in their core.
    small_alpha = _small(mask_u8).astype(np.float32) * (1.0 / 255.0)
    reach = cv2.GaussianBlur(small_alpha, (0, 0), 2.0)
    wrap_small = np.clip(2.0 * WRAP * small_alpha * (1.0 - reach), 0.0, WRAP)
    wrap = cv2.resize(wrap_small, (width, height), interpolation=cv2.INTER_LINEAR)[inside]
    lit = cv2.blendLinear(person_bgr, np.ascontiguousarray(glow[inside]), 1.0 - wrap, wrap)
    alpha = mask_u8[inside].astype(np.float32) * (1.0 / 255.0)
    out = plate.copy()
    out[inside] = cv2.blendLinear(lit, np.ascontiguousarray(plate[inside]), alpha, 1.0 - alpha)
    return out


def _small(image: np.ndarray) -> np.ndarray:
    import cv2

    height, width = image.shape[:2]
    factor = STATS_SIDE / max(height, width)
    if factor >= 1.0:
        return image
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
