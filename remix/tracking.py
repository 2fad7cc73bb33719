"""Remix by tracking: footage that keeps no storyboard (or a background given as an image)
is decoded, its person tracked and segmented, then composited onto the new background or
given the cameo's face, frame by frame (remix.pipeline)."""

from __future__ import annotations

import contextlib
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage

from cameo.models import Cameo
from feeds.models import Post
from generation.rendering import authorizer, workdir
from jobs.models import Job
from jobs.runner import JobFailed, Progress
from media.provenance_keys import signing_keys
from media.storage import local_copy
from remix.models import Remix
from remix.pipeline.pipeline import CameoDouble, RemixRequest, RemixResult, run


def cameo_double(cameo: Cameo | None) -> CameoDouble:
    """The cameo's face as the swapper takes it, read as it stands now: revoked means no."""
    biometrics = getattr(cameo, "biometrics", None) if cameo is not None else None
    if cameo is None or not cameo.is_active or biometrics is None:
        raise JobFailed("cameo_revoked", "The cameo was revoked by its owner.")
    with default_storage.open(biometrics.cutout, "rb") as handle:
        image = handle.read()  # RGBA: its colour channels are a frame of the verified clip
    return CameoDouble(str(cameo.id), image, biometrics.voice_pitch.get("median_hz"))


def track(remix: Remix, job: Job, post: Post, on_progress: Progress) -> RemixResult:
    source = remix.source_video
    assert source is not None
    swap_subject = remix.operation == Remix.Operation.SWAP_SUBJECT
    double = cameo_double(remix.cameo) if swap_subject else None
    with contextlib.ExitStack() as stack:
        request = RemixRequest(
            source=stack.enter_context(local_copy(source.file, ".mp4")),
            operation=remix.operation,
            job_id=str(job.id),
            source_ref={"post": post.pk, "video": str(source.id), "author": post.author.username},
            lineage=remix.lineage,
            cameo=double,
            kept_cameos=job.params.get("kept_cameos", []),
            background_image=(
                stack.enter_context(local_copy(remix.background_upload.file.name))
                if remix.background_upload is not None
                else None
            ),
            background_prompt=remix.background_prompt,
            dialogue=remix.dialogue,
            speaker=remix.cameo.owner.username if remix.cameo else job.owner.username,
        )
        return run(
            request,
            workdir=workdir(job),
            on_progress=on_progress,
            authorize=authorizer(job),
            keys=signing_keys(),
            models_dir=Path(settings.MODELS_DIR),
        )
