"""Every file that comes in (Upload) and every video made here (Video)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


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
        db_table = "generation_upload"  # where it was made; the model moved, the table stayed
        indexes = [models.Index(fields=["owner", "-created_at"])]


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
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="videos"
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
    # The automated checks' verdicts on the rendered output (logos, faces), kept until it is
    # published: a "hold" there holds the post for review.
    checks = models.JSONField(default=list, blank=True)
    storyboard = models.JSONField(default=dict, blank=True)
    prompt = models.TextField(blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    duration_s = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    taken_down_at = models.DateTimeField(null=True, blank=True)
    takedown_reason = models.CharField(max_length=60, blank=True)

    class Meta:
        db_table = "generation_video"  # where it was made; the model moved, the table stayed


# --- Copy detection: every video's perceptual hashes, with indexed buckets -----------------
class VideoHashes(models.Model):
    """A video's perceptual hashes for finding its copies (media/hashes.py): PDQ frames
    (media/videohash.py) and the keyframe fingerprint, and `buckets`, the keys of both, which
    the search looks up through HashKey instead of reading every row."""

    video = models.OneToOneField(
        Video, primary_key=True, on_delete=models.CASCADE, related_name="hashes"
    )
    version = models.CharField(max_length=24)
    frames = models.BinaryField()  # PDQ, 32 bytes a sampled frame
    mirrored = models.BinaryField()  # the same frames flipped left to right
    times = models.JSONField(default=list, blank=True)  # seconds, each frame's moment
    fingerprint = models.JSONField(default=dict, blank=True)  # Fingerprint.to_json()
    buckets = models.JSONField(default=list)  # bucket keys, strings; HashKey holds them indexed
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "media_video_hashes"


class HashKey(models.Model):
    """One of a video's index keys (`VideoHashes.buckets` as numbers: media.hashes.key_number),
    one row each: the search counts a query's keys per video from the primary key's B-tree
    alone (an index-only scan), never opening a VideoHashes row that shares fewer than two."""

    pk = models.CompositePrimaryKey("key", "video")
    key = models.BigIntegerField()
    video = models.ForeignKey(VideoHashes, on_delete=models.CASCADE, related_name="keys")

    class Meta:
        db_table = "media_hash_keys"
