"""Face detection and embedding backends: insightface buffalo_l when its files are in the models
directory, otherwise models that ship inside packages (mediapipe detection, dlib ResNet).

Each model loads once per process (functools.cache) and is named in what it returns, so a
verified double records which models produced it.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

BUFFALO_L = Path("insightface") / "buffalo_l"
DETECTOR_FILE = "det_10g.onnx"
RECOGNISER_FILE = "w600k_r50.onnx"

# In ArcFace's 112x112 template the mouth corners sit 0.83 inter-ocular distances apart.
_MOUTH_HALF_WIDTH = 0.415


@dataclass(frozen=True, eq=False)  # holds arrays: compared by identity
class Face:
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels
    score: float
    # (5, 2) in insightface order: eye on the image's left, eye on the right, nose tip,
    # mouth corner on the left, on the right.
    kps: np.ndarray

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


class FaceDetector(Protocol):
    name: str

    def detect(self, frame_bgr: np.ndarray) -> list[Face]: ...


class FaceEmbedder(Protocol):
    name: str
    dim: int

    def align(self, frame_bgr: np.ndarray, face: Face, size: int | None = None) -> np.ndarray: ...

    def embed_aligned(self, crops: list[np.ndarray]) -> np.ndarray: ...


@dataclass(frozen=True)
class FaceBackend:
    detector: FaceDetector
    embedder: FaceEmbedder

    @property
    def name(self) -> str:
        return f"{self.detector.name}+{self.embedder.name}"

    def detect(self, frame_bgr: np.ndarray) -> list[Face]:
        """Faces, largest first."""
        faces = self.detector.detect(frame_bgr)
        return sorted(faces, key=lambda f: f.width * f.height, reverse=True)

    def embed(self, frame_bgr: np.ndarray, face: Face) -> np.ndarray:
        return self.embed_many([(frame_bgr, face)])[0]

    def embed_many(self, items: list[tuple[np.ndarray, Face]]) -> np.ndarray:
        """(N, dim) float32, each row L2-normalised."""
        crops = [self.embedder.align(frame, face) for frame, face in items]
        return l2_normalise(self.embedder.embed_aligned(crops))

    def crop(self, frame_bgr: np.ndarray, face: Face, size: int = 224) -> np.ndarray:
        return self.embedder.align(frame_bgr, face, size)


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def face_backend(models_dir: Path | None) -> FaceBackend:
    """insightface buffalo_l files under models_dir where present, offline fallbacks otherwise."""
    return _backend(models_dir, verification=False)


def verification_backend(models_dir: Path | None) -> FaceBackend:
    """face_backend for cameo verification, where the subject is known to be there: offline, the
    detector also tries BlazeFace full range on frames short range finds no face in."""
    return _backend(models_dir, verification=True)


def _backend(models_dir: Path | None, *, verification: bool) -> FaceBackend:
    root = Path(models_dir) / BUFFALO_L if models_dir else None
    detector: FaceDetector
    embedder: FaceEmbedder
    if root is not None and (root / DETECTOR_FILE).is_file():
        detector = _insightface_detector(root / DETECTOR_FILE)
    else:
        detector = _mediapipe_detector(full_range_fallback=verification)
    if root is not None and (root / RECOGNISER_FILE).is_file():
        embedder = _arcface_embedder(root / RECOGNISER_FILE)
    else:
        embedder = _dlib_embedder()
    return FaceBackend(detector, embedder)


def onnx_providers() -> list[str]:
    import onnxruntime

    available = onnxruntime.get_available_providers()
    preferred = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return [p for p in preferred if p in available] or available[:1]


# --- insightface (production) -----------------------------------------------------------------
class InsightfaceDetector:
    def __init__(self, path: Path) -> None:
        from insightface.model_zoo import get_model

        model = get_model(str(path), providers=onnx_providers())
        if model is None or getattr(model, "taskname", None) != "detection":
            raise ValueError(f"{path} is not a face detector (SCRFD) model")
        model.prepare(ctx_id=0, input_size=(640, 640), det_thresh=0.5)
        self.model = model
        self.name = f"insightface:buffalo_l/{path.stem}"
        self._lock = threading.Lock()

    def detect(self, frame_bgr: np.ndarray) -> list[Face]:
        with self._lock:
            boxes, kpss = self.model.detect(frame_bgr, input_size=(640, 640))
        faces = []
        for i, row in enumerate(boxes):
            if kpss is None:
                continue  # a detector without landmarks cannot feed alignment
            box = tuple(float(v) for v in row[:4])
            faces.append(Face(box, float(row[4]), np.asarray(kpss[i], dtype=np.float32)))  # type: ignore[arg-type]
        return faces


class ArcfaceEmbedder:
    def __init__(self, path: Path) -> None:
        from insightface.model_zoo import get_model

        model = get_model(str(path), providers=onnx_providers())
        if model is None or getattr(model, "taskname", None) != "recognition":
            raise ValueError(f"{path} is not a face recognition (ArcFace) model")
        self.model = model
        self.dim = int(model.output_shape[-1])
        self.name = f"insightface:buffalo_l/{path.stem}"
        self._lock = threading.Lock()

    def align(self, frame_bgr: np.ndarray, face: Face, size: int | None = None) -> np.ndarray:
        from insightface.utils import face_align

        size = size or int(self.model.input_size[0])
        size = max(112, size // 112 * 112)  # the template scales in steps of 112
        return face_align.norm_crop(frame_bgr, landmark=face.kps, image_size=size)

    def embed_aligned(self, crops: list[np.ndarray]) -> np.ndarray:
        import cv2

        side = int(self.model.input_size[0])
        crops = [c if c.shape[0] == side else cv2.resize(c, (side, side)) for c in crops]
        with self._lock:
            return np.asarray(self.model.get_feat(crops), dtype=np.float32)


@functools.cache
def _insightface_detector(path: Path) -> InsightfaceDetector:
    return InsightfaceDetector(path)


@functools.cache
def _arcface_embedder(path: Path) -> ArcfaceEmbedder:
    return ArcfaceEmbedder(path)


# --- offline fallbacks ------------------------------------------------------------------------
class MediapipeDetector:
    """BlazeFace short range: made for selfie distance, and finds one face on astronaut().

    With `full_range_fallback`, its full range model also runs on the frames where short range
    sees no face at all: on the cameo corpus's tuning clips short range missed a black-and-white
    portrait (Einstein) in 16-20 of 20 frames and full range found it in 15; 10 of 162 genuine
    captures were refused no_face for that alone. Only verification asks for it (see
    verification_backend): on posts, moderation's likeness check holds a video for a face the
    fallback finds in a background that short range rightly passes over.
    """

    def __init__(self, min_confidence: float = 0.5, *, full_range_fallback: bool = False) -> None:
        import mediapipe as mp

        solutions = mp.solutions.face_detection
        self._short = solutions.FaceDetection(
            model_selection=0, min_detection_confidence=min_confidence
        )
        self._full = (
            solutions.FaceDetection(model_selection=1, min_detection_confidence=min_confidence)
            if full_range_fallback
            else None
        )
        self.name = "mediapipe:face_detection_short" + ("+full" if full_range_fallback else "")
        self._lock = threading.Lock()

    def detect(self, frame_bgr: np.ndarray) -> list[Face]:
        height, width = frame_bgr.shape[:2]
        rgb = np.ascontiguousarray(frame_bgr[:, :, ::-1])
        with self._lock:
            detections = self._short.process(rgb).detections
            if not detections and self._full is not None:
                detections = self._full.process(rgb).detections
        return [_mediapipe_face(d, width, height) for d in detections or []]


def _mediapipe_face(detection: Any, width: int, height: int) -> Face:
    rel = detection.location_data.relative_bounding_box
    x0, y0 = max(0.0, rel.xmin * width), max(0.0, rel.ymin * height)
    x1 = min(float(width), (rel.xmin + rel.width) * width)
    y1 = min(float(height), (rel.ymin + rel.height) * height)
    points = np.array(
        [(k.x * width, k.y * height) for k in detection.location_data.relative_keypoints],
        dtype=np.float32,
    )
    # BlazeFace gives both eyes, the nose tip and the mouth centre; ArcFace alignment wants the
    # mouth corners, placed along the eye line as in its template.
    eye_left, eye_right, nose, mouth = points[0], points[1], points[2], points[3]
    half = _MOUTH_HALF_WIDTH * (eye_right - eye_left)
    kps = np.stack([eye_left, eye_right, nose, mouth - half, mouth + half]).astype(np.float32)
    return Face((x0, y0, x1, y1), float(detection.score[0]), kps)


class TiledFaceFinder:
    """Faces as small as a tenth of the frame's width, wherever they are: BlazeFace full range
    on TILES x TILES overlapping tiles, each seen at the model's own input size. Whole-frame
    detectors made for selfie distance miss a face that small (a person in the background), and
    verification must know anyone else is there, not where their eyes are."""

    name = "mediapipe:face_detection_full/tiles+dlib:hog"
    TILES = 3
    OVERLAP = 0.25  # of a tile, so a face on a border is whole in one of them
    # A candidate is confirmed by dlib's HOG detector, a different method, on the region around
    # it seen CONFIRM_SIDE px wide: BlazeFace alone takes a teacup for a face at 0.74, HOG does
    # not, and it found every real face of 8-20 % of the frame's width tried (scores 0.46-2.6).
    CONFIRM_SIDE = 200
    CONFIRM_THRESHOLD = -0.3

    def __init__(self, min_confidence: float = 0.6) -> None:
        import dlib
        import mediapipe as mp

        self._solution = mp.solutions.face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=min_confidence
        )
        self._hog = dlib.get_frontal_face_detector()
        self._lock = threading.Lock()

    def confirmed(self, frame_bgr: np.ndarray, face: Face) -> bool:
        """Does HOG find a face in the region around this candidate, too?"""
        import cv2

        height, width = frame_bgr.shape[:2]
        x0, y0, x1, y1 = face.box
        cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0)
        left, top = int(max(0.0, cx - half)), int(max(0.0, cy - half))
        region = frame_bgr[top : int(min(height, cy + half)), left : int(min(width, cx + half))]
        if region.size == 0:
            return False
        scale = self.CONFIRM_SIDE / region.shape[1]
        region = cv2.resize(region, (self.CONFIRM_SIDE, max(1, int(region.shape[0] * scale))))
        with self._lock:
            _, scores, _ = self._hog.run(
                np.ascontiguousarray(region[:, :, ::-1]), 1, self.CONFIRM_THRESHOLD
            )
        return len(scores) > 0

    def detect(self, frame_bgr: np.ndarray) -> list[Face]:
        height, width = frame_bgr.shape[:2]
        rgb = np.ascontiguousarray(frame_bgr[:, :, ::-1])
        tile_w = width / (self.TILES - (self.TILES - 1) * self.OVERLAP)
        tile_h = height / (self.TILES - (self.TILES - 1) * self.OVERLAP)
        faces = []
        for row in range(self.TILES):
            for col in range(self.TILES):
                x0 = int(col * tile_w * (1 - self.OVERLAP))
                y0 = int(row * tile_h * (1 - self.OVERLAP))
                tile = np.ascontiguousarray(rgb[y0 : y0 + int(tile_h), x0 : x0 + int(tile_w)])
                with self._lock:
                    result = self._solution.process(tile)
                for detection in result.detections or []:
                    face = _mediapipe_face(detection, tile.shape[1], tile.shape[0])
                    x_a, y_a, x_b, y_b = face.box
                    box = (x_a + x0, y_a + y0, x_b + x0, y_b + y0)
                    shift = np.array([x0, y0], dtype=np.float32)
                    faces.append(Face(box, face.score, face.kps + shift))
        return faces


@functools.cache
def tiled_face_finder() -> TiledFaceFinder:
    return TiledFaceFinder()


class DlibEmbedder:
    """dlib's 128-d ResNet on chips aligned by its 68-point shape predictor."""

    name = "dlib:resnet_v1_128"
    dim = 128

    def __init__(self) -> None:
        import dlib

        models = _face_recognition_models_dir()
        self._shapes = dlib.shape_predictor(str(models / "shape_predictor_68_face_landmarks.dat"))
        self._net = dlib.face_recognition_model_v1(
            str(models / "dlib_face_recognition_resnet_model_v1.dat")
        )
        self._lock = threading.Lock()

    def align(self, frame_bgr: np.ndarray, face: Face, size: int | None = None) -> np.ndarray:
        import dlib

        rgb = np.ascontiguousarray(frame_bgr[:, :, ::-1])
        x0, y0, x1, y1 = (int(round(v)) for v in face.box)
        # BlazeFace boxes start at the brow; dlib's were drawn from mid-forehead down.
        top = int(round(y0 + 0.08 * face.height))
        with self._lock:
            shape = self._shapes(rgb, dlib.rectangle(x0, top, x1, y1))
            chip = dlib.get_face_chip(rgb, shape, size=size or 150, padding=0.25)
        return np.ascontiguousarray(chip[:, :, ::-1])

    def embed_aligned(self, crops: list[np.ndarray]) -> np.ndarray:
        import cv2

        chips = [
            np.ascontiguousarray(
                (c if c.shape[0] == 150 else cv2.resize(c, (150, 150)))[:, :, ::-1]
            )
            for c in crops
        ]
        with self._lock:
            vectors = self._net.compute_face_descriptor(chips)
        return np.array([np.array(v) for v in vectors], dtype=np.float32).reshape(len(chips), -1)


def _face_recognition_models_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or spec.origin is None:
        raise RuntimeError("face-recognition-models is not installed")
    # Its __init__ imports pkg_resources only to build these same paths.
    return Path(spec.origin).parent / "models"


@functools.cache
def _mediapipe_detector(*, full_range_fallback: bool = False) -> MediapipeDetector:
    return MediapipeDetector(full_range_fallback=full_range_fallback)


@functools.cache
def _dlib_embedder() -> DlibEmbedder:
    return DlibEmbedder()
