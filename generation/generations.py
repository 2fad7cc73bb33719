"""Generation requests: plan, check the cast at submission, budget, estimate, submit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from cameo.selectors import access_cameo
from cameo.services import appearance_record
from config import screens
from config.errors import ApplicationError
from consent.services import cast_authorize
from generation.models import StageCost
from generation.pipeline.plan import PlanRequest, planner_from_config
from generation.pipeline.storyboard import Storyboard, StoryboardError
from jobs.models import Job
from jobs.services import job_submit

KIND = "generation.render"
# First-run guesses (seconds per output frame, 2-core CPU) until real jobs are measured.
DEFAULT_COSTS = {"audio": 0.01, "render": 0.25, "encode": 0.03, "provenance": 0.005}
FIXED_SECONDS = 4.0
MAX_CAST = 4


@dataclass(frozen=True)
class CastRequest:
    cameo_id: str
    subject: str | None = None


def storyboard_from_request(
    *,
    prompt: str,
    storyboard: dict[str, Any] | None,
    aspect: str,
    duration_s: float,
    style: str,
    mood: str | None,
    dialogue: list[str],
    cast: list[tuple[str, str]],
) -> Storyboard:
    try:
        if storyboard:
            board = Storyboard.from_dict({**storyboard, "aspect": aspect, "style": style})
            board.validate(max_seconds=settings.GENERATION_MAX_SECONDS)
            return board
        planner = planner_from_config(
            settings.PLANNER_URL, settings.PLANNER_MODEL, settings.PLANNER_API_KEY
        )
        board = planner.plan(
            PlanRequest(
                prompt=prompt,
                duration_s=duration_s,
                aspect=aspect,
                style=style,
                mood=mood,
                dialogue=tuple(dialogue),
                cast=tuple(cast),
            )
        )
        board.validate(max_seconds=settings.GENERATION_MAX_SECONDS)
        return board
    except StoryboardError as exc:
        raise ApplicationError("storyboard_invalid", str(exc), 400, field=exc.field) from None


def daily_budget_check(owner: User, *, kind: str, limit: int, code: str, what: str) -> None:
    """At most `limit` jobs of `kind` per user in any 24 hours: 429 `code` past it."""
    since = timezone.now() - timedelta(days=1)
    used = Job.objects.filter(owner=owner, kind=kind, created_at__gte=since).count()
    if used >= limit:
        raise ApplicationError(code, f"You have used your {limit} {what} for today.", 429)


def budget_check(owner: User) -> None:
    daily_budget_check(
        owner,
        kind=KIND,
        limit=settings.GENERATION_DAILY_BUDGET,
        code="generation_budget_exceeded",
        what="generations",
    )


def estimate_seconds(board: Storyboard) -> float:
    frames = board.duration_s * board.fps
    costs = dict(DEFAULT_COSTS)
    # Other pipelines (remix) keep their costs under a "kind." prefix.
    costs.update(
        StageCost.objects.exclude(stage__contains=".").values_list("stage", "seconds_per_frame")
    )
    return round(FIXED_SECONDS + frames * sum(costs.values()), 1)


def stage_costs_record(timings: dict[str, float], frames: int) -> None:
    """Fold a finished job's stage timings into the running per-frame costs (EMA)."""
    for stage, seconds in timings.items():
        per_frame = seconds / max(1, frames)
        cost, created = StageCost.objects.get_or_create(
            stage=stage, defaults={"seconds_per_frame": per_frame, "samples": 1}
        )
        if not created:
            cost.seconds_per_frame = 0.8 * cost.seconds_per_frame + 0.2 * per_frame
            cost.samples += 1
            cost.save(update_fields=["seconds_per_frame", "samples", "updated_at"])


def _cast_subjects(board: Storyboard, cast: list[CastRequest], names: dict[str, str]) -> list[dict]:
    """Pair each cameo with the subject it plays: named, or the next uncast subject."""
    from generation.pipeline.storyboard import Subject

    free = [s.name for s in board.subjects if not s.cameo_id]
    pairs = []
    for member in cast:
        subject = member.subject or (free.pop(0) if free else None)
        if subject is None:
            subject = names[member.cameo_id]
            board.subjects.append(Subject(name=subject))
            for shot in board.shots:
                shot.subjects.append(subject)
        elif subject not in {s.name for s in board.subjects}:
            raise ApplicationError("cast_subject_unknown", f"No subject {subject!r} to cast.", 400)
        elif subject in free:
            free.remove(subject)
        pairs.append({"cameo_id": member.cameo_id, "subject": subject})
    return pairs


def _cast_with_storyboard_cameos(board: Storyboard, cast: list[CastRequest]) -> list[CastRequest]:
    """A storyboard may name a cameo on a subject (one taken from an earlier video's): it is
    a cast request like any other, checked the same way, never stored as given."""
    named = {m.subject for m in cast if m.subject}
    listed = {m.cameo_id for m in cast}
    extra = []
    for subject in board.subjects:
        cameo_id, subject.cameo_id = subject.cameo_id, None
        if cameo_id and cameo_id not in listed and subject.name not in named:
            extra.append(CastRequest(str(cameo_id), subject.name))
            listed.add(cameo_id)
    if len(cast) + len(extra) > MAX_CAST:
        raise ApplicationError("cast_too_large", f"At most {MAX_CAST} cameos per video.", 400)
    return [*cast, *extra]


def request_texts(prompt: str, board: Storyboard) -> dict[str, str]:
    """The words a request puts on screen or in a mouth, keyed by where they came from, so a
    refusal can name the field to change."""
    texts = {"prompt": prompt}
    for i, subject in enumerate(board.subjects):
        texts[f"subjects[{i}].name"] = subject.name
    for i, shot in enumerate(board.shots):
        for j, line in enumerate(shot.dialogue):
            texts[f"shots[{i}].dialogue[{j}]"] = line.text
    return texts


def generation_submit(
    *,
    owner: User,
    board: Storyboard,
    cast: list[CastRequest],
    burn_subtitles: bool,
    prompt: str,
    idempotency_key: str = "",
) -> tuple[Job, float]:
    budget_check(owner)
    cast = _cast_with_storyboard_cameos(board, cast)
    cameos = {m.cameo_id: access_cameo(user=owner, cameo_id=m.cameo_id) for m in cast}
    receipts = {
        cid: cast_authorize(cameo=c, user=owner, stage="submission") for cid, c in cameos.items()
    }
    pairs = _cast_subjects(board, cast, {cid: c.owner.username for cid, c in cameos.items()})
    for pair in pairs:
        next(s for s in board.subjects if s.name == pair["subject"]).cameo_id = pair["cameo_id"]
    verdicts = screens.screen(
        screens.Subject(
            point=screens.Point.REQUEST,
            user=owner,
            texts=request_texts(prompt, board),
            cast=tuple(cameos),
        )
    )
    screens.refuse_if_any(verdicts)
    params = {
        "storyboard": board.as_dict(),
        "cast": pairs,
        "burn_subtitles": burn_subtitles,
        "prompt": prompt,
        "size": None,
        "checks": screens.as_dicts(verdicts),
    }
    # The checks above stay outside the transaction, so a refused cast is audited although
    # the request fails; the job and its appearances are written together.
    with transaction.atomic():
        job, created = job_submit(
            owner=owner, kind=KIND, params=params, idempotency_key=idempotency_key
        )
        if created:
            for cameo_id, cameo in cameos.items():
                appearance_record(cameo=cameo, user=owner, job=job, receipt=receipts[cameo_id])
    return job, estimate_seconds(board)
