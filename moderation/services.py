"""Writes on reports and cases: file a report, and claim a case off the queue with a lease."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from accounts.models import User
from config.errors import ApplicationError, NotFoundError
from feeds.models import Comment, Post
from feeds.selectors import access_post
from moderation.models import Case, Decision, Reason, Report, ReporterStanding

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
CLAIM_LEASE = timedelta(minutes=15)
CLAIM_SCAN = 50  # candidates tried per claim when others are claiming at the same moment
# What a report from someone marked as reporting in bad faith counts for: it still opens a
# case (they may be right this time) but sinks below everyone else's.
BAD_FAITH_WEIGHT = 0.1


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
    return str(user.pk), _reach(kind, str(user.pk))


def _reach(kind: str, key: str) -> int:
    """How many saw the reported thing: a post's views, a comment's post's, a user's posts'."""
    if kind == Case.Target.POST:
        return Post.objects.filter(pk=int(key)).values_list("view_count", flat=True).first() or 0
    if kind == Case.Target.COMMENT:
        views = Comment.objects.filter(pk=int(key)).values_list("post__view_count", flat=True)
        return views.first() or 0
    if kind == Case.Target.USER:
        live = Post.objects.filter(author_id=int(key), state=Post.State.LIVE)
        return live.aggregate(views=Sum("view_count"))["views"] or 0
    return 0


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def severity(reasons: list[str], report_count: float, reach: int) -> float:
    """The worst reason, raised by how many reported it and how many saw it."""
    worst = max(REASON_WEIGHT[Reason(r)] for r in reasons)
    return _severity(worst, report_count, reach)


def _severity(worst: float, count: float, reach: int) -> float:
    return round(worst * (1 + math.log1p(max(count, 1.0) - 1)) + math.log10(1 + reach), 3)


def case_severity(case: Case, reach: int) -> float:
    """The case's severity from its reports, each weighed by its reporter's standing: a
    bad-faith reporter's worst reason and count weigh a tenth of anyone else's."""
    rows = list(case.reports.values_list("reason", "weight"))
    if not rows:  # an appeal: no reports, its decision's severity
        return case.severity
    worst = max(REASON_WEIGHT[Reason(reason)] * weight for reason, weight in rows)
    return _severity(worst, sum(weight for _, weight in rows), reach)


def reporter_weight(reporter: User | None) -> float:
    if reporter is None:  # an automated check
        return 1.0
    marked = ReporterStanding.objects.filter(user=reporter, bad_faith=True).exists()
    return BAD_FAITH_WEIGHT if marked else 1.0


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
    report = Report.objects.create(
        case=case, reporter=reporter, reason=reason, text=text, weight=reporter_weight(reporter)
    )
    reasons = _ordered(set(case.reasons) | {reason})
    case.report_count += 1
    case.reasons = reasons
    case.severity = case_severity(case, reach)
    if set(settings.MODERATION_SENIOR_REASONS) & set(reasons):
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


def case_claim_one(*, case: Case, moderator: User, now: Any = None) -> Case | None:
    """Claim this case (the console's case page), on the same terms as the next one: open,
    in the moderator's queues, nobody else's live lease, never an appeal of their own."""
    now = now or timezone.now()
    free = Q(claimed_by__isnull=True) | Q(lease_until__lt=now) | Q(claimed_by=moderator)
    claimed = (
        Case.objects.filter(
            free, id=case.pk, state=Case.State.OPEN, queue__in=queues_for(moderator)
        )
        .exclude(appeal_of__moderator=moderator)
        .update(claimed_by=moderator, lease_until=now + CLAIM_LEASE, updated_at=now)
    )
    return Case.objects.get(id=case.pk) if claimed else None


def case_release(*, case: Case, moderator: User) -> Case:
    if case.claimed_by_id != moderator.pk:
        raise ApplicationError("case_not_claimed", "You have not claimed this case.", 409)
    Case.objects.filter(pk=case.pk, claimed_by=moderator).update(claimed_by=None, lease_until=None)
    case.refresh_from_db()
    return case


@transaction.atomic
def reporter_mark(
    *, moderator: User, username: str, bad_faith: bool, reason: str
) -> ReporterStanding:
    """Mark (or clear) a reporter as filing in bad faith; their reports on open cases are
    reweighed at once, so those cases move down (or back up) the queue."""
    user = User.objects.filter(username=username).first()
    if user is None:
        raise NotFoundError("No such user.")
    standing, _ = ReporterStanding.objects.update_or_create(
        user=user, defaults={"bad_faith": bad_faith, "reason": reason, "marked_by": moderator}
    )
    weight = BAD_FAITH_WEIGHT if bad_faith else 1.0
    open_reports = Report.objects.filter(reporter=user, case__state=Case.State.OPEN)
    case_ids = list(open_reports.values_list("case_id", flat=True))
    open_reports.update(weight=weight)
    for case in Case.objects.select_for_update().filter(pk__in=case_ids):
        case.severity = case_severity(case, _reach(case.target_kind, case.target_id))
        case.save(update_fields=["severity", "updated_at"])
    return standing


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


def suspension_appeal(*, username: str, password: str, text: str) -> Case:
    """A suspended account has no token, so it proves who it is with its password (which
    signs it in nowhere) and appeals its latest suspension."""
    user = User.objects.filter(username__iexact=username.strip()).first()
    if user is None or user.is_active or not user.check_password(password):
        # Active accounts appeal signed in; wrong and unknown look the same.
        raise ApplicationError(
            "invalid_credentials", "Username or password is wrong, or not suspended.", 401
        )
    decision = (
        Decision.objects.filter(affected=user, action=Decision.Action.SUSPEND)
        .order_by("-created_at")
        .first()
    )
    if decision is None:
        raise NotFoundError("No suspension to appeal.")
    return appeal_file(appellant=user, decision_id=decision.pk, text=text)


# --- Automated reports: a check that held a post files it like a person would ---------------
@transaction.atomic
def report_file_automated(
    *, check_name: str, target_kind: str, target_id: str, reason: str, text: str = ""
) -> Report:
    """A report with no reporter, naming the check that filed it, grouped into the thing's one
    open case like anyone's. The same check reporting the same thing twice keeps the first."""
    key = str(target_id)
    case = _open_case(target_kind, key)
    existing = Report.objects.filter(case=case, reporter=None, check_name=check_name).first()
    if existing is not None:
        return existing
    report = Report.objects.create(
        case=case, reporter=None, check_name=check_name, reason=reason, text=text[:2000]
    )
    reasons = _ordered(set(case.reasons) | {reason})
    case.report_count += 1
    case.reasons = reasons
    case.severity = case_severity(case, _reach(target_kind, key))
    if set(settings.MODERATION_SENIOR_REASONS) & set(reasons):
        case.queue = Case.Queue.SENIOR
    case.save(update_fields=["report_count", "reasons", "severity", "queue", "updated_at"])
    return report
