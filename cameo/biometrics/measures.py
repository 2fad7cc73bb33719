"""Per-face measurements from one frame: head yaw from landmarks, sharpness and brightness."""

from __future__ import annotations

import math

import numpy as np

from cameo.biometrics.faces import Face

# Nose tip depth in front of the eyes, in inter-ocular distances (about 30 mm against 63 mm).
NOSE_DEPTH = 0.5
QUALITY_SIDE = 128  # the face is resized to this before measuring, so clip size does not matter
REFERENCE_CONTRAST = 40.0  # grey levels (standard deviation) sharpness is measured at


def yaw_degrees(face: Face) -> float:
    """Approximate head yaw; positive when the nose points to the image's right.

    Seen from the camera the nose tip shifts off the eyes' midpoint by depth * sin(yaw) while
    the eyes' spacing shrinks by cos(yaw), so their ratio gives tan(yaw) * NOSE_DEPTH.
    """
    eye_left, eye_right, nose = face.kps[0], face.kps[1], face.kps[2]
    axis = eye_right - eye_left
    spacing = float(np.linalg.norm(axis))
    if spacing < 1e-6:
        return 0.0
    offset = float(np.dot(nose - (eye_left + eye_right) / 2, axis / spacing)) / spacing
    return math.degrees(math.atan2(offset, NOSE_DEPTH))


def face_region(frame_bgr: np.ndarray, face: Face, inner: float = 1.0) -> np.ndarray:
    """Grey face box (the central `inner` part of it), resized to QUALITY_SIDE square."""
    import cv2

    x0, y0, x1, y1 = face.box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    hw, hh = inner * (x1 - x0) / 2, inner * (y1 - y0) / 2
    height, width = frame_bgr.shape[:2]
    xa, xb = int(max(0, cx - hw)), int(min(width, cx + hw))
    ya, yb = int(max(0, cy - hh)), int(min(height, cy + hh))
    if xb - xa < 2 or yb - ya < 2:
        return np.zeros((QUALITY_SIDE, QUALITY_SIDE), dtype=np.uint8)
    grey = cv2.cvtColor(frame_bgr[ya:yb, xa:xb], cv2.COLOR_BGR2GRAY)
    return cv2.resize(grey, (QUALITY_SIDE, QUALITY_SIDE), interpolation=cv2.INTER_AREA)


def sharpness(frame_bgr: np.ndarray, face: Face) -> float:
    """Variance of the Laplacian over the face box, at a standard contrast.

    The face is scaled to a standard deviation of REFERENCE_CONTRAST grey levels first: the
    Laplacian grows with contrast, and a dimly lit face is not a blurred one.
    """
    import cv2

    region = face_region(frame_bgr, face).astype(np.float64)
    spread = float(region.std())
    if spread < 1.0:
        return 0.0
    normalised = (region - region.mean()) * (REFERENCE_CONTRAST / spread)
    return float(cv2.Laplacian(normalised, cv2.CV_64F).var())


def brightness(frame_bgr: np.ndarray, face: Face) -> float:
    """Mean grey level (0-255) of the inner face, where skin is rather than background."""
    return float(face_region(frame_bgr, face, inner=0.6).mean())
