"""Posts, the engagement on them, and the user's feed steering."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Hashtag(models.Model):
    name = models.CharField(max_length=60, unique=True)  # lower case, without '#'


class Post(models.Model):
    class Visibility(models.TextChoices):
        PUBLIC = "public"
        FOLLOWERS = "followers"
        PRIVATE = "private"

    class State(models.TextChoices):
        LIVE = "live"
        HELD = "held"  # an automated check holds it for a moderator; only its author sees it
        TAKEN_DOWN = "taken_down"

    video = models.OneToOneField("media.Video", on_delete=models.PROTECT, related_name="post")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posts"
    )
    caption = models.CharField(max_length=500, blank=True)
    hashtags = models.ManyToManyField(Hashtag, related_name="posts", blank=True)
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default="public")
    state = models.CharField(max_length=12, choices=State.choices, default="live")
    remix_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="remixes"
    )
    # The author's say over remixes of this post: on by default, switchable per post.
    allow_remix = models.BooleanField(default=True)
    # Shown only to signed-in adults who opted in; never in the public preview.
    age_restricted = models.BooleanField(default=False)
    # The automated checks' verdicts at publishing: [{check, outcome, code, reason, detail}].
    checks = models.JSONField(default=list, blank=True)
    # Diversity keys: posts sharing a cluster are near-duplicates (same look and audio, or the
    # same prompt); posts sharing a template were made from the same storyboard shape.
    cluster = models.CharField(max_length=40, db_index=True, blank=True)
    template = models.CharField(max_length=40, blank=True)
    topic = models.CharField(max_length=30, blank=True)
    like_count = models.PositiveIntegerField(default=0)
    comment_count = models.PositiveIntegerField(default=0)
    share_count = models.PositiveIntegerField(default=0)
    view_count = models.PositiveIntegerField(default=0)
    completion_count = models.PositiveIntegerField(default=0)
    remix_count = models.PositiveIntegerField(default=0)
    trending_score = models.FloatField(default=0.0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    taken_down_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["state", "visibility", "-id"], name="post_public_recent"),
            models.Index(fields=["author", "-id"], name="post_author_recent"),
            models.Index(fields=["remix_of", "-id"], name="post_remixes_recent"),
            models.Index(fields=["-trending_score"], name="post_trending"),
        ]


class Like(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="likes")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "post"], name="like_once")]


class Comment(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    body = models.CharField(max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["post", "id"])]


class Share(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="shares")
    channel = models.CharField(max_length=30, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)


class View(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="views")
    watch_ms = models.PositiveIntegerField()
    completed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"])]


class TopicWeight(models.Model):
    """How much more or less of a topic a user asked for, in plain words. Visible and resettable."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="topic_weights"
    )
    topic = models.CharField(max_length=30)
    weight = models.FloatField()  # -1 (none of it) .. +1 (much more)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "topic"], name="one_weight_per_topic")
        ]


class Takedown(models.Model):
    """Who took a post down, why and when: written by feeds.services.post_take_down, the only
    code that takes a post down. actor is None for the system (retention, a cascade)."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="takedowns")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=60)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when the post is put back (feeds.services.post_restore).
    restored_at = models.DateTimeField(null=True, blank=True)
    restored_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    restore_reason = models.CharField(max_length=60, blank=True)

    class Meta:
        indexes = [models.Index(fields=["post", "-created_at"])]
