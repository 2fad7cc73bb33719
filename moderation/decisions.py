"""Deciding a case: the action, its audit row, and the statement of reasons sent to the
person it affects. Every action acts through the app that owns the thing: a post comes down
through feeds.post_take_down (which records actor and reason), an account through accounts."""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import notify, user_reinstate, user_suspend
from cameo.cascade import cameo_revoke
from cameo.models import Cameo
from config.errors import ApplicationError
from feeds.models import Comment, Post
from feeds.services import post_age_restrict, post_hold_release, post_restore, post_take_down
from moderation.copies import copies_after_take_down, copies_restore
from moderation.models import Case, Decision, Reason

Action = Decision.Action
NO_VIOLATION = "no_violation"
# What each kind of target can have done to it.
APPLICABLE = {
    Case.Target.POST: {
        Action.DISMISS,
        Action.TAKE_DOWN,
        Action.RESTORE,
        Action.AGE_RESTRICT,
        Action.WARN,
        Action.REVOKE_CAMEO,
    },
    Case.Target.COMMENT: {Action.DISMISS, Action.WARN},
    Case.Target.USER: {Action.DISMISS, Action.WARN, Action.SUSPEND, Action.REVOKE_CAMEO},
    # An appeal is dismissed (the decision stands) or the decision is reversed.
    Case.Target.APPEAL: {Action.DISMISS, Action.RESTORE},
}
# Revoking a double deletes its biometric data: it cannot be undone, so seniors decide it.
SENIOR_ACTIONS = {Action.REVOKE_CAMEO}
APPEAL = (
    "You can appeal this decision once, within six months, from the notification in the app; "
    "a different moderator decides the appeal. You may also use an out-of-court dispute "
    "settlement body or the courts."
)


def _affected(case: Case) -> tuple[User, Post | None]:
    """Whom the decision is about, and the post if the case is about one."""
    if case.appeal_of is not None:
        original = case.appeal_of.case
        _, post = _affected(original)
        assert case.appeal_of.affected is not None
        return case.appeal_of.affected, post
    if case.target_kind == Case.Target.POST:
        post = Post.objects.select_related("author").get(pk=int(case.target_id))
        return post.author, post
    if case.target_kind == Case.Target.COMMENT:
        return Comment.objects.select_related("author").get(pk=int(case.target_id)).author, None
    return User.objects.get(pk=int(case.target_id)), None


def _cameo_for(case: Case, cameo_id: str | None, affected: User, post: Post | None) -> Cameo:
    """The double to revoke: one cast in the reported post, or one the reported user owns."""
    if not cameo_id:
        raise ApplicationError("cameo_required", "Name the cameo to revoke (cameo_id).", 400)
    cameos = Cameo.objects.filter(pk=cameo_id) if _uuid_like(cameo_id) else Cameo.objects.none()
    if post is not None:
        cameos = cameos.filter(appearances__video_id=post.video_id)
    else:
        cameos = cameos.filter(owner=affected)
    cameo = cameos.first()
    if cameo is None:
        raise ApplicationError(
            "cameo_not_in_case", "That cameo is not in the reported post or account.", 400
        )
    return cameo


def _uuid_like(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def automated_detection(case: Case) -> bool:
    """Whether an automated check brought the case (an automated report has no reporter)."""
    original = case.appeal_of.case if case.appeal_of is not None else case
    return original.reports.filter(reporter__isnull=True).exists()


def statement_of_reasons(
    *, case: Case, action: str, ground: str, facts: str, automated: bool
) -> dict[str, object]:
    return {
        "decision": action,
        "target": {"kind": case.target_kind, "id": case.target_id},
        "ground": ground,
        "ground_type": "terms_of_service",
        "facts": facts,
        "automated_detection": automated,
        "automated_decision": False,  # a person decided
        "reports": case.report_count,
        "how_to_appeal": APPEAL,
        "decided_at": timezone.now().isoformat(),
    }


@transaction.atomic
def case_decide(
    *,
    case: Case,
    moderator: User,
    action: str,
    ground: str,
    facts: str,
    cameo_id: str | None = None,
) -> Decision:
    """Decide a case this moderator has claimed: act, audit, tell the person affected."""
    case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("appeal_of__case")
        .get(pk=case.pk)
    )
    if case.state != Case.State.OPEN:
        raise ApplicationError("case_decided", "This case is already decided.", 409)
    lease = case.lease_until
    if case.claimed_by_id != moderator.pk or lease is None or lease < timezone.now():
        raise ApplicationError("case_not_claimed", "Claim the case before deciding it.", 409)
    if case.appeal_of is not None and case.appeal_of.moderator_id == moderator.pk:
        raise ApplicationError(
            "appeal_needs_another_moderator", "Another moderator decides this appeal.", 409
        )
    if action not in APPLICABLE[Case.Target(case.target_kind)]:
        raise ApplicationError(
            "action_not_applicable", f"A {case.target_kind} cannot be given {action!r}.", 400
        )
    if action in SENIOR_ACTIONS and not moderator.has_perm("moderation.work_senior_queue"):
        raise ApplicationError(
            "senior_moderator_only", f"Only a senior moderator may {action.replace('_', ' ')}.", 403
        )
    # A dismissal or an appeal's answer holds nothing against anyone: no rule to name.
    needs_ground = action != Action.DISMISS and case.appeal_of is None
    if needs_ground and ground not in Reason.values:
        raise ApplicationError("ground_invalid", "Name the rule that was broken.", 400)
    affected, post = _affected(case)
    reason = f"moderation:{ground}"
    if action == Action.TAKE_DOWN and post is not None:
        post_take_down(post=post, actor=moderator, reason=reason)
    elif action == Action.RESTORE and post is not None:
        _restore(post, moderator, reason)
        if case.appeal_of is not None:  # the copies that takedown removed come back too
            copies_restore(decision=case.appeal_of, moderator=moderator, reason=reason)
    elif action == Action.RESTORE and case.appeal_of is not None:
        user_reinstate(user=affected)  # an upheld appeal against a suspension
    elif action == Action.SUSPEND:
        user_suspend(user=affected)
    elif action == Action.AGE_RESTRICT and post is not None:
        post_age_restrict(post=post, restricted=True)
    elif action == Action.REVOKE_CAMEO:
        cameo_revoke(
            cameo=_cameo_for(case, cameo_id, affected, post), actor=moderator, reason=reason
        )
    elif action == Action.DISMISS and post is not None and case.appeal_of is None:
        post_hold_release(post=post)  # nothing wrong: a post a check held goes live
    statement = statement_of_reasons(
        case=case, action=action, ground=ground, facts=facts, automated=automated_detection(case)
    )
    decision = Decision.objects.create(
        case=case,
        moderator=moderator,
        action=action,
        ground=ground,
        facts=facts,
        automated=bool(statement["automated_detection"]),
        affected=affected,
        statement=statement,
    )
    copies_after_take_down(decision)  # intimate imagery, likeness: every copy, the hash list
    Case.objects.filter(pk=case.pk).update(
        state=Case.State.DECIDED, decided_at=timezone.now(), claimed_by=None, lease_until=None
    )
    # A dismissed report changes nothing for the person reported; an appeal is always answered.
    if action != Action.DISMISS or case.appeal_of is not None:
        payload = {**statement, "decision_id": decision.pk}
        notify(user=affected, kind="moderation_decision", payload=payload)
    _tell_reporters(case, decision)
    return decision


def _tell_reporters(case: Case, decision: Decision) -> None:
    """Everyone who reported it hears what was decided (the DSA asks that notifiers be told),
    without the statement meant for the person it is about."""
    reporters = User.objects.filter(
        pk__in=case.reports.filter(reporter__isnull=False).values("reporter")
    )
    target = {"kind": case.target_kind, "id": case.target_id}
    for reporter in reporters:
        payload = {"case_id": case.pk, "target": target, "decision": decision.action}
        notify(user=reporter, kind="report_outcome", payload=payload)


def _restore(post: Post, moderator: User, reason: str) -> None:
    """Undo what stands against a post: a takedown, an age restriction, or a hold."""
    if post.state == Post.State.TAKEN_DOWN:
        post_restore(post=post, actor=moderator, reason=reason)
    elif post.age_restricted:
        post_age_restrict(post=post, restricted=False)
    elif post.state == Post.State.HELD:
        post_hold_release(post=post)
    else:
        raise ApplicationError("post_not_restricted", "Nothing stands against this post.", 409)
