"""Writes for remixes: ask for one (with every permission checked), and its outcome."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction

from accounts.models import User
from cameo.models import Cameo
from cameo.selectors import access_cameo
from cameo.services import appearance_record
from config import screens
from config.errors import ApplicationError
from consent.services import cast_authorize
from feeds.models import Post
from generation.generations import daily_budget_check
from generation.models import StageCost
from jobs.services import job_submit
from media.models import Upload, Video
from media.selectors import access_image
from remix.models import Remix
from remix.pipeline.pipeline import RemixError, background_words
from remix.restage import restageable
from remix.selectors import ancestry_of, lineage_of

KIND = "remix.render"


def remix_permitted(*, post: Post, user: User) -> None:
    """Each author up the chain decides: a remix of a remix still remixes the original, so
    remixing switched off on any ancestor holds for everyone but that ancestor's author."""
    if post.state != Post.State.LIVE or post.video.state != Video.State.PUBLISHED:
        raise ApplicationError(
            "source_unavailable", "This video is no longer available to remix.", 409
        )
    for ancestor in ancestry_of(post):
        if not ancestor.allow_remix and ancestor.author_id != user.pk:
            whose = "this video" if ancestor.pk == post.pk else "the video this one remixes"
            raise ApplicationError(
                "remix_not_allowed", f"The author does not allow remixes of {whose}.", 403
            )


# Seconds per frame of each stage before any remix has been measured here (2-core CPU,
# bench/remix_render.py); finished jobs replace them with a running average.
# Stages that overlap others (the swap runs beside the encoder, inside "render") are not
# counted; nor are names a release no longer reports.
DEFAULT_COSTS = {
    "track": 0.025,
    "render": 0.015,
    "finish": 0.0015,
    "provenance": 0.0015,
}
FIXED_SECONDS = 3.0
FPS = 24  # every video made here is 24 fps


def estimate_seconds(video: Video) -> float:
    costs = dict(DEFAULT_COSTS)
    measured = StageCost.objects.filter(stage__startswith=f"{KIND}.")
    for cost in measured:
        stage = cost.stage.removeprefix(f"{KIND}.")
        if stage in costs:
            costs[stage] = cost.seconds_per_frame
    return round(FIXED_SECONDS + video.duration_s * FPS * sum(costs.values()), 1)


def source_cameos(post: Post) -> list[Any]:
    """The doubles a published video shows (appearances not taken down), in a stable order."""
    return list(
        Cameo.objects.filter(
            appearances__video_id=post.video_id, appearances__taken_down_at__isnull=True
        )
        .select_related("owner")
        .distinct()
        .order_by("id")
    )


def budget_check(owner: User) -> None:
    daily_budget_check(
        owner,
        kind=KIND,
        limit=settings.REMIX_DAILY_BUDGET,
        code="remix_budget_exceeded",
        what="remixes",
    )


def _background_upload(owner: User, upload_id: Any) -> Upload:
    return access_image(
        user=owner, upload_id=upload_id, field="background_upload_id", what="background"
    )


def remix_method(source: Video, operation: str, *, background_upload: bool) -> str:
    """Re-stage what a storyboard can say; track everything else."""
    if restageable(source, operation, background_upload=background_upload):
        return Remix.Method.RESTAGE
    return Remix.Method.TRACK


def remix_submit(
    *,
    owner: User,
    source: Post,
    operation: str,
    cameo_id: Any = None,
    background_prompt: str = "",
    background_upload_id: Any = None,
    dialogue: list[str] | None = None,
    idempotency_key: str = "",
) -> Remix:
    remix_permitted(post=source, user=owner)
    budget_check(owner)
    cameo = receipt = upload = None
    if operation == Remix.Operation.SWAP_SUBJECT:
        cameo = access_cameo(user=owner, cameo_id=cameo_id)
        receipt = cast_authorize(cameo=cameo, user=owner, stage="submission")
    else:
        if background_upload_id:
            upload = _background_upload(owner, background_upload_id)
        elif background_prompt.strip():
            try:  # a setting we cannot draw is refused now, not after a queue wait
                background_words(background_prompt)
            except RemixError as exc:
                raise ApplicationError(
                    exc.code, exc.message, 400, field="background_prompt"
                ) from None
    # A remix is a new video of everyone it keeps: each double already in the source must be
    # one the remixer may use, and its owner sees the remix among its appearances.
    kept = [c for c in source_cameos(source) if cameo is None or c.pk != cameo.pk]
    kept_receipts = [cast_authorize(cameo=c, user=owner, stage="submission") for c in kept]
    texts = {"background_prompt": background_prompt} if background_prompt else {}
    texts.update({f"dialogue[{i}]": line for i, line in enumerate(dialogue or [])})
    cast = [str(c.id) for c in ([cameo] if cameo else []) + kept]
    verdicts = screens.screen(
        screens.Subject(
            point=screens.Point.REQUEST, user=owner, texts=texts, source=source, cast=tuple(cast)
        )
    )
    screens.refuse_if_any(verdicts)
    params = {
        "operation": operation,
        "source_post": source.pk,
        "cameo_id": str(cameo.id) if cameo else None,
        "background_prompt": background_prompt,
        "background_upload_id": str(upload.id) if upload else None,
        "dialogue": list(dialogue or []),
        "kept_cameos": [str(c.id) for c in kept],
        "checks": screens.as_dicts(verdicts),
    }
    # The checks above stay outside the transaction: a refused cast is audited even though
    # the request fails. The job, the remix and the appearance are written together.
    with transaction.atomic():
        job, created = job_submit(
            owner=owner, kind=KIND, params=params, idempotency_key=idempotency_key
        )
        if not created:
            return job.remix
        remix = Remix.objects.create(
            owner=owner,
            operation=operation,
            method=remix_method(source.video, operation, background_upload=upload is not None),
            source_post=source,
            source_video=source.video,
            lineage=lineage_of(source),
            cameo=cameo,
            background_prompt=background_prompt,
            background_upload=upload,
            dialogue=params["dialogue"],
            job=job,
        )
        if cameo is not None and receipt is not None:  # authorised together above
            appearance_record(cameo=cameo, user=owner, job=job, receipt=receipt)
        for kept_cameo, kept_receipt in zip(kept, kept_receipts, strict=True):
            appearance_record(cameo=kept_cameo, user=owner, job=job, receipt=kept_receipt)
    return remix
