"""The remix.render job: adapt the Django rows to the remix pipeline and keep its result."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage

from jobs.models import Job
from jobs.runner import JobFailed, Progress


def _double(remix: Any) -> Any:
    from remix.pipeline.pipeline import CameoDouble

    cameo = remix.cameo
    biometrics = getattr(cameo, "biometrics", None) if cameo is not None else None
    if cameo is None or not cameo.is_active or biometrics is None:
        raise JobFailed("cameo_revoked", "The cameo was revoked by its owner.")
    with default_storage.open(biometrics.cutout, "rb") as handle:
        image = handle.read()  # RGBA: its colour channels are a frame of the verified clip
    return CameoDouble(str(cameo.id), image, biometrics.voice_pitch.get("median_hz"))


def _source_checked(remix: Any, job: Job) -> Any:
    """The source must still be live, and the author must still allow remixes of it."""
    from config.api import ApiError
    from remix.services import remix_permitted

    post = remix.source_post
    if post is None or remix.source_video is None or not remix.source_video.file:
        raise JobFailed("source_unavailable", "The source video was deleted.")
    try:
        remix_permitted(post=post, user=job.owner)
    except ApiError as refused:
        raise JobFailed(refused.error_code, str(refused.detail)) from None
    return post


def render_remix(job: Job, on_progress: Progress) -> dict[str, Any]:
    from generation.generations import stage_costs_record
    from generation.handlers import _authorizer, video_keep
    from generation.pipeline.cast import CastRefused
    from generation.provenance_keys import signing_keys
    from generation.storage import local_copy
    from remix.models import Remix
    from remix.pipeline.pipeline import RemixError, RemixRequest, run
    from remix.restage import can_restage

    remix = Remix.objects.select_related(
        "source_post__author", "source_video", "cameo__biometrics", "background_upload"
    ).get(job=job)
    post = _source_checked(remix, job)
    if can_restage(remix):
        return _restaged(remix, job, post, on_progress)
    double = _double(remix) if remix.operation == Remix.Operation.SWAP_SUBJECT else None
    workdir = Path(settings.VAR_DIR) / "work" / job.id.hex
    with contextlib.ExitStack() as stack:
        source = stack.enter_context(local_copy(remix.source_video.file, ".mp4"))
        image = None
        if remix.background_upload is not None:
            image = stack.enter_context(local_copy(remix.background_upload.file.name))
        request = RemixRequest(
            source=source,
            operation=remix.operation,
            job_id=str(job.id),
            source_ref={
                "post": post.pk,
                "video": str(remix.source_video.id),
                "author": post.author.username,
            },
            lineage=remix.lineage,
            cameo=double,
            kept_cameos=job.params.get("kept_cameos", []),
            background_image=image,
            background_prompt=remix.background_prompt,
            dialogue=remix.dialogue,
            speaker=remix.cameo.owner.username if remix.cameo else job.owner.username,
        )
        try:
            result = run(
                request,
                workdir=workdir,
                on_progress=on_progress,
                authorize=_authorizer(job),
                keys=signing_keys(),
                models_dir=Path(settings.MODELS_DIR),
            )
        except CastRefused as refused:
            raise JobFailed(refused.code, refused.message) from None
        except RemixError as bad:
            raise JobFailed(bad.code, bad.message) from None
    video = video_keep(
        job, result, storyboard={}, prompt=f"remix ({remix.operation}) of post {post.pk}"
    )
    Remix.objects.filter(pk=remix.pk).update(video=video)
    costs = {k: v for k, v in result.timings.items() if k not in ("cast", "prepare", "audio")}
    stage_costs_record({f"{job.kind}.{k}": v for k, v in costs.items()}, result.frames)
    shutil.rmtree(workdir, ignore_errors=True)
    return {
        "video_id": str(video.id),
        "remix_id": str(remix.id),
        "output": video.file,
        "method": "track+" + ("face-swap" if double else "composite"),
        "timings": result.timings,
        "backends": result.backends,
        "counts": result.counts,
    }


def _restaged(remix: Any, job: Job, post: Any, on_progress: Progress) -> dict[str, Any]:
    """A video made here is re-rendered from its storyboard with the swap applied."""
    from generation.handlers import video_keep
    from generation.pipeline.audio import SoundtrackError
    from generation.pipeline.cast import CastRefused
    from remix.models import Remix
    from remix.pipeline.pipeline import RemixError
    from remix.restage import METHOD, restage

    try:
        board, result = restage(remix, job, post, on_progress)
    except CastRefused as refused:
        raise JobFailed(refused.code, refused.message) from None
    except RemixError as bad:
        raise JobFailed(bad.code, bad.message) from None
    except SoundtrackError as unvoiced:
        raise JobFailed(unvoiced.code, str(unvoiced)) from None
    video = video_keep(
        job,
        result,
        storyboard=board.as_dict(),
        prompt=f"remix ({remix.operation}) of post {post.pk}",
    )
    Remix.objects.filter(pk=remix.pk).update(video=video)
    shutil.rmtree(Path(settings.VAR_DIR) / "work" / job.id.hex, ignore_errors=True)
    return {
        "video_id": str(video.id),
        "remix_id": str(remix.id),
        "output": video.file,
        "method": METHOD,
        "timings": result.timings,
        "backends": result.backends,
        "counts": {"frames": result.frames},
    }
