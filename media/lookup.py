"""Provenance lookup: was an uploaded video generated here, and from what?

Two ways to know: the file still carries our signed manifest (untouched download), or its
perceptual hashes match a video we made (re-encoded, resized, cropped, trimmed, mirrored
copies: the copy search of media.hashes). Every manifest is also kept on the server, bound to
the video's fingerprint (its soft binding): a copy whose own manifest a re-encode or remux
stripped still shows its credentials, from here.
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet

from config.errors import ApplicationError
from media import hashes as media_hashes
from media import intake
from media.models import Video
from media.provenance_keys import signing_keys
from media.storage import local_copy

NOT_HERE = {
    "generated_here": False,
    "score": None,
    "ai_generated": None,
    "created_at": None,
    "pipeline": None,
    "provenance_backend": None,
    "video": None,
    "post": None,
    "credentials": None,
}
# What anyone may see of a stored manifest: how the video was made, not what was asked for.
PUBLIC_MANIFEST_KEYS = ("generated", "pipeline", "backends")


def provenance_lookup(
    *, uploaded: UploadedFile, visible_videos: QuerySet[Video], visible_posts: QuerySet[Any]
) -> dict[str, Any]:
    """The answer for one file. Anyone may learn that a file was made here, when and how;
    which video and post it is only if they could see them anyway (the caller's querysets:
    who sees what is the feeds' rule, not media's)."""
    if uploaded.size is None or uploaded.size == 0:
        raise ApplicationError("upload_empty", "The file is empty.", 400)
    from generation.pipeline import provenance

    with intake.on_disk(uploaded) as path:
        intake.media_check(path, "video")
        query = media_hashes.hashes_of_file(path)
        own = provenance.read(path, trust_root_pem=signing_keys().root_pem)
    # The copy search every kept video is hashed for (media.hashes): indexed, not a scan of
    # every row, and it finds mirrored and trimmed copies (PDQ frames matched as sets) as well
    # as cropped, recoloured and bannered ones (the keyframe fingerprint).
    matches = media_hashes.copies_of(query)
    if not matches:
        return {**NOT_HERE, "credentials": _embedded(own)} if own.manifest else dict(NOT_HERE)
    best_id, score = matches[0]
    best = Video.objects.only("created_at", "manifest", "provenance_backend").get(pk=best_id)
    # Identical storyboards can make identical videos, so the viewer's own (or a visible)
    # match is named when there is one.
    visible = visible_videos.filter(pk__in=[pk for pk, _ in matches])
    seen = {video.pk: video for video in visible.select_related("post")}
    named = next((seen[pk] for pk, _ in matches if pk in seen), None)
    post = getattr(named, "post", None) if named is not None else None
    if post is not None and not visible_posts.filter(pk=post.pk).exists():
        post = None
    return {
        "generated_here": True,
        "score": round(float(score), 4),
        "ai_generated": True,
        "created_at": best.created_at.isoformat(),
        "pipeline": best.manifest.get("pipeline"),
        "provenance_backend": best.provenance_backend,
        "video": {"id": str(named.id), "state": named.state} if named else None,
        "post": {"id": post.pk} if post is not None else None,
        "credentials": _embedded(own)
        if own.valid
        else _stored(best if named is None else named, score, whole=named is not None),
    }


def _embedded(own: Any) -> dict[str, Any]:
    """The file's own manifest, as it reads back."""
    return {
        "source": "embedded",
        "backend": own.backend,
        "valid": own.valid,
        "signature_valid": own.signature_valid,
        "tampered": own.tampered,
        "trusted": own.trusted,
        "manifest": own.manifest,
    }


def _stored(video: Video, score: float, *, whole: bool) -> dict[str, Any]:
    """The manifest kept when the video was made, found by its soft binding. The whole of it to
    those who may see the video; to others, how it was made and not what was asked for.

    `valid` is checked, not claimed: the kept original's own signed manifest (its embedded
    C2PA, or its signed sidecar) is read back, its signature, media hash and trust chain
    verified, and the manifest kept in the database must have the digest that was signed."""
    from generation.pipeline.provenance import canonical_sha256

    kept = video.manifest or {}
    check = _kept_signature(video)
    same = check is not None and check.manifest_sha256 == canonical_sha256(kept)
    binding = kept.get("soft_binding") or {}  # named also where the manifest is redacted
    manifest = kept if whole else {k: kept[k] for k in PUBLIC_MANIFEST_KEYS if k in kept}
    return {
        "source": "stored",
        "backend": video.provenance_backend,
        "valid": bool(check is not None and check.valid and same),
        "signature_valid": bool(check is not None and check.signature_valid),
        "trusted": bool(check is not None and check.trusted),
        "soft_binding": {"alg": binding.get("alg"), "score": round(float(score), 4)},
        "redacted": not whole,
        "manifest": manifest,
    }


def _kept_signature(video: Video) -> Any:
    """The kept original's own manifest, read back and checked (a ManifestCheck); None when
    the original is gone from storage."""
    from generation.pipeline import provenance

    if not video.file:
        return None
    try:
        with contextlib.ExitStack() as stack:
            mp4 = stack.enter_context(local_copy(video.file, suffix=".mp4"))
            sidecar = None
            if video.provenance:
                sidecar = stack.enter_context(local_copy(video.provenance, suffix=".json"))
            return provenance.read(mp4, sidecar, trust_root_pem=signing_keys().root_pem)
    except (OSError, ValueError):  # gone from storage, or not a file the reader can open
        return None
