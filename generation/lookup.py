"""Provenance lookup: was an uploaded video generated here, and from what?

Two ways to know: the file still carries our signed manifest (untouched download), or its
keyframes' perceptual fingerprint matches a video we made (re-encoded, resized copies).
"""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import UploadedFile

from config.api import ApiError
from generation import intake
from generation.models import Video


def provenance_lookup(*, uploaded: UploadedFile) -> dict[str, Any]:
    from generation.pipeline.fingerprint import (
        MATCH_THRESHOLD,
        VERSION,
        Fingerprint,
        fingerprint,
        match,
    )

    if uploaded.size is None or uploaded.size == 0:
        raise ApiError("upload_empty", "The file is empty.", 400)
    with intake.on_disk(uploaded) as path:
        intake.media_check(path, "video")
        candidate = fingerprint(path)
    known = (
        (video.pk, Fingerprint.from_json(video.fingerprint))
        # Fingerprints of another format version cannot be compared; they are recomputed.
        for video in Video.objects.filter(fingerprint__version=VERSION)
        .only("id", "fingerprint")
        .iterator()
    )
    matches = match(candidate, known, MATCH_THRESHOLD)
    if not matches:
        return {"generated_here": False, "score": None, "video": None}
    video_id, score = matches[0]
    video = Video.objects.select_related("job").get(pk=video_id)
    manifest = video.manifest
    return {
        "generated_here": True,
        "score": round(float(score), 4),
        "video": {
            "id": str(video.id),
            "state": video.state,
            "created_at": video.created_at.isoformat(),
            "pipeline": manifest.get("pipeline"),
            "backends": manifest.get("backends"),
            "job": manifest.get("request", {}).get("job"),
            "prompt": manifest.get("request", {}).get("prompt"),
            "cast": [c.get("cameo") for c in manifest.get("cast", [])],
            "provenance_backend": video.provenance_backend,
        },
    }
