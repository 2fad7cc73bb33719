"""Who may use whose likeness: consent documents and acceptances, grants, appearances and the
append-only audit log."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


class ConsentDocument(models.Model):
    class Kind(models.TextChoices):
        LIKENESS_CAPTURE = "likeness_capture"
        VOICE_CAPTURE = "voice_capture"
        USE_BY_OTHERS = "use_by_others"

    kind = models.CharField(max_length=30, choices=Kind.choices)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField()
    published_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "version"], name="consent_document_version")
        ]
        ordering = ["kind", "-version"]


class ConsentAcceptance(models.Model):
    """One user's explicit acceptance of one version of a document, until withdrawn."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consents"
    )
    document = models.ForeignKey(ConsentDocument, on_delete=models.PROTECT)
    accepted_at = models.DateTimeField(auto_now_add=True)
    client = models.JSONField(default=dict)  # ip, user agent, app version, locale
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "document"])]


class Grant(models.Model):
    """Permission for one other user to cast a double, asked for and decided by its owner."""

    class State(models.TextChoices):
        REQUESTED = "requested"
        APPROVED = "approved"
        DENIED = "denied"
        REVOKED = "revoked"

    cameo = models.ForeignKey("cameo.Cameo", on_delete=models.CASCADE, related_name="grants")
    grantee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cameo_grants"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.REQUESTED)
    note = models.CharField(max_length=300, blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cameo", "grantee"], name="one_grant_per_grantee")
        ]


class Appearance(models.Model):
    """A use of a double: a video (draft or published) that casts it, with its receipt."""

    cameo = models.ForeignKey("cameo.Cameo", on_delete=models.CASCADE, related_name="appearances")
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cameo_uses"
    )
    job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    video = models.ForeignKey(
        "media.Video",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="appearances",
    )
    # The permission under which the double was cast, kept even after revocation.
    receipt = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    taken_down_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["cameo", "-created_at"])]


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("The consent audit log is append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("The consent audit log is append-only.")


class ConsentEvent(models.Model):
    """The audit log: every consent decision and every use of a double. Never changed."""

    class Kind(models.TextChoices):
        CONSENT_ACCEPTED = "consent_accepted"
        CONSENT_WITHDRAWN = "consent_withdrawn"
        CAPTURE_STARTED = "capture_started"
        CAMEO_VERIFIED = "cameo_verified"
        CAMEO_REJECTED = "cameo_rejected"
        AUDIENCE_CHANGED = "audience_changed"
        INSTRUCTIONS_CHANGED = "instructions_changed"
        GRANT_REQUESTED = "grant_requested"
        GRANT_APPROVED = "grant_approved"
        GRANT_DENIED = "grant_denied"
        GRANT_REVOKED = "grant_revoked"
        CAST_AUTHORIZED = "cast_authorized"
        CAST_REFUSED = "cast_refused"
        APPEARANCE_TAKEN_DOWN = "appearance_taken_down"
        JOB_CANCELLED = "job_cancelled"
        BIOMETRICS_DELETED = "biometrics_deleted"

    kind = models.CharField(max_length=30, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The person whose likeness the event concerns: the audit log is theirs to read.
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consent_events"
    )
    cameo = models.ForeignKey(
        "cameo.Cameo", null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    detail = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["subject", "-created_at"])]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("The consent audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("The consent audit log is append-only.")
