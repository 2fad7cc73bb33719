"""Head pose and planarity from mediapipe's face mesh (468 landmarks, shipped in the package).

Yaw is measured relative to the clip's own starting frame, by the rotation that best maps one
landmark cloud onto the other (Kabsch), so it is the same both ways and for every face shape. A
real head is not flat: as it turns, the nose moves against the cheeks and the face outline, and
no single homography maps the starting landmarks onto the turned ones. A photo (printed or on a
screen) turned in front of the camera is a plane, and a homography maps it almost exactly.
"""

from __future__ import annotations

import functools
import math
import threading
from typing import Any

import numpy as np

from cameo.biometrics.faces import Face

POSE_MODEL = "mediapipe:face_mesh"
CROP_MARGIN = 0.6  # of the face box, on each side: the mesh needs the whole head in view
# Mesh indices of the outer eye corners, for the inter-ocular distance residuals are scaled by.
EYE_OUTER = (33, 263)
# Pairs of mirror-image landmarks, the first on the image's left of a frontal face: the outer eye
# corners, the cheeks at the ears, the jaw's sides and the temples.
MIRROR_PAIRS = ((33, 263), (234, 454), (132, 361), (93, 323))

_lock = threading.Lock()


@functools.cache
def _mesh() -> Any:
    import mediapipe as mp

    return mp.solutions.face_mesh.FaceMesh(
        static_image_mode=True, max_num_faces=1, refine_landmarks=False
    )


def landmarks(frame_bgr: np.ndarray, face: Face) -> np.ndarray | None:
    """(468, 3) landmarks in frame pixels (z in the same units), or None if no mesh fits."""
    height, width = frame_bgr.shape[:2]
    x0, y0, x1, y1 = face.box
    mx, my = CROP_MARGIN * (x1 - x0), CROP_MARGIN * (y1 - y0)
    xa, ya = int(max(0, x0 - mx)), int(max(0, y0 - my))
    xb, yb = int(min(width, x1 + mx)), int(min(height, y1 + my))
    if xb - xa < 16 or yb - ya < 16:
        return None
    crop = np.ascontiguousarray(frame_bgr[ya:yb, xa:xb, ::-1])
    with _lock:
        result = _mesh().process(crop)
    if not result.multi_face_landmarks:
        return None
    w, h = xb - xa, yb - ya
    points = result.multi_face_landmarks[0].landmark
    return np.array([(xa + p.x * w, ya + p.y * h, p.z * w) for p in points], dtype=np.float64)


def relative_yaw(reference: np.ndarray, current: np.ndarray) -> float:
    """Degrees the head turned about the vertical axis since `reference`; positive when the nose
    moved towards the image's right (the measures.yaw_degrees convention)."""
    a, b = _normalised(reference), _normalised(current)
    u, _, vt = np.linalg.svd(a.T @ b)
    d = float(np.sign(np.linalg.det(vt.T @ u.T))) or 1.0
    rotation = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    return -math.degrees(math.atan2(rotation[0, 2], rotation[2, 2]))


def face_yaw(mesh: np.ndarray) -> float:
    """Degrees the face is turned from facing the camera, in relative_yaw's sign: the angle out
    of the image plane of the lines joining mirror-image landmarks (the mesh's z is in the same
    units as x), median over MIRROR_PAIRS."""
    angles = []
    for a, b in MIRROR_PAIRS:
        dx, dz = mesh[b, 0] - mesh[a, 0], mesh[b, 2] - mesh[a, 2]
        angles.append(math.degrees(math.atan2(dz, dx)))
    return float(np.median(angles))


def planar_fit(reference: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    """(residual, foreshortening): how far the landmarks are from the best homography of the
    reference ones (RMS, in inter-ocular distances), and by how many degrees that homography
    tilts a plane out of the image (0 for a move, a turn of the whole picture otherwise)."""
    import cv2

    src = reference[:, :2].astype(np.float64)
    dst = current[:, :2].astype(np.float64)
    homography, _ = cv2.findHomography(src, dst, 0)
    if homography is None:
        return math.inf, 0.0
    mapped = cv2.perspectiveTransform(src[None], homography)[0]
    eyes = float(np.linalg.norm(dst[EYE_OUTER[0]] - dst[EYE_OUTER[1]]))
    residual = float(np.sqrt(((mapped - dst) ** 2).sum(axis=1).mean())) / max(eyes, 1e-6)
    # The homography's local linear part at the face centre: a plane turned by t degrees is
    # compressed across the turn by cos(t) against the other direction.
    centre = src.mean(axis=0)
    jacobian = _jacobian(homography, centre)
    s = np.linalg.svd(jacobian, compute_uv=False)
    ratio = float(s[1] / max(s[0], 1e-9))
    return residual, math.degrees(math.acos(min(1.0, ratio)))


def _jacobian(homography: np.ndarray, point: np.ndarray) -> np.ndarray:
    x, y = float(point[0]), float(point[1])
    h = homography
    w = h[2, 0] * x + h[2, 1] * y + h[2, 2]
    u = h[0, 0] * x + h[0, 1] * y + h[0, 2]
    v = h[1, 0] * x + h[1, 1] * y + h[1, 2]
    return np.array(
        [
            [(h[0, 0] * w - u * h[2, 0]) / w**2, (h[0, 1] * w - u * h[2, 1]) / w**2],
            [(h[1, 0] * w - v * h[2, 0]) / w**2, (h[1, 1] * w - v * h[2, 1]) / w**2],
        ]
    )


def _normalised(points: np.ndarray) -> np.ndarray:
    centred = points - points.mean(axis=0)
    return centred / max(1e-9, float(np.sqrt((centred**2).sum(axis=1).mean())))
