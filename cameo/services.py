"""Writes on captures and doubles: start, verify, permissions, revoke, purge, retention."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from cameo.models import Biometrics, Cameo, Capture
from config.api import ApiError
from consent import services as consent
from consent.models import Appearance, ConsentEvent
from jobs.models import Job
from jobs.services import job_cancel, job_submit
from media import intake
from media.storage import storage_delete_prefix

logger = logging.getLogger(__name__)

# The app shows the digits between these offsets of the recording; speech must fall there.
DIGITS_SHOWN_AT = 1.0
DIGITS_HIDDEN_AT = 5.0
CLIP_MIN_SECONDS = 3.0
CLIP_MAX_SECONDS = 20.0
PENDING_JOB_STATES = (Job.State.QUEUED, Job.State.RUNNING)


def _challenge() -> dict[str, Any]:
    digits = "".join(secrets.choice("0123456789") for _ in range(4))
    turn = secrets.choice(["left", "right"])
    return {
        "digits": digits,
        "turn": turn,
        "digits_shown_at": DIGITS_SHOWN_AT,
        "digits_hidden_at": DIGITS_HIDDEN_AT,
        "prompt": f"Look at the camera, read {' '.join(digits)} aloud when it appears, "
        f"then turn your head slowly to the {turn} and back.",
    }


@transaction.atomic
def capture_start(*, owner: User) -> Capture:
    consent.require_consent(owner, *consent.CAPTURE_KINDS)
    capture = Capture.objects.create(
        owner=owner,
        challenge=_challenge(),
        expires_at=timezone.now() + timedelta(seconds=settings.CAMEO_CHALLENGE_SECONDS),
    )
    consent.event(
        ConsentEvent.Kind.CAPTURE_STARTED, subject=owner, actor=owner, capture=str(capture.id)
    )
    return capture


def _check_clip(uploaded: UploadedFile) -> dict[str, Any]:
    if uploaded.size is None or uploaded.size > settings.UPLOAD_MAX_BYTES:
        raise ApiError("upload_too_large", "The clip is too large.", 413)
    if uploaded.size == 0:
        raise ApiError("upload_empty", "The clip is empty.", 400)
    with intake.on_disk(uploaded) as path:
        media = intake.media_check(path, "video")
    if not media.has_audio:
        raise ApiError("capture_needs_audio", "The clip must carry your voice.", 422)
    if media.duration_s < CLIP_MIN_SECONDS:
        raise ApiError("capture_too_short", f"Record at least {CLIP_MIN_SECONDS:.0f} s.", 422)
    if media.duration_s > CLIP_MAX_SECONDS:
        raise ApiError("capture_too_long", f"Record at most {CLIP_MAX_SECONDS:.0f} s.", 422)
    return media.as_dict()


def capture_attach_clip(*, capture: Capture, uploaded: UploadedFile) -> Capture:
    """Store the clip under the biometric prefix and queue its verification."""
    if capture.state != Capture.State.AWAITING_CLIP:
        raise ApiError("capture_not_awaiting_clip", f"This capture is {capture.state}.", 409)
    if capture.expires_at < timezone.now():
        Capture.objects.filter(pk=capture.pk).update(state=Capture.State.EXPIRED)
        raise ApiError("challenge_expired", "The challenge expired; start a new capture.", 410)
    consent.require_consent(capture.owner, *consent.CAPTURE_KINDS)
    probe = _check_clip(uploaded)
    uploaded.seek(0)
    name = default_storage.save(
        f"{capture.prefix}/clip.{intake.EXTENSIONS[probe['family']]}", uploaded
    )
    try:
        with transaction.atomic():
            claimed = Capture.objects.filter(
                pk=capture.pk, state=Capture.State.AWAITING_CLIP
            ).update(state=Capture.State.VERIFYING, clip=name, clip_probe=probe)
            if not claimed:
                raise ApiError("capture_not_awaiting_clip", "This capture has a clip already.", 409)
            job, _ = job_submit(
                owner=capture.owner, kind="cameo.verify", params={"capture_id": str(capture.id)}
            )
            Capture.objects.filter(pk=capture.pk).update(job=job)
    except Exception:
        default_storage.delete(name)
        raise
    capture.refresh_from_db()
    return capture


@transaction.atomic
def capture_reject(*, capture_id: Any, code: str, message: str) -> None:
    """A clip that failed verification is of no further use: its biometric files go."""
    capture = Capture.objects.select_for_update().get(pk=capture_id)
    if capture.state != Capture.State.VERIFYING:
        return
    capture.state, capture.reject_code, capture.reject_message = (
        Capture.State.REJECTED,
        code,
        message[:2000],
    )
    capture.save(update_fields=["state", "reject_code", "reject_message"])
    consent.event(
        ConsentEvent.Kind.CAMEO_REJECTED, subject=capture.owner, capture=str(capture.id), code=code
    )
    prefix = capture.prefix
    transaction.on_commit(lambda: storage_delete_prefix(prefix))


def _encode_png(data: bytes, name: str, prefix: str) -> str:
    return default_storage.save(f"{prefix}/{name}", ContentFile(data))


@transaction.atomic
def capture_accept(*, capture_id: Any, result: Any) -> Cameo:
    """Turn a verified capture into the owner's double (replacing an earlier one)."""
    capture = Capture.objects.select_for_update().get(pk=capture_id)
    if capture.state != Capture.State.VERIFYING:
        raise ApiError("capture_not_verifying", f"The capture is {capture.state}.", 409)
    crops = [
        _encode_png(png, f"face_{i}.png", capture.prefix) for i, png in enumerate(result.face_crops)
    ]
    cutout = _encode_png(result.cutout_png, "cutout.png", capture.prefix)
    for earlier in Cameo.objects.filter(owner=capture.owner, state=Cameo.State.ACTIVE):
        cameo_revoke(cameo=earlier, actor=capture.owner, reason="replaced", take_down=False)
    models_used = {
        "detector": result.detector_model,
        "embedding": result.embedding_model,
        "cutout": result.cutout_model,
        "voice": result.voice_model,
    }
    cameo = Cameo.objects.create(owner=capture.owner, capture=capture, models_used=models_used)
    Biometrics.objects.create(
        cameo=cameo,
        face_embedding=result.embedding.astype("float32").tobytes(),
        embedding_model=result.embedding_model,
        voice_embedding=result.voice.embedding.astype("float32").tobytes(),
        voice_pitch={
            "median_hz": result.voice.pitch_hz_median,
            "p10_hz": result.voice.pitch_hz_p10,
            "p90_hz": result.voice.pitch_hz_p90,
            "speech_seconds": result.voice.speech_seconds,
        },
        face_crops=crops,
        cutout=cutout,
        clip=capture.clip,
        metadata=result.metadata,
    )
    capture.state = Capture.State.VERIFIED
    capture.save(update_fields=["state"])
    consent.event(
        ConsentEvent.Kind.CAMEO_VERIFIED, subject=capture.owner, cameo=cameo, models=models_used
    )
    return cameo


# --- The owner's controls ---------------------------------------------------------------------
@transaction.atomic
def cameo_update(
    *, cameo: Cameo, actor: User, audience: str | None = None, instructions: str | None = None
) -> Cameo:
    if not cameo.is_active:
        raise ApiError("cameo_revoked", "This cameo was revoked.", 409)
    if audience is not None and audience != cameo.audience:
        consent.event(
            ConsentEvent.Kind.AUDIENCE_CHANGED,
            subject=cameo.owner,
            actor=actor,
            cameo=cameo,
            before=cameo.audience,
            after=audience,
        )
        cameo.audience = audience
    if instructions is not None and instructions != cameo.instructions:
        consent.event(
            ConsentEvent.Kind.INSTRUCTIONS_CHANGED,
            subject=cameo.owner,
            actor=actor,
            cameo=cameo,
            instructions=instructions,
        )
        cameo.instructions = instructions
    cameo.save(update_fields=["audience", "instructions"])
    return cameo


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


def _take_down_videos(
    *, cameo: Cameo, actor: User | None, reason: str, exclude_owner: bool = False
) -> int:
    appearances = Appearance.objects.filter(cameo=cameo, taken_down_at__isnull=True)
    if exclude_owner:
        appearances = appearances.exclude(used_by_id=cameo.owner_id)
    count = 0
    for appearance in appearances:
        consent.appearance_take_down(appearance=appearance, actor=actor, reason=reason)
        count += 1 if appearance.video_id else 0
    return count


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
    videos = _take_down_videos(cameo=cameo, actor=actor, reason=reason) if take_down else 0
    cameo_id = cameo.pk
    transaction.on_commit(lambda: biometrics_purge(cameo_id=cameo_id, reason=reason))
    return {"cameos_revoked": 1, "jobs_cancelled": jobs, "videos_taken_down": videos}


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
        prefix = capture.prefix
        transaction.on_commit(lambda prefix=prefix: storage_delete_prefix(prefix))
    totals["captures_withdrawn"] = pending.update(state=Capture.State.WITHDRAWN)
    return totals


@transaction.atomic
def doubles_stop_others(*, owner: User, reason: str) -> dict[str, int]:
    totals = {"jobs_cancelled": 0, "videos_taken_down": 0}
    for cameo in Cameo.objects.filter(owner=owner, state=Cameo.State.ACTIVE):
        totals["jobs_cancelled"] += jobs_cancel_for_cameo(
            cameo=cameo, reason=reason, exclude_owner=True
        )
        totals["videos_taken_down"] += _take_down_videos(
            cameo=cameo, actor=owner, reason=reason, exclude_owner=True
        )
    return totals


def doubles_purge_unused(*, now: Any = None) -> int:
    """Retention: delete doubles unused for CAMEO_RETENTION_DAYS (default three years)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.CAMEO_RETENTION_DAYS)
    stale = Cameo.objects.annotate(used=Coalesce("last_used_at", "created_at")).filter(
        Q(used__lt=cutoff), state=Cameo.State.ACTIVE
    )
    count = 0
    for cameo in stale:
        cameo_revoke(cameo=cameo, actor=None, reason="retention", take_down=False)
        count += 1
    return count
