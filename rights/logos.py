"""Finding a registered logo in a video: ORB features, ratio-tested matches, a RANSAC homography.

A library (no Django): the logo's features are computed once, at registration, and stored as
bytes (`features_pack`); the output check unpacks them and matches every sampled frame.

Why these choices: ORB is free, fast on CPU and binary (Hamming matching); its scale pyramid on
both sides covers a logo from ~10 % to ~40 % of the frame width. A homography that explains many
matches, maps the logo to a convex, not-too-skewed quadrilateral, and keeps most of the
logo's keypoints inside it is what separates a real logo from texture that happens to match.
"""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from generation.pipeline.ffmpeg import ffmpeg_exe

TEMPLATE_SIDE = 400  # the logo's longer side when its features are computed
TEMPLATE_SCALES = (1.0, 0.6, 0.4, 0.27, 0.18)
FRAME_SIDE = 1280  # frames are matched at up to this longer side (720p stays as is)
SAMPLE_FPS = 2.0
FRAME_FEATURES = 3000
TEMPLATE_FEATURES = 400  # at each of TEMPLATE_SCALES
RATIO = 0.8  # Lowe's ratio test
MIN_INLIERS = 14
MIN_INLIER_SHARE = 0.35  # of the ratio-tested matches
REPROJECTION_PX = 5.0
# Enough 4-point draws to find, with 99.5 % confidence, a homography whose inliers are
# MIN_INLIER_SHARE of the matches (log(0.005) / log(1 - 0.35**4) = 352); a frame without the
# logo would otherwise spend OpenCV's default 2,000 draws on every logo, every frame.
RANSAC_ITERATIONS = 400
MIN_SPREAD = 0.05  # of the logo's area, covered by the inliers' hull


class LogoError(Exception):
    code = "logo_unusable"
    retryable = False


@dataclass(frozen=True)
class LogoFeatures:
    points: np.ndarray  # (n, 2) float32, in template pixels
    descriptors: np.ndarray  # (n, 32) uint8
    width: int
    height: int


@dataclass(frozen=True)
class LogoMatch:
    inliers: int
    matches: int
    box: list[list[float]]  # the logo's corners in frame pixels of the original video
    time_s: float = 0.0


def _orb(features: int, levels: int = 8) -> Any:
    import cv2

    return cv2.ORB.create(
        nfeatures=features,
        scaleFactor=1.2,
        nlevels=levels,
        edgeThreshold=15,
        patchSize=15,
        fastThreshold=10,
    )


def _template(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Gray template at TEMPLATE_SIDE, and a mask of its opaque pixels (None when opaque)."""
    import cv2

    alpha = image[:, :, 3] if image.ndim == 3 and image.shape[2] == 4 else None
    gray = image if image.ndim == 2 else cv2.cvtColor(image[:, :, :3], cv2.COLOR_BGR2GRAY)
    scale = TEMPLATE_SIDE / max(gray.shape[:2])
    size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
    gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    if alpha is None:
        return gray, None
    mask = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA) > 127
    # Transparent pixels are no part of the logo: grey them so its edge is drawn either way.
    gray = np.where(mask, gray, 128).astype(np.uint8)
    return gray, cv2.dilate(mask.astype(np.uint8) * 255, np.ones((5, 5), np.uint8))


def logo_features(image: np.ndarray) -> LogoFeatures:
    """Keypoints and descriptors of a logo (BGR, BGRA or gray pixels), at several sizes.

    A logo a tenth of the frame wide is far smaller than any template; ORB's own pyramid
    loses most of its corners by then, so the template is also described at explicit smaller
    sizes, every keypoint given in the full template's pixels."""
    import cv2

    gray, mask = _template(image)
    points, descriptors = [], []
    for scale in TEMPLATE_SCALES:
        size = (max(8, round(gray.shape[1] * scale)), max(8, round(gray.shape[0] * scale)))
        small = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        small_mask = (
            None if mask is None else cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
        )
        keypoints, found = _orb(TEMPLATE_FEATURES, levels=3).detectAndCompute(small, small_mask)
        if found is None:
            continue
        ratio = np.array([gray.shape[1] / size[0], gray.shape[0] / size[1]], np.float32)
        points.append(np.array([k.pt for k in keypoints], np.float32).reshape(-1, 2) * ratio)
        descriptors.append(found)
    count = sum(len(d) for d in descriptors)
    if count < 2 * MIN_INLIERS:
        raise LogoError(
            f"The logo has too little detail to be recognised ({count} features); "
            "upload a larger or sharper image."
        )
    return LogoFeatures(np.vstack(points), np.vstack(descriptors), gray.shape[1], gray.shape[0])


def logo_features_from_file(path: Path) -> LogoFeatures:
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise LogoError("The logo image could not be decoded.")
    if image.dtype != np.uint8:
        image = (image / 257).astype(np.uint8)
    return logo_features(image)


def features_pack(features: LogoFeatures) -> bytes:
    out = io.BytesIO()
    np.savez_compressed(
        out,
        points=features.points,
        descriptors=features.descriptors,
        size=np.array([features.width, features.height]),
    )
    return out.getvalue()


def features_unpack(data: bytes) -> LogoFeatures:
    with np.load(io.BytesIO(bytes(data)), allow_pickle=False) as found:
        width, height = (int(v) for v in found["size"])
        return LogoFeatures(found["points"], found["descriptors"], width, height)


# --- Frames -----------------------------------------------------------------------------------
def frame_size(width: int, height: int, side: int = FRAME_SIDE) -> tuple[int, int]:
    scale = min(1.0, side / max(width, height))
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def sample_args(path: Path, size: tuple[int, int], fps: float = SAMPLE_FPS) -> list[str]:
    """ffmpeg arguments that write `fps` gray frames a second, at `size`, to stdout."""
    scale = f"fps={fps},scale={size[0]}:{size[1]}:flags=area,format=gray"
    return [ffmpeg_exe(), "-v", "error", "-nostdin", "-i", str(path), "-an", "-sn"] + [
        "-vf",
        scale,
        "-f",
        "rawvideo",
        "pipe:1",
    ]


def sample_frames(
    path: Path, width: int, height: int, fps: float = SAMPLE_FPS
) -> Iterator[tuple[float, np.ndarray]]:
    """(time in seconds, gray frame) at `fps`, streamed: never the whole video in memory."""
    size = frame_size(width, height)
    frame_bytes = size[0] * size[1]
    proc = subprocess.Popen(
        sample_args(path, size, fps), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert proc.stdout is not None
    try:
        index = 0
        while chunk := proc.stdout.read(frame_bytes):
            if len(chunk) < frame_bytes:
                break
            frame = np.frombuffer(chunk, np.uint8).reshape(size[1], size[0])
            yield index / fps, frame
            index += 1
    finally:
        proc.stdout.close()
        proc.kill()
        proc.wait()


# --- Matching ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class FrameFeatures:
    points: np.ndarray
    descriptors: np.ndarray | None
    scale: float  # original pixels per matched pixel


def frame_features(frame: np.ndarray, scale: float = 1.0) -> FrameFeatures:
    keypoints, descriptors = _orb(FRAME_FEATURES).detectAndCompute(frame, None)
    points = np.array([k.pt for k in keypoints], dtype=np.float32).reshape(-1, 2)
    return FrameFeatures(points, descriptors, scale)


def _plausible(corners: np.ndarray, frame_area: float) -> bool:
    """A real logo maps to a convex quadrilateral of sane size and shape."""
    import cv2

    if not cv2.isContourConvex(corners.astype(np.float32).reshape(-1, 1, 2)):
        return False
    area = cv2.contourArea(corners.astype(np.float32))
    if not 0.001 * frame_area < area < 0.8 * frame_area:
        return False
    sides = np.linalg.norm(corners - np.roll(corners, 1, axis=0), axis=1)
    # Opposite sides of a logo seen roughly head-on stay within a factor of ~2 of each other.
    return bool(sides.min() > 8 and max(sides[0] / sides[2], sides[2] / sides[0]) < 2.0) and bool(
        max(sides[1] / sides[3], sides[3] / sides[1]) < 2.0
    )


def _one_to_one(matches: list[Any]) -> list[Any]:
    """The best match into each frame keypoint: the template is described at several sizes,
    and many of its points landing on one frame point would let a degenerate homography
    count them all as inliers."""
    best: dict[int, Any] = {}
    for match in matches:
        if match.trainIdx not in best or match.distance < best[match.trainIdx].distance:
            best[match.trainIdx] = match
    return list(best.values())


def _ratio_tested(descriptors: np.ndarray, frame: FrameFeatures) -> list[Any]:
    import cv2

    if frame.descriptors is None or len(frame.descriptors) < 2:
        return []
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(descriptors, frame.descriptors, k=2)
    return [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO * p[1].distance]


def _located(
    logo: LogoFeatures, frame: FrameFeatures, good: list[Any], frame_area: float, first: int = 0
) -> LogoMatch | None:
    """Where a homography from `good` (query indices offset by `first`) puts the logo."""
    import cv2

    good = _one_to_one(good)
    if len(good) < MIN_INLIERS:
        return None
    source = logo.points[[m.queryIdx - first for m in good]].reshape(-1, 1, 2)
    target = frame.points[[m.trainIdx for m in good]].reshape(-1, 1, 2)
    homography, inlier_mask = cv2.findHomography(
        source, target, cv2.RANSAC, REPROJECTION_PX, maxIters=RANSAC_ITERATIONS, confidence=0.995
    )
    if homography is None:
        return None
    inliers = int(inlier_mask.sum())
    if inliers < MIN_INLIERS or inliers < MIN_INLIER_SHARE * len(good):
        return None
    # Matches bunched in one corner (a shared word, a common shape) are not the whole logo.
    hull = cv2.convexHull(source[inlier_mask.ravel() == 1].reshape(-1, 2))
    if cv2.contourArea(hull) < MIN_SPREAD * logo.width * logo.height:
        return None
    w, h = logo.width, logo.height
    outline = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32).reshape(-1, 1, 2)
    corners = cv2.perspectiveTransform(outline, homography).reshape(-1, 2)
    if not _plausible(corners, frame_area):
        return None
    box = (corners * frame.scale).round(1).tolist()
    return LogoMatch(inliers=inliers, matches=len(good), box=box)


def logo_match(logo: LogoFeatures, frame: FrameFeatures, frame_area: float) -> LogoMatch | None:
    """The logo's place in the frame, or None when it is not there."""
    return _located(logo, frame, _ratio_tested(logo.descriptors, frame), frame_area)


def frame_logos(
    logos: dict[str, LogoFeatures], frame: FrameFeatures, frame_area: float
) -> dict[str, LogoMatch]:
    """Every logo found in one frame. The logos' descriptors are matched in one call: the
    matcher's cost is per call as much as per descriptor, and a registry holds many logos."""
    keys = list(logos)
    if not keys:
        return {}
    sizes = [len(logos[k].descriptors) for k in keys]
    firsts = np.concatenate([[0], np.cumsum(sizes)])
    good = _ratio_tested(np.vstack([logos[k].descriptors for k in keys]), frame)
    owners = np.searchsorted(firsts, [m.queryIdx for m in good], side="right") - 1
    by_logo: dict[int, list[Any]] = {}
    for match, owner in zip(good, owners, strict=True):
        by_logo.setdefault(int(owner), []).append(match)
    found = {}
    for index, matches in by_logo.items():
        located = _located(logos[keys[index]], frame, matches, frame_area, int(firsts[index]))
        if located is not None:
            found[keys[index]] = located
    return found


def video_logos(
    path: Path, logos: dict[str, LogoFeatures], *, width: int, height: int
) -> dict[str, LogoMatch]:
    """For each logo seen in the video, its strongest sighting (the frame with most inliers)."""
    size = frame_size(width, height)
    scale = width / size[0]
    found: dict[str, LogoMatch] = {}
    for time_s, frame in sample_frames(path, width, height):
        features = frame_features(frame, scale)
        for key, match in frame_logos(logos, features, float(size[0] * size[1])).items():
            if key not in found or match.inliers > found[key].inliers:
                found[key] = LogoMatch(match.inliers, match.matches, match.box, time_s)
    return found
