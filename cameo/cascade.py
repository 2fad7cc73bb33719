"""One cascade for "no": what follows when someone withdraws consent, revokes a double,
withdraws a grant or takes down an appearance. Consent records each decision (a ledger that
knows nothing above it); this module acts on it, top-down, in the decision's transaction:

    withdraw likeness/voice consent -> revoke every double of the owner, withdraw captures
    withdraw use by others          -> stop every use by others, keep the owner's own
    revoke a double                 -> cancel its jobs, take down its appearances,
                                       purge its biometrics once the revocation commits
    withdraw a grant                -> cancel that grantee's jobs that cast the double
    take down an appearance         -> the video, and its post through feeds.post_take_down
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from cameo.models import Biometrics, Cameo, Capture
from consent import services as consent
from consent.models import Appearance, ConsentEvent, Grant
from feeds.models import Post
from feeds.services import post_take_down
from jobs.models import Job
from jobs.services import job_cancel
from media.services import video_take_down
from media.storage import storage_delete_prefix

PENDING_JOB_STATES = (Job.State.QUEUED, Job.State.RUNNING)


# --- Consent withdrawn ------------------------------------------------------------------------
@transaction.atomic
def consent_withdraw(*, user: User, kind: str) -> dict[str, int]:
    """One call with observable consequences.

    Withdrawing likeness or voice capture revokes the double: pending jobs that use it are
    cancelled, videos that feature it are taken down and its biometric data is deleted.
    Withdrawing use by others keeps the double for its owner and stops everyone else.
    """
    consent.consent_withdrawal_record(user=user, kind=kind)
    if kind in consent.CAPTURE_KINDS:
        return doubles_revoke_for_owner(owner=user, reason="consent_withdrawn")
    return doubles_stop_others(owner=user, reason="consent_withdrawn")


@transaction.atomic
def doubles_revoke_for_owner(*, owner: User, reason: str) -> dict[str, int]:
    totals = {"cameos_revoked": 0, "jobs_cancelled": 0, "videos_taken_down": 0}
    for cameo in Cameo.objects.filter(owner=owner, state=Cameo.State.ACTIVE):
        for key, value in cameo_revoke(cameo=cameo, actor=owner, reason=reason).items():
            totals[key] += value
    pending = Capture.objects.filter(
        owner=owner, state__in=[Capture.State.AWAITING_CLIP, Capture.State.VERIFYING]
    )
    for capture in pending.select_related("job"):
        if capture.job is not None and capture.job.state in PENDING_JOB_STATES:
            job_cancel(job=capture.job)
            totals["jobs_cancelled"] += 1
        transaction.on_commit(partial(storage_delete_prefix, capture.prefix))
    totals["captures_withdrawn"] = pending.update(state=Capture.State.WITHDRAWN)
    return totals


@transaction.atomic
def doubles_stop_others(*, owner: User, reason: str) -> dict[str, int]:
    totals = {"jobs_cancelled": 0, "videos_taken_down": 0}
    for cameo in Cameo.objects.filter(owner=owner, state=Cameo.State.ACTIVE):
        totals["jobs_cancelled"] += jobs_cancel_for_cameo(
            cameo=cameo, reason=reason, exclude_owner=True
        )
        totals["videos_taken_down"] += appearances_take_down(
            cameo=cameo, actor=owner, reason=reason, exclude_owner=True
        )
    return totals


# --- A double revoked -------------------------------------------------------------------------
@transaction.atomic
def cameo_revoke(
    *, cameo: Cameo, actor: User | None, reason: str, take_down: bool = True
) -> dict[str, int]:
    """Stop every use of the double now and delete its biometric data after commit."""
    # Cancelling in the same transaction means no render can start after the owner said no.
    Cameo.objects.filter(pk=cameo.pk).update(
        state=Cameo.State.REVOKED, revoked_at=timezone.now(), revoke_reason=reason
    )
    cameo.state = Cameo.State.REVOKED
    jobs = jobs_cancel_for_cameo(cameo=cameo, reason=reason)
    videos = appearances_take_down(cameo=cameo, actor=actor, reason=reason) if take_down else 0
    cameo_id = cameo.pk
    transaction.on_commit(lambda: biometrics_purge(cameo_id=cameo_id, reason=reason))
    return {"cameos_revoked": 1, "jobs_cancelled": jobs, "videos_taken_down": videos}


def jobs_cancel_for_cameo(
    *, cameo: Cameo, reason: str, used_by: User | None = None, exclude_owner: bool = False
) -> int:
    """Cancel every pending job that casts the double (optionally only one user's)."""
    appearances = Appearance.objects.filter(cameo=cameo, job__state__in=PENDING_JOB_STATES)
    if used_by is not None:
        appearances = appearances.filter(used_by=used_by)
    if exclude_owner:
        appearances = appearances.exclude(used_by_id=cameo.owner_id)
    count = 0
    for appearance in appearances.select_related("job"):
        assert appearance.job is not None  # filtered on its state above
        job_cancel(job=appearance.job)
        consent.event(
            ConsentEvent.Kind.JOB_CANCELLED,
            subject=cameo.owner,
            cameo=cameo,
            job=str(appearance.job_id),
            reason=reason,
        )
        count += 1
    return count


def appearances_take_down(
    *, cameo: Cameo, actor: User | None, reason: str, exclude_owner: bool = False
) -> int:
    """Take down every appearance of the double; the number of videos that went with them."""
    appearances = Appearance.objects.filter(cameo=cameo, taken_down_at__isnull=True)
    if exclude_owner:
        appearances = appearances.exclude(used_by_id=cameo.owner_id)
    count = 0
    for appearance in appearances:
        appearance_take_down(appearance=appearance, actor=actor, reason=reason)
        count += 1 if appearance.video_id else 0
    return count


def biometrics_purge(*, cameo_id: Any, reason: str) -> int:
    """Delete the double's biometric row and every file under its capture's prefix."""
    cameo = Cameo.objects.select_related("capture").get(pk=cameo_id)
    deleted = storage_delete_prefix(cameo.capture.prefix)
    Biometrics.objects.filter(cameo_id=cameo_id).delete()
    consent.event(
        ConsentEvent.Kind.BIOMETRICS_DELETED,
        subject=cameo.owner,
        cameo=cameo,
        files=deleted,
        reason=reason,
    )
    return deleted


def doubles_purge_unused(*, now: datetime | None = None) -> int:
    """Retention: revoke doubles unused for CAMEO_RETENTION_DAYS (default three years)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.CAMEO_RETENTION_DAYS)
    stale = Cameo.objects.annotate(used=Coalesce("last_used_at", "created_at")).filter(
        used__lt=cutoff, state=Cameo.State.ACTIVE
    )
    count = 0
    for cameo in stale:
        cameo_revoke(cameo=cameo, actor=None, reason="retention", take_down=False)
        count += 1
    return count


# --- A grant withdrawn, an appearance taken down ----------------------------------------------
@transaction.atomic
def grant_revoke(*, grant: Grant, actor: User) -> Grant:
    grant = consent.grant_revoke(grant=grant, actor=actor)
    jobs_cancel_for_cameo(cameo=grant.cameo, used_by=grant.grantee, reason="grant_revoked")
    return grant


@transaction.atomic
def appearance_take_down(*, appearance: Appearance, actor: User | None, reason: str) -> Appearance:
    """The video the double appears in comes down, and its post with it, from every feed."""
    appearance = consent.appearance_mark_taken_down(
        appearance=appearance, actor=actor, reason=reason
    )
    if appearance.video_id:
        post = Post.objects.filter(video_id=appearance.video_id).first()
        if post is not None:
            post_take_down(post=post, actor=actor, reason=reason)
        else:
            video_take_down(video_id=appearance.video_id, reason=reason)
    return appearance
