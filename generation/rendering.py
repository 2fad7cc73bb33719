"""What every render job needs, for generation and remix alike: its cast, the consent check
just before rendering, a working directory, and keeping the finished files as a draft video.

The pipelines' own errors (a refused cast, unspeakable dialogue, a remix that cannot be
made) carry a stable `code` and `retryable = False`, so the job runner fails the job with
that code without any mapping here."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction

from cameo.models import Cameo
from config import screens
from config.errors import ApplicationError
from consent.models import Appearance
from consent.services import cast_authorize
from feeds.models import Post
from generation.pipeline.cast import CastMember, CastRefused
from jobs.models import Job
from jobs.runner import JobFailed
from media.hashes import video_hashes_ensure
from media.models import Video

if TYPE_CHECKING:
    from collections.abc import Callable

    from generation.pipeline.pipeline import PipelineOutput


def workdir(job: Job) -> Path:
    """The job's scratch directory: stages skip what an earlier attempt left here."""
    return Path(settings.VAR_DIR) / "work" / job.id.hex


def workdir_remove(job: Job) -> None:
    shutil.rmtree(workdir(job), ignore_errors=True)


def cast_member(cameo_id: str, subject: str) -> CastMember:
    """The double as the pipeline casts it, read as it stands now: revoked means no."""
    cameo = Cameo.objects.select_related("biometrics").filter(id=cameo_id).first()
    biometrics = getattr(cameo, "biometrics", None) if cameo else None
    if cameo is None or not cameo.is_active or biometrics is None:
        raise JobFailed("cameo_revoked", "A cast cameo was revoked by its owner.")
    with default_storage.open(biometrics.cutout, "rb") as handle:
        cutout = handle.read()
    return CastMember(
        cameo_id=str(cameo.id),
        subject=subject,
        cutout_png=cutout,
        voice_pitch_hz=biometrics.voice_pitch.get("median_hz"),
        instructions=cameo.instructions,  # the owner's words as they stand now
    )


def authorizer(job: Job) -> Callable[[str], dict[str, Any]]:
    """The pipeline's last check before a double is drawn: may the job's owner still cast it?"""

    def authorize(cameo_id: str) -> dict[str, Any]:
        cameo = Cameo.objects.select_related("owner").get(id=cameo_id)
        try:
            return cast_authorize(cameo=cameo, user=job.owner, stage="render", job=job)
        except ApplicationError as refused:
            raise CastRefused(cameo_id, refused.code, refused.message) from None

    return authorize


def _store(job: Job, path: Path | None, name: str) -> str:
    if path is None:
        return ""
    target = f"jobs/{job.id.hex}/{name}"
    if default_storage.exists(target):
        default_storage.delete(target)  # a retry replaces what a crashed attempt left
    with open(path, "rb") as handle:
        return default_storage.save(target, File(handle))


def video_keep(
    job: Job, result: PipelineOutput, *, storyboard: dict[str, Any], prompt: str
) -> Video:
    """Store a finished pipeline's files under the job's prefix and make its draft video,
    with the OUTPUT checks' verdicts on it (a hold there holds the post when published).

    The doubles' appearances recorded at submission now point at the video."""
    stored = {
        "file": _store(job, result.video, "video.mp4"),
        "poster": _store(job, result.poster, "poster.jpg"),
        "preview": _store(job, result.preview, "preview.mp4"),
        "subtitles": _store(job, result.subtitles, "subtitles.vtt"),
        "provenance": _store(job, result.sidecar, "video.provenance.json"),
    }
    # A refusal at OUTPUT rolls the draft back and fails the job with its code (the runner).
    with transaction.atomic():
        video = Video.objects.create(
            owner=job.owner,
            job=job,
            **stored,
            provenance_backend=result.provenance_backend,
            manifest=result.manifest,
            fingerprint=result.fingerprint,
            storyboard=storyboard,
            prompt=prompt,
            width=result.width,
            height=result.height,
            duration_s=result.duration_s,
        )
        appearances = Appearance.objects.filter(job=job)
        appearances.update(video=video)
        verdicts = output_screen(job, video, result.video, appearances)
        screens.refuse_if_any(verdicts)
        video.checks = screens.as_dicts(verdicts)
        video.save(update_fields=["checks"])
    # Hashed once when kept, so a takedown finds this video among its copies later.
    video_hashes_ensure(video)
    return video


def output_screen(
    job: Job, video: Video, path: Path | None, appearances: Any
) -> list[screens.Verdict]:
    """The OUTPUT checks on a kept render: its cast is every double recorded for the job, its
    source the post a remix was made from."""
    cast = tuple(str(cameo_id) for cameo_id in appearances.values_list("cameo_id", flat=True))
    source_id = job.params.get("source_post")
    source = Post.objects.filter(pk=source_id).first() if source_id else None
    return screens.screen(
        screens.Subject(
            point=screens.Point.OUTPUT,
            user=job.owner,
            video=video,
            path=path,
            cast=cast,
            source=source,
        )
    )
