"""Subject swap: put the cameo's face on the target face of a frame, keeping the target's pose,
expression and lighting.

Two methods, and `.name` says which ran:
- "insightface:inswapper_128": insightface's INSwapper, when MODELS_DIR holds inswapper_128.onnx
  and the face backend recognises faces with ArcFace (the swapper is driven by an ArcFace
  embedding of the cameo, and no other embedding will do).
- "opencv:mesh-warp+seamless-clone": classical face replacement that needs no weights beyond
  mediapipe's face mesh. The cameo's 468-point mesh is found once; on each frame the target's mesh
  is found, the cameo face is warped onto it triangle by triangle, its colour matched to the
  target's skin and Poisson-blended in.

A swapper is made for one video: the mesh method smooths landmarks over consecutive frames, so
feed it one clip's frames in order (or call `reset()` at a cut). `stats` counts what happened.
"""

from __future__ import annotations

import contextlib
import functools
import io
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from cameo.biometrics.faces import ArcfaceEmbedder, Face, FaceBackend

INSWAPPER_FILE = Path("insightface") / "inswapper_128.onnx"  # under MODELS_DIR

INSWAPPER_NAME = "insightface:inswapper_128"
MESH_NAME = "opencv:mesh-warp+seamless-clone"

# The inner contour of the lips in mediapipe's mesh, in order round the mouth.
_INNER_LIPS = (
    78,
    191,
    80,
    81,
    82,
    13,
    312,
    311,
    310,
    415,
    308,
    324,
    318,
    402,
    317,
    14,
    87,
    178,
    88,
    95,
)
_MESH_MAX_SIDE = 320  # the landmark model sees 192 px, so larger crops only cost time


class SwapUnavailable(Exception):
    """The cameo's reference image cannot drive a swap (no face, no landmarks)."""


class FaceSwapper(Protocol):
    name: str
    quality: str  # "production": a convincing swap; "preview": shows the idea, not the person
    limitation: str  # what the method cannot do, in words for the result; "" when nothing

    def swap(self, frame_bgr: np.ndarray, face: Face) -> np.ndarray: ...


def face_swapper(
    models_dir: Path | None, cameo_image_bgr: np.ndarray, *, faces: FaceBackend
) -> FaceSwapper:
    """A swapper that puts the face in cameo_image_bgr on target faces found by `faces`."""
    _check_image(cameo_image_bgr, "cameo image")
    path = Path(models_dir) / INSWAPPER_FILE if models_dir else None
    if path is not None and path.is_file() and isinstance(faces.embedder, ArcfaceEmbedder):
        return InswapperFaceSwapper(path, cameo_image_bgr, faces=faces)
    return MeshFaceSwapper(cameo_image_bgr, faces=faces)


def _check_image(image: np.ndarray, what: str) -> None:
    if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3):
        raise ValueError(f"{what} must be an HxWx3 uint8 BGR array")
    if image.shape[2] != 3 or min(image.shape[:2]) < 16:
        raise ValueError(f"{what} must be an HxWx3 BGR array at least 16 px a side")


def _cameo_face(image_bgr: np.ndarray, faces: FaceBackend) -> Face:
    found = faces.detect(image_bgr)
    if not found:
        raise SwapUnavailable(
            "no face found in the cameo's reference image: it needs one frontal, unoccluded face"
        )
    return found[0]


# --- insightface inswapper (production) -------------------------------------------------------
@dataclass(frozen=True)
class _SourceFace:
    normed_embedding: np.ndarray  # what INSwapper.get reads from its source face


class InswapperFaceSwapper:
    name = INSWAPPER_NAME
    quality = "production"
    limitation = ""

    def __init__(self, path: Path, cameo_image_bgr: np.ndarray, *, faces: FaceBackend) -> None:
        face = _cameo_face(cameo_image_bgr, faces)
        self._model = _inswapper(path)
        self._source = _SourceFace(faces.embed(cameo_image_bgr, face).astype(np.float32))
        self.stats: dict[str, int] = {"swapped": 0, "skipped": 0}

    def swap(self, frame_bgr: np.ndarray, face: Face) -> np.ndarray:
        _check_image(frame_bgr, "frame")
        # INSwapper reads only target_face.kps, which Face carries in insightface's order.
        out = self._model.get(frame_bgr, face, self._source, paste_back=True)
        self.stats["swapped"] += 1
        return np.asarray(out)

    def reset(self) -> None:
        """Nothing carries over between frames here."""


@functools.cache
def _inswapper(path: Path) -> Any:
    from insightface.model_zoo import get_model
    from insightface.model_zoo.inswapper import INSwapper

    from cameo.biometrics.faces import onnx_providers

    with contextlib.redirect_stdout(io.StringIO()):  # it prints its input shape on load
        model = get_model(str(path), providers=onnx_providers())
    if not isinstance(model, INSwapper):
        raise ValueError(f"{path} is not an inswapper model (two inputs, 128x128 faces)")
    return model


# --- mediapipe mesh + OpenCV (offline) --------------------------------------------------------
@dataclass(frozen=True)
class _Cameo:
    patch: np.ndarray  # BGR, the cameo's face with a margin
    points: np.ndarray  # (468, 3) mesh in patch pixels; z in the same scale, smaller is nearer
    triangles: np.ndarray  # (T, 3) indices into points
    areas: np.ndarray  # (T,) twice each triangle's signed area in the patch: its winding
    kps: np.ndarray  # (5, 2) in patch pixels, for frames where the target mesh is not found


class MeshFaceSwapper:
    name = MESH_NAME
    # Only the inside of the face moves over: the source's face outline, hair, ears and head
    # shape stay, so the cameo reads as a mask on the source person.
    quality = "preview"
    limitation = (
        "offline face warp: only the inner face is the cameo's; the face outline, hair and "
        "head shape stay the source's, so it reads as a mask over them (the production swap "
        "needs insightface's inswapper_128 in MODELS_DIR)"
    )

    def __init__(self, cameo_image_bgr: np.ndarray, *, faces: FaceBackend) -> None:
        self._cameo = _cameo_from_image(cameo_image_bgr, _cameo_face(cameo_image_bgr, faces))
        self._previous: np.ndarray | None = None
        # mesh / kps_aligned: how the target's landmarks were found (kps_aligned: the mesh was
        # not, and the cameo's face was placed by the tracker's five keypoints, without
        # expression); swapped / skipped: whether the frame came back changed.
        self.stats: dict[str, int] = {"swapped": 0, "mesh": 0, "kps_aligned": 0, "skipped": 0}

    def reset(self) -> None:
        """Forget the last frame's landmarks: call it at a cut, or between videos."""
        self._previous = None

    def swap(self, frame_bgr: np.ndarray, face: Face) -> np.ndarray:
        _check_image(frame_bgr, "frame")
        target = _target_mesh(frame_bgr, face)
        if target is not None:
            self.stats["mesh"] += 1
        else:
            target = _kps_placed(self._cameo, face.kps)
            self.stats["kps_aligned"] += 1
        out = _paste(frame_bgr, self._cameo, self._smoothed(target))
        if out is None:
            self.stats["skipped"] += 1
            return frame_bgr.copy()
        self.stats["swapped"] += 1
        return out

    def _smoothed(self, points: np.ndarray) -> np.ndarray:
        """Damp landmark jitter on a still face without lagging a moving one."""
        previous, self._previous = self._previous, points
        if previous is None:
            return points
        size = float(np.ptp(points[:, 0])) or 1.0
        shift = float(np.median(np.linalg.norm(points[:, :2] - previous[:, :2], axis=1)))
        if shift > 0.2 * size:  # a cut, or another person: start again
            return points
        weight = min(1.0, 0.4 + shift / (0.05 * size))
        self._previous = weight * points + (1.0 - weight) * previous
        return self._previous


def _cameo_from_image(image_bgr: np.ndarray, face: Face) -> _Cameo:
    points = _mesh_near(image_bgr, face)
    if points is None:
        raise SwapUnavailable(
            "the face in the cameo's reference image is too small, turned or occluded "
            "for its landmarks to be found"
        )
    x0, y0, x1, y1 = _expanded(points, 0.15, image_bgr.shape)
    patch = image_bgr[y0:y1, x0:x1].copy()
    points = points - np.array([x0, y0, 0], dtype=np.float32)
    triangles = np.concatenate([_surface_triangles(), _eye_triangles(points)])
    kps = np.asarray(face.kps, dtype=np.float32) - np.array([x0, y0], dtype=np.float32)
    return _Cameo(patch, points, triangles, _signed_areas(points[triangles][:, :, :2]), kps)


@functools.cache
def _surface_triangles() -> np.ndarray:
    """The triangles of mediapipe's face surface, found as the 3-cycles of its tessellation's
    edges. The surface has holes at the eyes and the mouth: an open mouth is not pasted over."""
    import mediapipe as mp

    edges = mp.solutions.face_mesh.FACEMESH_TESSELATION
    neighbours: dict[int, set[int]] = {}
    for a, b in edges:
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    found = {tuple(sorted((a, b, c))) for a, b in edges for c in neighbours[a] & neighbours[b]}
    return np.array(sorted(found), dtype=np.int32)


def _eye_triangles(points: np.ndarray) -> np.ndarray:
    """Triangles filling the cameo's eye openings, so its eyes are pasted with its face."""
    import mediapipe as mp
    from scipy.spatial import Delaunay

    fill = []
    for eye in (
        mp.solutions.face_mesh.FACEMESH_LEFT_EYE,
        mp.solutions.face_mesh.FACEMESH_RIGHT_EYE,
    ):
        ring = np.array(sorted({i for edge in eye for i in edge}), dtype=np.int32)
        fill.append(ring[Delaunay(points[ring, :2]).simplices])
    return np.concatenate(fill).astype(np.int32)


def _signed_areas(triangles: np.ndarray) -> np.ndarray:
    (ax, ay), (bx, by), (cx, cy) = np.moveaxis(triangles, 1, 0).transpose(0, 2, 1)
    return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)


def _expanded(
    points: np.ndarray, margin: float, shape: tuple[int, ...]
) -> tuple[int, int, int, int]:
    """The points' bounding box grown by margin times its size, clipped to the image."""
    lo, hi = points[:, :2].min(axis=0), points[:, :2].max(axis=0)
    pad = margin * (hi - lo)
    x0, y0 = np.floor(np.maximum(lo - pad, 0)).astype(int)
    x1 = int(np.ceil(min(hi[0] + pad[0], shape[1])))
    y1 = int(np.ceil(min(hi[1] + pad[1], shape[0])))
    return int(x0), int(y0), x1, y1


# --- landmarks --------------------------------------------------------------------------------
class _MeshModel:
    """mediapipe Face Mesh on single images: each crop is independent of the last."""

    def __init__(self) -> None:
        import mediapipe as mp

        self._solution = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True, max_num_faces=1, refine_landmarks=False
        )
        self._lock = threading.Lock()

    def landmarks(self, rgb: np.ndarray) -> np.ndarray | None:
        """(468, 3) in units of the image's width and height (z scaled like x), or None."""
        with self._lock:
            result = self._solution.process(rgb)
        if not result.multi_face_landmarks:
            return None
        marks = result.multi_face_landmarks[0].landmark
        return np.array([(m.x, m.y, m.z) for m in marks], dtype=np.float32)


@functools.cache
def _mesh_model() -> _MeshModel:
    return _MeshModel()


def _mesh_near(image_bgr: np.ndarray, face: Face) -> np.ndarray | None:
    """The face mesh of `face`, in image pixels, from a crop around its box."""
    import cv2

    height, width = image_bgr.shape[:2]
    cx, cy = (face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2
    half = max(face.width, face.height)  # a crop twice the face: the mesh detector's framing
    x0, y0 = max(0, int(cx - half)), max(0, int(cy - half))
    x1, y1 = min(width, int(cx + half)), min(height, int(cy + half))
    if x1 - x0 < 16 or y1 - y0 < 16:
        return None
    crop = image_bgr[y0:y1, x0:x1]
    scale = min(1.0, _MESH_MAX_SIDE / max(crop.shape[:2]))
    if scale < 1.0:
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    marks = _mesh_model().landmarks(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB))
    if marks is None:
        return None
    side = np.array([crop.shape[1], crop.shape[0], crop.shape[1]], dtype=np.float32)
    points = marks * side / scale + np.array([x0, y0, 0], dtype=np.float32)
    centre = points[:, :2].mean(axis=0)
    if not (face.box[0] <= centre[0] <= face.box[2] and face.box[1] <= centre[1] <= face.box[3]):
        return None  # another face in the crop
    return points


def _target_mesh(frame_bgr: np.ndarray, face: Face) -> np.ndarray | None:
    # Its own name so that a test can make the mesh miss and exercise the keypoint fallback.
    return _mesh_near(frame_bgr, face)


def _kps_placed(cameo: _Cameo, kps: np.ndarray) -> np.ndarray:
    """The cameo's mesh moved onto five target keypoints by a similarity: no expression."""
    # Least squares over all five points: with so few, a robust fit would drop good ones.
    src, dst = cameo.kps.astype(np.float64), np.asarray(kps, np.float64)
    x, y, ones, zeros = src[:, 0], src[:, 1], np.ones(len(src)), np.zeros(len(src))
    rows = np.concatenate([np.stack([x, -y, ones, zeros], 1), np.stack([y, x, zeros, ones], 1)])
    (a, b, tx, ty), *_ = np.linalg.lstsq(rows, np.concatenate([dst[:, 0], dst[:, 1]]), rcond=None)
    xy = cameo.points[:, :2] @ np.array([[a, b], [-b, a]]) + (tx, ty)
    return np.column_stack([xy, cameo.points[:, 2] * np.hypot(a, b)]).astype(np.float32)


# --- warp, colour and blend -------------------------------------------------------------------
def _paste(frame_bgr: np.ndarray, cameo: _Cameo, target: np.ndarray) -> np.ndarray | None:
    """The frame with the cameo's face warped onto the target's mesh (frame pixels) and blended
    in; None where too little of it is in the frame."""
    x0, y0, x1, y1 = _expanded(target, 0.1, frame_bgr.shape)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    local = target - np.array([x0, y0, 0], dtype=np.float32)
    warped, covered = _warp(cameo, local, (y1 - y0, x1 - x0))
    mask = _face_mask(covered, local[:, :2])
    if np.count_nonzero(mask) < 64:
        return None
    region = frame_bgr[y0:y1, x0:x1]
    warped = _match_colour(warped, region, mask)
    out = frame_bgr.copy()
    out[y0:y1, x0:x1] = _clone(warped, region, mask)
    return out


def _warp(
    cameo: _Cameo, target: np.ndarray, size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Piecewise-affine warp of the cameo patch onto the target mesh: each output pixel is mapped
    back through the affine map of the mesh triangle it falls in, all sampled in one remap."""
    import cv2

    triangles = cameo.triangles
    dst = target[triangles][:, :, :2]  # (T, 3, 2)
    area = _signed_areas(dst)
    # A triangle whose winding flipped faces away from the camera (a fold at the silhouette of a
    # turned head): drawing it would paste mirrored skin over the cheek in front.
    usable = (np.abs(area) > 1e-2) & (np.sign(area) == np.sign(cameo.areas))
    corners = np.concatenate([dst, np.ones((len(triangles), 3, 1), np.float32)], axis=2)
    affine = np.zeros((len(triangles), 2, 3), np.float32)
    affine[usable] = np.linalg.solve(
        corners[usable], cameo.points[triangles[usable]][:, :, :2]
    ).transpose(0, 2, 1)
    # Painter's order, far triangles first: where a turned head's cheek still overlaps itself,
    # the near side ends on top.
    order = np.argsort(-target[triangles][:, :, 2].mean(axis=1))
    ids = np.zeros(size, np.int32)
    pixels = np.round(dst * 4).astype(np.int32)  # 2 fractional bits: sub-pixel triangle edges
    for index in order[usable[order]]:
        cv2.fillConvexPoly(ids, pixels[index], int(index) + 1, lineType=cv2.LINE_8, shift=2)
    covered = ids > 0
    ys, xs = np.nonzero(covered)
    maps = affine[ids[ys, xs] - 1]
    map_x = np.full(size, -1.0, np.float32)
    map_y = np.full(size, -1.0, np.float32)
    map_x[ys, xs] = maps[:, 0, 0] * xs + maps[:, 0, 1] * ys + maps[:, 0, 2]
    map_y[ys, xs] = maps[:, 1, 0] * xs + maps[:, 1, 1] * ys + maps[:, 1, 2]
    warped = cv2.remap(cameo.patch, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return warped, covered


def _face_mask(covered: np.ndarray, placed: np.ndarray) -> np.ndarray:
    """Where the cameo's face is pasted: the warped mesh pulled in from the face's outline, so
    that the blend's seam runs over skin on both sides, less the target's open mouth."""
    import cv2

    mouth = np.round(placed[list(_INNER_LIPS)] * 4).astype(np.int32)
    mask: np.ndarray = covered.astype(np.uint8) * 255
    cv2.fillPoly(mask, [mouth], 255, shift=2)
    k = max(3, int(0.04 * float(np.ptp(placed[:, 0]))) | 1)
    mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    cv2.fillPoly(mask, [mouth], 0, shift=2)
    return mask


def _match_colour(warped: np.ndarray, region: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Shift the warped face's LAB mean and spread to the target's skin under the same mask,
    so the cameo takes on the scene's light and white balance."""
    import cv2

    inside = mask > 0
    src = cv2.cvtColor(warped, cv2.COLOR_BGR2LAB).astype(np.float32)
    ref = cv2.cvtColor(region, cv2.COLOR_BGR2LAB).astype(np.float32)
    src_mean, src_std = src[inside].mean(axis=0), src[inside].std(axis=0)
    ref_mean, ref_std = ref[inside].mean(axis=0), ref[inside].std(axis=0)
    # Lightness contrast follows only part way (the cameo's own shading is what makes its
    # features read); colour spread follows fully, down to grey for a black-and-white scene.
    gain = np.clip(ref_std / np.maximum(src_std, 1.0), [0.7, 0.0, 0.0], [1.4, 2.0, 2.0])
    matched = (src - src_mean) * gain + ref_mean
    return cv2.cvtColor(np.clip(matched, 0, 255).astype(np.uint8), cv2.COLOR_LAB2BGR)


def _clone(warped: np.ndarray, region: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Poisson (seamless) blend of the warped face into the region, feathered at the mask.

    seamlessClone needs the mask clear of the image border (it reads one pixel beyond it), so the
    three images are padded first; the clone centre is the mask's bounding-box centre, rounded
    the way OpenCV does, so the face lands exactly where it was warped.
    """
    import cv2

    pad = 4
    border = cv2.BORDER_REPLICATE
    src = cv2.copyMakeBorder(warped, pad, pad, pad, pad, border)
    dst = cv2.copyMakeBorder(region, pad, pad, pad, pad, border)
    padded = cv2.copyMakeBorder(mask, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    x, y, w, h = cv2.boundingRect(padded)
    blended = cv2.seamlessClone(src, dst, padded, (x + w // 2, y + h // 2), cv2.NORMAL_CLONE)
    # seamlessClone re-solves its whole bounding box, shifting colours outside the mask too (the
    # open mouth's teeth, the hair at the box's corners): keep those pixels as they were.
    # The feather ramps from 0 at the mask's edge to 1 a few pixels inside it.
    sigma = 0.015 * np.sqrt(np.count_nonzero(mask)) + 0.5
    alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255, (0, 0), sigma)
    alpha = np.clip(2.0 * alpha - 1.0, 0.0, 1.0)[:, :, None]
    alpha[mask == 0] = 0.0
    out = alpha * blended[pad:-pad, pad:-pad] + (1.0 - alpha) * region
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)
