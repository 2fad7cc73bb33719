"""Reports, and the cases they group into: one open case per reported thing."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Reason(models.TextChoices):
    IMPERSONATION = "impersonation"  # includes non-consensual use of someone's likeness
    INTIMATE_IMAGERY = "intimate_imagery"
    MINOR_SAFETY = "minor_safety"
    HARASSMENT = "harassment"
    VIOLENCE = "violence"
    IP_INFRINGEMENT = "ip_infringement"
    SPAM = "spam"
    OTHER = "other"


class Case(models.Model):
    class Target(models.TextChoices):
        POST = "post"
        COMMENT = "comment"
        USER = "user"
        APPEAL = "appeal"  # target_id: the decision appealed against

    class State(models.TextChoices):
        OPEN = "open"
        DECIDED = "decided"

    class Queue(models.TextChoices):
        GENERAL = "general"
        SENIOR = "senior"  # only senior moderators see it (minor safety)

    target_kind = models.CharField(max_length=10, choices=Target.choices)
    target_id = models.CharField(max_length=64)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    queue = models.CharField(max_length=10, choices=Queue.choices, default=Queue.GENERAL)
    reasons = models.JSONField(default=list)  # every reason given, most severe first
    report_count = models.PositiveIntegerField(default=0)
    severity = models.FloatField(default=0)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # An appeal is a case of its own, decided by another moderator; one per decision.
    appeal_of = models.OneToOneField(
        "moderation.Decision",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="appeal",
    )
    appeal_text = models.TextField(blank=True, max_length=2000)

    class Meta:
        permissions = [("work_senior_queue", "Can work the senior moderators' queue")]
        # The queue's order, on open cases only: a page or a claim reads the first rows
        # (100,000 open cases: 0.4 ms instead of sorting them all, 300 ms).
        indexes = [
            models.Index(
                fields=["-severity", "created_at"],
                condition=Q(state="open"),
                name="case_open_queue_order",
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["target_kind", "target_id"],
                condition=Q(state="open"),
                name="one_open_case_per_target",
            )
        ]


class Report(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="reports")
    # None for a report an automated check filed; `check_name` names the check.
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="reports_filed",
    )
    check_name = models.CharField(max_length=40, blank=True)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    text = models.TextField(blank=True, max_length=2000)
    # A report from someone marked as reporting in bad faith counts for little.
    weight = models.FloatField(default=1.0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "reporter"], name="one_report_per_reporter")
        ]


class Decision(models.Model):
    """What a moderator decided on a case, on which ground, and the statement of reasons the
    affected user was sent (the shape of the EU DSA's article 17)."""

    class Action(models.TextChoices):
        DISMISS = "dismiss"
        TAKE_DOWN = "take_down"
        RESTORE = "restore"
        AGE_RESTRICT = "age_restrict"
        WARN = "warn"
        SUSPEND = "suspend"
        REVOKE_CAMEO = "revoke_cameo"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="decisions")
    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=12, choices=Action.choices)
    ground = models.CharField(max_length=20)  # a Reason, or "no_violation" for a dismissal
    facts = models.TextField()
    automated = models.BooleanField(default=False)
    affected = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    statement = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)


class ReporterStanding(models.Model):
    """A reporter a moderator marked as filing in bad faith: their reports still open cases
    but weigh little, so they sink below everyone else's."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reporter_standing"
    )
    bad_faith = models.BooleanField(default=True)
    reason = models.TextField(max_length=2000)
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    marked_at = models.DateTimeField(auto_now=True)


# --- Copies and the hash list
class BlockedHash(models.Model):
    """The hash list: the perceptual hashes of a video taken down for intimate imagery or a
    non-consensual likeness. A video matching one is refused publishing and remixing
    (moderation/copies.py); the fields are media.hashes' five."""

    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="blocked_hashes")
    ground = models.CharField(max_length=20)  # a Reason
    video = models.ForeignKey("media.Video", null=True, on_delete=models.SET_NULL, related_name="+")
    frames = models.BinaryField()
    mirrored = models.BinaryField()
    times = models.JSONField(default=list, blank=True)
    fingerprint = models.JSONField(default=dict, blank=True)
    buckets = models.JSONField(default=list)  # GIN-indexed on PostgreSQL (migration 0006)
    created_at = models.DateTimeField(auto_now_add=True)


class CopyRemoval(models.Model):
    """One video a takedown decision removed, the reported one or a copy of it, against the
    48-hour clock (the US TAKE IT DOWN Act's) that starts at the case's first report."""

    DEADLINE_HOURS = 48

    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="removals")
    video = models.ForeignKey("media.Video", on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(
        "feeds.Post", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_copy = models.BooleanField(default=True)  # False: the video the case was about
    score = models.FloatField(default=1.0)
    reported_at = models.DateTimeField()
    removed_at = models.DateTimeField()
    within_deadline = models.BooleanField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["decision", "video"], name="one_removal_per_video")
        ]


class Refusal(models.Model):
    """A request an automated check refused (a prompt, a caption, a re-upload of removed
    content), kept although the request itself was rolled back: the dashboard counts them."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    check_name = models.CharField(max_length=40)
    code = models.CharField(max_length=40)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
