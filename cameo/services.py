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
from django.utils import timezone

from accounts.models import User
from cameo import cascade
from cameo.models import Biometrics, Cameo, Capture
from config.errors import ApplicationError
from consent import services as consent
from consent.models import Appearance, ConsentEvent
from jobs.models import Job
from jobs.services import job_submit
from media import intake
from media.storage import storage_delete_prefix

logger = logging.getLogger(__name__)

CLIP_MIN_SECONDS = 3.0
CLIP_MAX_SECONDS = 20.0
PENDING_JOB_STATES = (Job.State.QUEUED, Job.State.RUNNING)


def _challenge() -> dict[str, Any]:
    """What the app plays while recording (contract.random_challenge), as the API returns it."""
    from cameo.biometrics import contract

    challenge = contract.random_challenge(secrets.choice)
    sides = ", then ".join(f"your {t.direction}" for t in challenge.turns)
    return {
        "digits": challenge.digits,
        "digits_shown_at": challenge.digits_shown_at,
        "digits_hidden_at": challenge.digits_hidden_at,
        "turns": [
            {"direction": t.direction, "from_s": t.from_s, "to_s": t.to_s} for t in challenge.turns
        ],
        "record_seconds": contract.record_seconds(challenge),
        "prompt": f"Look at the camera and read {' '.join(challenge.digits)} aloud while it is "
        f"shown. Then turn your head to {sides} while each arrow shows, and back.",
    }


def challenge_for_verifier(capture: Capture) -> Any:
    """The capture's challenge as the verifier checks it: what the app was told to show."""
    from cameo.biometrics import Challenge, Turn

    stored = capture.challenge
    if "turns" in stored:
        turns = tuple(Turn(t["direction"], t["from_s"], t["to_s"]) for t in stored["turns"])
    else:  # made before timed turns: one turn, any time
        turns = (Turn(stored["turn"]),)
    return Challenge(
        digits=stored["digits"],
        digits_shown_at=stored["digits_shown_at"],
        digits_hidden_at=stored["digits_hidden_at"],
        turns=turns,
        mirrored=capture.clip_mirrored,
    )


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
        raise ApplicationError("upload_too_large", "The clip is too large.", 413)
    if uploaded.size == 0:
        raise ApplicationError("upload_empty", "The clip is empty.", 400)
    with intake.on_disk(uploaded) as path:
        media = intake.media_check(path, "video")
    if not media.has_audio:
        raise ApplicationError("capture_needs_audio", "The clip must carry your voice.", 422)
    if media.duration_s < CLIP_MIN_SECONDS:
        raise ApplicationError(
            "capture_too_short", f"Record at least {CLIP_MIN_SECONDS:.0f} s.", 422
        )
    if media.duration_s > CLIP_MAX_SECONDS:
        raise ApplicationError("capture_too_long", f"Record at most {CLIP_MAX_SECONDS:.0f} s.", 422)
    return media.as_dict()


def capture_attach_clip(
    *, capture: Capture, uploaded: UploadedFile, mirrored: bool = False
) -> Capture:
    """Store the clip under the biometric prefix and queue its verification. `mirrored`: the
    app stored the frames as its preview showed them (the user's left on the image's left)."""
    if capture.state != Capture.State.AWAITING_CLIP:
        raise ApplicationError(
            "capture_not_awaiting_clip", f"This capture is {capture.state}.", 409
        )
    if capture.expires_at < timezone.now():
        Capture.objects.filter(pk=capture.pk).update(state=Capture.State.EXPIRED)
        raise ApplicationError(
            "challenge_expired", "The challenge expired; start a new capture.", 410
        )
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
            ).update(
                state=Capture.State.VERIFYING, clip=name, clip_probe=probe, clip_mirrored=mirrored
            )
            if not claimed:
                raise ApplicationError(
                    "capture_not_awaiting_clip", "This capture has a clip already.", 409
                )
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
def capture_reject(*, capture_id: Any, code: str, message: str, hint: str = "") -> None:
    """A clip that failed verification is of no further use: its biometric files go."""
    capture = Capture.objects.select_for_update().get(pk=capture_id)
    if capture.state != Capture.State.VERIFYING:
        return
    capture.state, capture.reject_code, capture.reject_message, capture.reject_hint = (
        Capture.State.REJECTED,
        code,
        message[:2000],
        hint[:40],
    )
    capture.save(update_fields=["state", "reject_code", "reject_message", "reject_hint"])
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
        raise ApplicationError("capture_not_verifying", f"The capture is {capture.state}.", 409)
    crops = [
        _encode_png(png, f"face_{i}.png", capture.prefix) for i, png in enumerate(result.face_crops)
    ]
    cutout = _encode_png(result.cutout_png, "cutout.png", capture.prefix)
    for earlier in Cameo.objects.filter(owner=capture.owner, state=Cameo.State.ACTIVE):
        cascade.cameo_revoke(cameo=earlier, actor=capture.owner, reason="replaced", take_down=False)
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
        raise ApplicationError("cameo_revoked", "This cameo was revoked.", 409)
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


def appearance_record(*, cameo: Cameo, user: User, job: Job, receipt: dict[str, Any]) -> Appearance:
    """A use of the double: on the owner's list from the moment the job is submitted."""
    Cameo.objects.filter(pk=cameo.pk).update(last_used_at=timezone.now())
    return consent.appearance_record(cameo=cameo, user=user, job=job, receipt=receipt)
