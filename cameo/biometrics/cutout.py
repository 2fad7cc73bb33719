"""The person cut out of one frame, with mediapipe's selfie segmentation as the alpha channel."""

from __future__ import annotations

import functools
import threading
from typing import Any

import numpy as np

CUTOUT_MODEL = "mediapipe:selfie_segmentation"

_lock = threading.Lock()


@functools.cache
def _segmenter() -> Any:
    import mediapipe as mp

    # The general model (256x256 input) rather than the landscape one: captures are portrait.
    return mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)


def person_mask(frame_bgr: np.ndarray) -> np.ndarray:
    """Per-pixel probability (0-1, float32) that the pixel belongs to a person."""
    rgb = np.ascontiguousarray(frame_bgr[:, :, ::-1])
    segmenter = _segmenter()
    with _lock:
        mask = segmenter.process(rgb).segmentation_mask
    return np.clip(np.asarray(mask, dtype=np.float32), 0.0, 1.0)


def cutout_png(frame_bgr: np.ndarray, mask: np.ndarray) -> bytes:
    """An RGBA PNG of the frame whose alpha is the mask."""
    import cv2

    rgba = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2BGRA)  # imencode writes BGRA as RGBA
    rgba[:, :, 3] = np.round(mask * 255).astype(np.uint8)
    ok, data = cv2.imencode(".png", rgba)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return data.tobytes()
