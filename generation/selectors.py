"""Reads, and the access_* helpers that fetch an object only for a caller who may see it."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from rest_framework.exceptions import NotFound

from accounts.models import User
from config.api import owned_or_404, parse_uuid
from feeds.selectors import visible_posts
from generation.models import Upload, Video


def access_upload(*, user: User, upload_id: Any) -> Upload:
    return owned_or_404(Upload.objects.all(), user=user, object_id=upload_id, what="upload")


def visible_videos(viewer: User | None) -> QuerySet[Video]:
    """The viewer's own videos, and published ones whose post the viewer may see.

    A published video is exactly as visible as its post: feeds owns that rule (public,
    followers-only, private, taken down), and this asks it rather than repeating it."""
    posted = Video.objects.filter(
        state=Video.State.PUBLISHED, post__in=visible_posts(viewer).values("pk")
    )
    if viewer is None or not viewer.is_authenticated:
        return posted
    return Video.objects.filter(Q(owner_id=viewer.pk) | Q(pk__in=posted.values("pk")))


def access_video(*, user: User | None, video_id: Any) -> Video:
    """The video if `user` owns it or may see its post; 404 otherwise (drafts, private and
    followers-only posts of others, anything taken down but one's own)."""
    video_uuid = parse_uuid(video_id)
    video = visible_videos(user).filter(id=video_uuid).first() if video_uuid else None
    if video is None:
        raise NotFound("No such video.")
    return video


def media_available(name: str) -> bool:
    """Whether a stored file may still be served at all, whoever holds a link to it.

    Checked at serve time, on top of the link's signature: a video taken down (by its
    author, a moderator, or a double's owner withdrawing consent) stops playing at once,
    however fresh the link. Generated files live under their job's prefix."""
    parts = name.split("/")
    if parts[0] == "uploads":
        return Upload.objects.filter(file=name, state=Upload.State.READY).exists()
    job_id = parse_uuid(parts[1]) if len(parts) > 2 and parts[0] == "jobs" else None
    if job_id is None:
        return True  # biometric files: deleted outright on revocation, never taken down
    named = Video.objects.filter(job_id=job_id).filter(
        Q(file=name) | Q(poster=name) | Q(preview=name) | Q(subtitles=name) | Q(provenance=name)
    )
    return not named.filter(state=Video.State.TAKEN_DOWN).exists()
