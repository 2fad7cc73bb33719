"""Writes on reports and cases: file a report, and claim a case off the queue with a lease."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from config.errors import ApplicationError, NotFoundError
from feeds.models import Comment, Post
from feeds.selectors import access_post
from moderation.models import Case, Decision, Reason, Report

# How bad a reason is, before counting reports and reach. The most severe reason given leads.
REASON_WEIGHT = {
    Reason.MINOR_SAFETY: 10.0,
    Reason.INTIMATE_IMAGERY: 9.0,
    Reason.IMPERSONATION: 8.0,
    Reason.VIOLENCE: 6.0,
    Reason.HARASSMENT: 5.0,
    Reason.IP_INFRINGEMENT: 4.0,
    Reason.SPAM: 1.5,
    Reason.OTHER: 1.0,
}
SENIOR_REASONS = {Reason.MINOR_SAFETY}
CLAIM_LEASE = timedelta(minutes=15)
CLAIM_SCAN = 50  # candidates tried per claim when others are claiming at the same moment


def _target(reporter: User, kind: str, target_id: str) -> tuple[str, int]:
    """The reported thing as (its id, its reach in views), if the reporter may see it: what
    one cannot see one cannot report, and a missing thing looks like a hidden one."""
    if kind == Case.Target.POST:
        post = access_post(viewer=reporter, post_id=target_id)
        return str(post.pk), post.view_count
    if kind == Case.Target.COMMENT:
        comment_id = _int(target_id)
        comment = Comment.objects.filter(pk=comment_id).first() if comment_id else None
        if comment is None:
            raise NotFoundError("No such comment.")
        post = access_post(viewer=reporter, post_id=comment.post_id)  # 404 if hidden
        return str(comment.pk), post.view_count
    user = User.objects.filter(username=target_id, is_active=True).first()
    if user is None:
        raise NotFoundError("No such user.")
    reach = Post.objects.filter(author=user, state=Post.State.LIVE).values_list("view_count")
    return str(user.pk), sum(views for (views,) in reach)


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def severity(reasons: list[str], report_count: int, reach: int) -> float:
    """The worst reason, raised by how many reported it and how many saw it."""
    worst = max(REASON_WEIGHT[Reason(r)] for r in reasons)
    return round(worst * (1 + math.log1p(report_count - 1)) + math.log10(1 + reach), 3)


def _ordered(reasons: set[str]) -> list[str]:
    return sorted(reasons, key=lambda r: -REASON_WEIGHT[Reason(r)])


@transaction.atomic
def report_file(
    *, reporter: User, target_kind: str, target_id: str, reason: str, text: str = ""
) -> Report:
    """File a report; reports on one thing group into its one open case. Reporting the same
    thing twice keeps the first report."""
    key, reach = _target(reporter, target_kind, target_id)
    case = _open_case(target_kind, key)
    existing = Report.objects.filter(case=case, reporter=reporter).first()
    if existing is not None:
        return existing
    report = Report.objects.create(case=case, reporter=reporter, reason=reason, text=text)
    reasons = _ordered(set(case.reasons) | {reason})
    case.report_count += 1
    case.reasons = reasons
    case.severity = severity(reasons, case.report_count, reach)
    if SENIOR_REASONS & set(reasons):
        case.queue = Case.Queue.SENIOR  # routed up, never back down
    case.save(update_fields=["report_count", "reasons", "severity", "queue", "updated_at"])
    return report


def _open_case(kind: str, key: str) -> Case:
    case = Case.objects.select_for_update().filter(target_kind=kind, target_id=key).first()
    if case is not None and case.state == Case.State.OPEN:
        return case
    try:
        with transaction.atomic():
            return Case.objects.create(target_kind=kind, target_id=key)
    except IntegrityError:  # another report opened it first
        return Case.objects.select_for_update().get(
            target_kind=kind, target_id=key, state=Case.State.OPEN
        )


def queues_for(moderator: User) -> list[str]:
    queues = [Case.Queue.GENERAL.value]
    if moderator.has_perm("moderation.work_senior_queue"):
        queues.append(Case.Queue.SENIOR.value)
    return queues


def case_claim(*, moderator: User, now: Any = None) -> Case | None:
    """The most severe open case nobody is working, claimed for `moderator` with a lease.

    A conditional update, like a job's claim: two moderators asking at once never get the
    same case, and a claim left to lapse returns the case to the queue."""
    now = now or timezone.now()
    free = Q(claimed_by__isnull=True) | Q(lease_until__lt=now) | Q(claimed_by=moderator)
    # An appeal is never handed to the moderator whose decision it contests.
    candidates = (
        Case.objects.filter(free, state=Case.State.OPEN, queue__in=queues_for(moderator))
        .exclude(appeal_of__moderator=moderator)
        .order_by("-severity", "created_at")
    )
    for case_id in candidates.values_list("id", flat=True)[:CLAIM_SCAN]:
        claimed = Case.objects.filter(free, id=case_id, state=Case.State.OPEN).update(
            claimed_by=moderator, lease_until=now + CLAIM_LEASE, updated_at=now
        )
        if claimed:
            return Case.objects.get(id=case_id)
    return None


def case_release(*, case: Case, moderator: User) -> Case:
    if case.claimed_by_id != moderator.pk:
        raise ApplicationError("case_not_claimed", "You have not claimed this case.", 409)
    Case.objects.filter(pk=case.pk, claimed_by=moderator).update(claimed_by=None, lease_until=None)
    case.refresh_from_db()
    return case


APPEALABLE = ("take_down", "suspend")


@transaction.atomic
def appeal_file(*, appellant: User, decision_id: Any, text: str) -> Case:
    """The person a takedown or suspension is about contests it, once; the appeal is a case
    in the same queue, for a different moderator."""
    decision = (
        Decision.objects.select_related("case").filter(pk=decision_id, affected=appellant).first()
    )
    if decision is None:
        raise NotFoundError("No such decision.")
    if decision.action not in APPEALABLE:
        raise ApplicationError(
            "decision_not_appealable", "Only a takedown or a suspension can be appealed.", 409
        )
    if Case.objects.filter(appeal_of=decision).exists():
        raise ApplicationError("appeal_exists", "This decision was appealed already.", 409)
    return Case.objects.create(
        target_kind=Case.Target.APPEAL,
        target_id=str(decision.pk),
        queue=decision.case.queue,
        reasons=[decision.ground],
        report_count=0,
        severity=decision.case.severity,
        appeal_of=decision,
        appeal_text=text,
    )
