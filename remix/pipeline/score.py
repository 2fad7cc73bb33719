"""Scores of a finished remix against what is known to be true: for tests and benchmarks.

identity_scores: in every output frame where a face is found, how close it is (cosine) to
the cameo's face and to the source subject's face, with the same embedder.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class IdentityScores:
    to_cameo: list[float] = field(default_factory=list)
    to_source: list[float] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)  # indices of the frames with a face
    missed: list[int] = field(default_factory=list)  # expected a face, found none there

    @property
    def closer_to_cameo(self) -> int:
        return sum(c > s for c, s in zip(self.to_cameo, self.to_source, strict=True))

    def summary(self) -> dict[str, float]:
        cameo, source = np.array(self.to_cameo), np.array(self.to_source)
        if not len(cameo):
            return {"faces": 0}
        return {
            "faces": len(cameo),
            "missed": len(self.missed),
            "closer_to_cameo": self.closer_to_cameo,
            "cameo_mean": round(float(cameo.mean()), 3),
            "cameo_min": round(float(cameo.min()), 3),
            "source_mean": round(float(source.mean()), 3),
            "source_max": round(float(source.max()), 3),
            "margin_min": round(float((cameo - source).min()), 3),
        }


def face_embedding(faces: object, image_bgr: np.ndarray) -> np.ndarray:
    """The largest face's embedding; raises if the image has none."""
    found = faces.detect(image_bgr)  # type: ignore[attr-defined]
    if not found:
        raise ValueError("no face in the reference image")
    return faces.embed(image_bgr, found[0])  # type: ignore[attr-defined]


def identity_scores(
    frames: Iterable[np.ndarray],
    faces: Any,
    cameo: np.ndarray,
    source: np.ndarray,
    visible: Sequence[bool] | None = None,
    near: Sequence[Any] | None = None,
) -> IdentityScores:
    """`visible[i]`: whether frame i truly shows the subject's face (a detection elsewhere,
    say on a patterned board hiding the face, is not the subject). `near[i]`: the box
    (x0, y0, x1, y1) where the subject's face is; the detection overlapping it most is
    scored, not the largest (the offline detector also sees faces in a helmet's visor)."""
    from remix.pipeline.track import box_iou, detect_faces

    scores = IdentityScores()
    for index, frame in enumerate(frames):
        if visible is not None and not visible[index]:
            continue
        # The tracker's detection (with tiles for small faces), so both see the same faces.
        found = detect_faces(faces, frame)
        if near is not None and near[index] is not None:
            found = [f for f in found if box_iou(f.box, near[index]) >= 0.3]
            found.sort(key=lambda f: box_iou(f.box, near[index]), reverse=True)
        if not found:
            scores.missed.append(index)
            continue
        vector = faces.embed(frame, found[0])
        scores.frames.append(index)
        scores.to_cameo.append(float(vector @ cameo))
        scores.to_source.append(float(vector @ source))
    return scores


def mask_ious(predicted: Iterable[np.ndarray], truth: Iterable[np.ndarray]) -> list[float]:
    """IoU of each predicted mask (uint8 0-255 or bool) against the true boolean mask."""
    out = []
    for pred, true in zip(predicted, truth, strict=True):
        inside = pred > 127 if pred.dtype == np.uint8 else pred.astype(bool)
        union = np.logical_or(inside, true).sum()
        out.append(1.0 if union == 0 else float(np.logical_and(inside, true).sum() / union))
    return out
