"""Writes on consent: acceptances, withdrawal, grants, cast authorisation, appearances.

Every decision writes its ConsentEvent in the same transaction as the change. Consent is a
ledger: it records and answers, and imports no app above it. What a "no" sets in motion
(revoking doubles, cancelling jobs, taking videos down) is cameo.cascade's.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.db import transaction
from django.utils import timezone

from accounts.models import User, are_mutuals
from config.errors import ApplicationError
from consent.models import Appearance, ConsentAcceptance, ConsentDocument, ConsentEvent, Grant

Kind = ConsentDocument.Kind
CAPTURE_KINDS = (Kind.LIKENESS_CAPTURE, Kind.VOICE_CAPTURE)


def event(
    kind: str, *, subject: User, actor: User | None = None, cameo: Any = None, **detail: Any
) -> ConsentEvent:
    return ConsentEvent.objects.create(
        kind=kind, subject=subject, actor=actor, cameo=cameo, detail=detail
    )


def current_document(kind: str) -> ConsentDocument:
    document = ConsentDocument.objects.filter(kind=kind).order_by("-version").first()
    if document is None:
        raise ApplicationError(
            "consent_document_missing", f"No {kind} consent document is published.", 503
        )
    return document


def has_consent(user: User, kind: str) -> bool:
    """True while the user has accepted the current version of `kind` and not withdrawn it."""
    document = ConsentDocument.objects.filter(kind=kind).order_by("-version").first()
    return (
        document is not None
        and ConsentAcceptance.objects.filter(
            user=user, document=document, withdrawn_at__isnull=True
        ).exists()
    )


def require_consent(user: User, *kinds: str) -> None:
    missing = [kind for kind in kinds if not has_consent(user, kind)]
    if missing:
        raise ApplicationError(
            "consent_required",
            f"Accept the current consent for {', '.join(missing)} first.",
            403,
            missing=missing,
        )


@transaction.atomic
def consent_accept(*, user: User, document: ConsentDocument, client: dict) -> ConsentAcceptance:
    latest = current_document(document.kind)
    if latest.pk != document.pk:
        raise ApplicationError(
            "consent_document_outdated",
            f"Version {document.version} is outdated; accept version {latest.version}.",
            409,
        )
    existing = ConsentAcceptance.objects.filter(
        user=user, document=document, withdrawn_at__isnull=True
    ).first()
    if existing is not None:
        return existing
    acceptance = ConsentAcceptance.objects.create(user=user, document=document, client=client)
    event(
        ConsentEvent.Kind.CONSENT_ACCEPTED,
        subject=user,
        actor=user,
        document=document.kind,
        version=document.version,
        client=client,
    )
    return acceptance


@transaction.atomic
def consent_withdrawal_record(*, user: User, kind: str) -> None:
    """Record that `user` withdrew `kind`. What follows from it is cameo.cascade's."""
    updated = ConsentAcceptance.objects.filter(
        user=user, document__kind=kind, withdrawn_at__isnull=True
    ).update(withdrawn_at=timezone.now())
    if not updated:
        raise ApplicationError("consent_not_given", f"There is no {kind} consent to withdraw.", 409)
    event(ConsentEvent.Kind.CONSENT_WITHDRAWN, subject=user, actor=user, document=kind)


# --- Grants -----------------------------------------------------------------------------------
@transaction.atomic
def grant_request(*, cameo: Any, grantee: User, note: str = "") -> Grant:
    if cameo.owner_id == grantee.pk:
        raise ApplicationError(
            "grant_self", "You do not need permission to use your own cameo.", 400
        )
    grant, created = Grant.objects.get_or_create(
        cameo=cameo, grantee=grantee, defaults={"note": note}
    )
    if not created:
        if grant.state in (Grant.State.APPROVED, Grant.State.REQUESTED):
            return grant
        # A denied or revoked grant can be asked for again; the owner decides anew.
        grant.state, grant.note, grant.decided_at = Grant.State.REQUESTED, note, None
        grant.save(update_fields=["state", "note", "decided_at"])
    event(
        ConsentEvent.Kind.GRANT_REQUESTED,
        subject=cameo.owner,
        actor=grantee,
        cameo=cameo,
        grantee=grantee.username,
    )
    return grant


@transaction.atomic
def grant_decide(*, grant: Grant, actor: User, approve: bool) -> Grant:
    if grant.state != Grant.State.REQUESTED:
        raise ApplicationError("grant_not_pending", f"This request is already {grant.state}.", 409)
    grant.state = Grant.State.APPROVED if approve else Grant.State.DENIED
    grant.decided_at = timezone.now()
    grant.save(update_fields=["state", "decided_at"])
    kind = ConsentEvent.Kind.GRANT_APPROVED if approve else ConsentEvent.Kind.GRANT_DENIED
    event(
        kind,
        subject=grant.cameo.owner,
        actor=actor,
        cameo=grant.cameo,
        grantee=grant.grantee.username,
    )
    return grant


@transaction.atomic
def grant_revoke(*, grant: Grant, actor: User) -> Grant:
    if grant.state != Grant.State.APPROVED:
        raise ApplicationError(
            "grant_not_approved", "Only an approved grant can be withdrawn.", 409
        )
    grant.state, grant.decided_at = Grant.State.REVOKED, timezone.now()
    grant.save(update_fields=["state", "decided_at"])
    event(
        ConsentEvent.Kind.GRANT_REVOKED,
        subject=grant.cameo.owner,
        actor=actor,
        cameo=grant.cameo,
        grantee=grant.grantee.username,
    )
    return grant


# --- Casting ----------------------------------------------------------------------------------
def _basis(cameo: Any, user: User) -> tuple[str, Grant | None] | None:
    """Why `user` may cast `cameo`, or None if they may not."""
    if cameo.owner_id == user.pk:
        return "owner", None
    if not has_consent(cameo.owner, Kind.USE_BY_OTHERS):
        return None
    grant = Grant.objects.filter(cameo=cameo, grantee=user, state=Grant.State.APPROVED).first()
    audience = cameo.audience
    if audience == "everyone":
        return "everyone", grant
    if audience == "mutuals" and are_mutuals(cameo.owner_id, user.pk):
        return "mutuals", grant
    if audience in ("approved", "mutuals") and grant is not None:
        return "approved", grant
    return None


def _refuse(cameo: Any, user: User, stage: str, reason: str, code: str, message: str) -> NoReturn:
    """Audit a refused cast, then refuse it."""
    event(
        ConsentEvent.Kind.CAST_REFUSED,
        subject=cameo.owner,
        actor=user,
        cameo=cameo,
        stage=stage,
        reason=reason,
    )
    raise ApplicationError(code, message, 403)


def cast_authorize(*, cameo: Any, user: User, stage: str, job: Any = None) -> dict[str, Any]:
    """Check that `user` may cast `cameo` now, and return the receipt of that permission.

    Called at submission and again inside the job just before rendering. Not atomic on
    purpose: a refusal is audited even though the refusal then raises.
    """
    if not cameo.is_active:
        _refuse(
            cameo, user, stage, "revoked", "cameo_revoked", "This cameo was revoked by its owner."
        )
    basis = _basis(cameo, user)
    if basis is None:
        _refuse(
            cameo,
            user,
            stage,
            "not_permitted",
            "cameo_not_permitted",
            "You may not use this cameo.",
        )
    reason, grant = basis
    receipt = {
        "cameo": str(cameo.id),
        "owner": cameo.owner.username,
        "used_by": user.username,
        "audience": cameo.audience,
        "basis": reason,
        "grant": grant.pk if grant else None,
        "instructions": cameo.instructions,
        "checked_at": timezone.now().isoformat(),
        "stage": stage,
        "job": str(job.id) if job is not None else None,
    }
    event(
        ConsentEvent.Kind.CAST_AUTHORIZED,
        subject=cameo.owner,
        actor=user,
        cameo=cameo,
        receipt=receipt,
    )
    return receipt


@transaction.atomic
def appearance_record(*, cameo: Any, user: User, job: Any, receipt: dict[str, Any]) -> Appearance:
    """A use of the double, visible to its owner from the moment a job is submitted."""
    return Appearance.objects.create(cameo=cameo, used_by=user, job=job, receipt=receipt)


@transaction.atomic
def appearance_mark_taken_down(
    *, appearance: Appearance, actor: User | None, reason: str
) -> Appearance:
    """Record the takedown of a use of the double (the video goes: cameo.cascade)."""
    if appearance.taken_down_at is None:
        appearance.taken_down_at = timezone.now()
        appearance.save(update_fields=["taken_down_at"])
    event(
        ConsentEvent.Kind.APPEARANCE_TAKEN_DOWN,
        subject=appearance.cameo.owner,
        actor=actor,
        cameo=appearance.cameo,
        appearance=appearance.pk,
        video=str(appearance.video_id) if appearance.video_id else None,
        reason=reason,
    )
    return appearance
