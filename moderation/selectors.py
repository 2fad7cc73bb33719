"""Reads on the review queue."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import User
from cameo.models import Cameo
from config.errors import NotFoundError
from consent.models import Appearance
from feeds.models import Comment, Post
from moderation.copies import REFUSED as REMOVED_CONTENT
from moderation.models import Case, CopyRemoval, Decision, Reason, Refusal
from moderation.services import queues_for


def cases_open(*, moderator: User) -> QuerySet[Case]:
    return Case.objects.filter(
        state=Case.State.OPEN, queue__in=queues_for(moderator)
    ).select_related("claimed_by")


def access_case(*, moderator: User, case_id: Any) -> Case:
    """A case in one of the moderator's queues; any other looks like a missing one."""
    case = cases_open(moderator=moderator).filter(pk=case_id).first()
    if case is None:
        raise NotFoundError("No such case.")
    return case


# --- The console's reads ------------------------------------------------------------------------
CONSOLE_PAGE = 50
LINEAGE_DEPTH = 10


@dataclass(frozen=True)
class QueueFilters:
    queue: str = ""
    reason: str = ""
    min_severity: float | None = None
    older_than_hours: float | None = None

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> QueueFilters:
        """From the page's query string; what does not parse is ignored, not an error."""
        return cls(
            queue=query.get("queue", "") if query.get("queue") in Case.Queue.values else "",
            reason=query.get("reason", "") if query.get("reason") in Reason.values else "",
            min_severity=_number(query.get("min_severity")),
            older_than_hours=_number(query.get("older_than_hours")),
        )


def _number(raw: str | None) -> float | None:
    try:
        value = float(raw) if raw else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) and value >= 0 else None


def console_queue(*, moderator: User, filters: QueueFilters) -> list[Case]:
    """A page of the queue, worst first, narrowed by the filters."""
    cases = cases_open(moderator=moderator)
    if filters.queue:
        cases = cases.filter(queue=filters.queue)
    if filters.reason:
        cases = cases.filter(reasons__contains=[filters.reason])
    if filters.min_severity is not None:
        cases = cases.filter(severity__gte=filters.min_severity)
    if filters.older_than_hours is not None:
        cutoff = timezone.now() - timedelta(hours=filters.older_than_hours)
        cases = cases.filter(created_at__lte=cutoff)
    return list(cases.order_by("-severity", "created_at")[:CONSOLE_PAGE])


def console_case(*, moderator: User, case_id: Any) -> Case:
    """Any case in the moderator's queues, open or decided (the console shows history)."""
    found = (
        Case.objects.filter(pk=case_id, queue__in=queues_for(moderator))
        .select_related("claimed_by", "appeal_of__case", "appeal_of__moderator")
        .first()
        if str(case_id).isdigit()
        else None
    )
    if found is None:
        raise NotFoundError("No such case.")
    return found


def case_context(case: Case) -> dict[str, Any]:
    """Everything a moderator weighs: the thing reported (for a post: its video, prompt,
    storyboard, provenance, lineage, cast doubles with their consent receipts and the
    automated checks' verdicts), the reports, and the author's history."""
    original = case.appeal_of.case if case.appeal_of is not None else case
    context: dict[str, Any] = {"original": original, "post": None, "comment": None}
    author: User | None = None
    if original.target_kind == Case.Target.POST:
        post = Post.objects.select_related("video", "author").filter(pk=original.target_id).first()
        context["post"] = post
        author = post.author if post is not None else None
    elif original.target_kind == Case.Target.COMMENT:
        comment = Comment.objects.select_related("author", "post").filter(pk=original.target_id)
        context["comment"] = comment.first()
        author = context["comment"].author if context["comment"] is not None else None
    else:
        author = User.objects.filter(pk=original.target_id).first()
    post = context["post"]
    if post is not None:
        context["storyboard"] = json.dumps(post.video.storyboard, indent=2, ensure_ascii=False)
        context["manifest"] = json.dumps(post.video.manifest, indent=2, ensure_ascii=False)
        context["lineage"] = _lineage(post)
        context["appearances"] = list(
            Appearance.objects.filter(video_id=post.video_id).select_related("cameo__owner")
        )
        context["checks"] = post.checks
    context["cameos"] = _cameos(post, author)
    context["reports"] = list(
        original.reports.select_related("reporter__reporter_standing").order_by("-weight", "id")
    )
    context["author"] = author
    context["history"] = _history(author, exclude_case=original.pk) if author else None
    context["decisions"] = list(case.decisions.select_related("moderator").order_by("id"))
    return context


def _lineage(post: Post) -> list[Post]:
    """The post's ancestors through remixes, nearest first."""
    chain: list[Post] = []
    seen = {post.pk}
    current = post.remix_of
    while current is not None and current.pk not in seen and len(chain) < LINEAGE_DEPTH:
        chain.append(current)
        seen.add(current.pk)
        current = current.remix_of
    return chain


def _cameos(post: Post | None, author: User | None) -> list[Cameo]:
    """The doubles a revocation could name: those cast in the post, or the user's own."""
    if post is not None:
        return list(Cameo.objects.filter(appearances__video_id=post.video_id).distinct())
    if author is not None:
        return list(Cameo.objects.filter(owner=author))
    return []


def _history(author: User, *, exclude_case: int) -> dict[str, Any]:
    decisions = Decision.objects.filter(affected=author).exclude(case_id=exclude_case)
    return {
        "posts": Post.objects.filter(author=author).count(),
        "taken_down": Post.objects.filter(author=author, state=Post.State.TAKEN_DOWN).count(),
        "decisions": list(decisions.order_by("-created_at")[:20]),
        "suspended": not author.is_active,
    }


def dashboard_figures(*, now: Any = None, days: int = 14) -> dict[str, Any]:
    """Open cases per queue, the median time to a decision, actions per day, and what the
    copy search removed and the hash list blocked."""
    now = now or timezone.now()
    since = now - timedelta(days=days)
    open_per_queue = dict(
        Case.objects.filter(state=Case.State.OPEN)
        .values_list("queue")
        .annotate(n=Count("id"))
        .values_list("queue", "n")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT percentile_cont(0.5) WITHIN GROUP "
            "(ORDER BY extract(epoch FROM decided_at - created_at)) "
            "FROM moderation_case WHERE decided_at >= %s",
            [since],
        )
        median = cursor.fetchone()[0]
    per_day = (
        Decision.objects.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values_list("day", "action")
        .annotate(n=Count("id"))
        .order_by("-day", "action")
    )
    return {
        "open_per_queue": [(q, open_per_queue.get(q, 0)) for q in Case.Queue.values],
        "median_decision_s": float(median) if median is not None else None,
        "actions_per_day": [{"day": day, "action": action, "n": n} for day, action, n in per_day],
        "days": days,
        **copies_figures(since),
    }


def copies_figures(since: Any) -> dict[str, Any]:
    """What the copy search removed (against the 48-hour clock) and what the checks refused,
    the hash list's blocked re-uploads first among them."""
    copies = CopyRemoval.objects.filter(is_copy=True, removed_at__gte=since)
    refusals = Refusal.objects.filter(created_at__gte=since)
    return {
        "copies_removed": copies.count(),
        "copies_in_time": copies.filter(within_deadline=True).count(),
        "reuploads_blocked": refusals.filter(code=REMOVED_CONTENT).count(),
        "refusals_by_code": list(
            refusals.values_list("code").annotate(n=Count("id")).order_by("-n")[:20]
        ),
    }
