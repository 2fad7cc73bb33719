"""Captures, verified doubles, and their biometric data (kept in its own table and prefix)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

BIOMETRICS_PREFIX = "biometrics"


def biometrics_prefix(owner_id: int, capture_id: uuid.UUID) -> str:
    """Everything biometric about one capture lives under this storage prefix, nowhere else."""
    return f"{BIOMETRICS_PREFIX}/{owner_id}/{capture_id.hex}"


class Capture(models.Model):
    class State(models.TextChoices):
        AWAITING_CLIP = "awaiting_clip"
        VERIFYING = "verifying"
        VERIFIED = "verified"
        REJECTED = "rejected"
        EXPIRED = "expired"
        WITHDRAWN = "withdrawn"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="captures"
    )
    state = models.CharField(max_length=14, choices=State.choices, default=State.AWAITING_CLIP)
    challenge = models.JSONField()
    expires_at = models.DateTimeField()
    clip = models.CharField(max_length=300, blank=True)  # storage name, under the biometric prefix
    clip_probe = models.JSONField(default=dict, blank=True)
    clip_mirrored = models.BooleanField(default=False)  # stored as the app's preview showed it
    job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reject_code = models.CharField(max_length=40, blank=True)
    reject_message = models.TextField(blank=True)
    reject_hint = models.CharField(max_length=40, blank=True)  # what to do differently, for apps
    created_at = models.DateTimeField(auto_now_add=True)

    @property
    def prefix(self) -> str:
        return biometrics_prefix(self.owner_id, self.id)


class Cameo(models.Model):
    class State(models.TextChoices):
        ACTIVE = "active"
        REVOKED = "revoked"

    class Audience(models.TextChoices):
        ONLY_ME = "only_me"
        APPROVED = "approved"  # people I approve
        MUTUALS = "mutuals"
        EVERYONE = "everyone"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cameos"
    )
    capture = models.OneToOneField(Capture, on_delete=models.PROTECT, related_name="cameo")
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    audience = models.CharField(max_length=10, choices=Audience.choices, default=Audience.ONLY_ME)
    # The owner's words on how the double may be portrayed; generation must receive them.
    instructions = models.TextField(blank=True, max_length=500)
    models_used = models.JSONField(default=dict)  # which detector/embedder/segmenter/voice ran
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=40, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["owner"], condition=Q(state="active"), name="one_active_cameo_per_owner"
            )
        ]

    @property
    def is_active(self) -> bool:
        return self.state == self.State.ACTIVE


class Biometrics(models.Model):
    """The double's biometric data. Withdrawal deletes this row and every file it names."""

    cameo = models.OneToOneField(Cameo, on_delete=models.CASCADE, related_name="biometrics")
    face_embedding = models.BinaryField()  # float32, L2-normalised
    embedding_model = models.CharField(max_length=80)
    voice_embedding = models.BinaryField()  # float32, L2-normalised
    voice_pitch = models.JSONField(default=dict)  # median / p10 / p90 Hz, speech seconds
    face_crops = models.JSONField(default=list)  # storage names
    cutout = models.CharField(max_length=300)  # storage name of the RGBA person cutout
    clip = models.CharField(max_length=300)  # storage name of the capture clip
    metadata = models.JSONField(default=dict)

    class Meta:
        indexes = [models.Index(fields=["embedding_model"])]

    def files(self) -> list[str]:
        return [*self.face_crops, self.cutout, self.clip]
