"""A remix: one published post made into someone's own version, and where it came from."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Remix(models.Model):
    class Operation(models.TextChoices):
        SWAP_SUBJECT = "swap_subject"
        SWAP_BACKGROUND = "swap_background"

    class Method(models.TextChoices):
        # A video made here keeps its storyboard: render it again with the swap applied.
        RESTAGE = "restage"
        # Any other footage: track the person, then composite a background or swap a face.
        TRACK = "track"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="remixes"
    )
    operation = models.CharField(max_length=20, choices=Operation.choices)
    # Chosen at submission from the source and the request (remix.services.remix_method).
    method = models.CharField(max_length=10, choices=Method.choices, default=Method.TRACK)
    # The source as it was when the remix was asked for. SET_NULL: a source deleted later
    # must not delete the remix; the lineage below keeps the ids.
    source_post = models.ForeignKey(
        "feeds.Post", null=True, on_delete=models.SET_NULL, related_name="remix_requests"
    )
    source_video = models.ForeignKey(
        "media.Video", null=True, on_delete=models.SET_NULL, related_name="remix_requests"
    )
    # Root first, the source last: [{"post": 12, "video": "uuid", "author": "ana"}, ...]
    lineage = models.JSONField(default=list)
    cameo = models.ForeignKey(
        "cameo.Cameo", null=True, blank=True, on_delete=models.SET_NULL, related_name="remixes"
    )
    background_prompt = models.CharField(max_length=300, blank=True)
    background_upload = models.ForeignKey(
        "media.Upload", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    dialogue = models.JSONField(default=list, blank=True)
    job = models.OneToOneField("jobs.Job", on_delete=models.CASCADE, related_name="remix")
    video = models.OneToOneField(
        "media.Video",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="remix",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["owner", "-created_at"])]
