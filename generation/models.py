from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

# Kinds whose work needs a GPU when one is present; everything else runs on "default".
GPU_KINDS = frozenset({"cameo.verify", "generation.render", "remix.render"})


def upload_path(instance: Upload, filename: str) -> str:
    # The stored name never uses the client's filename: it is only a hint, and may lie.
    return f"uploads/{instance.owner_id}/{instance.id.hex}.{instance.extension}"


class Upload(models.Model):
    class Kind(models.TextChoices):
        VIDEO = "video"
        IMAGE = "image"
        AUDIO = "audio"

    class State(models.TextChoices):
        PENDING = "pending"  # presigned: waiting for the client to put the bytes in storage
        READY = "ready"
        REJECTED = "rejected"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="uploads"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.READY)
    file = models.FileField(upload_to=upload_path, max_length=300, blank=True)
    extension = models.CharField(max_length=8, default="bin")
    bytes = models.BigIntegerField(default=0)
    probe = models.JSONField(default=dict, blank=True)
    reject_code = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["owner", "-created_at"])]


class Job(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    TERMINAL = (State.SUCCEEDED, State.FAILED, State.CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=40)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="jobs"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    stage = models.CharField(max_length=40, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)
    idempotency_key = models.CharField(max_length=80, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    params = models.JSONField(default=dict)
    result = models.JSONField(default=dict, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["owner", "-created_at"]),
            models.Index(fields=["state", "lease_until"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "kind", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="job_idempotency_key_unique",
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="job_progress_max_100"),
        ]

    @property
    def queue(self) -> str:
        return "gpu" if self.kind in GPU_KINDS else "default"

    @property
    def is_terminal(self) -> bool:
        return self.state in self.TERMINAL


class Video(models.Model):
    """A finished video made here: a draft until its owner publishes it through feeds.

    Takedown hides it everywhere at once and keeps the files (for appeal and audit);
    withdrawal of a cast double's consent takes down every video that features it.
    """

    class State(models.TextChoices):
        DRAFT = "draft"
        PUBLISHED = "published"
        TAKEN_DOWN = "taken_down"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="videos"
    )
    job = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="videos"
    )
    state = models.CharField(max_length=12, choices=State.choices, default=State.DRAFT)
    file = models.CharField(max_length=300, blank=True)  # storage name of the MP4
    poster = models.CharField(max_length=300, blank=True)
    preview = models.CharField(max_length=300, blank=True)
    subtitles = models.CharField(max_length=300, blank=True)  # WebVTT
    provenance = models.CharField(max_length=300, blank=True)  # signed sidecar, if not embedded
    provenance_backend = models.CharField(max_length=40, blank=True)
    manifest = models.JSONField(default=dict, blank=True)
    fingerprint = models.JSONField(default=dict, blank=True)
    storyboard = models.JSONField(default=dict, blank=True)
    prompt = models.TextField(blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    duration_s = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    taken_down_at = models.DateTimeField(null=True, blank=True)
    takedown_reason = models.CharField(max_length=60, blank=True)


class StageCost(models.Model):
    """Measured seconds per output frame of each pipeline stage, for time estimates."""

    stage = models.CharField(max_length=40, unique=True)
    seconds_per_frame = models.FloatField()
    samples = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)
