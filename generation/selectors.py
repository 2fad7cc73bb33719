"""Reads, and the access_* helpers that fetch an object only for a caller who may see it."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.exceptions import NotFound

from accounts.models import User
from config.api import owned_or_404, parse_uuid
from generation.models import Job, Upload, Video


def access_job(*, user: User, job_id: Any) -> Job:
    """The job if `user` owns it; 404 otherwise, so ids of others' jobs reveal nothing."""
    return owned_or_404(Job.objects.all(), user=user, object_id=job_id, what="job")


def access_upload(*, user: User, upload_id: Any) -> Upload:
    return owned_or_404(Upload.objects.all(), user=user, object_id=upload_id, what="upload")


def jobs_for_owner(*, user: User) -> QuerySet[Job]:
    return Job.objects.filter(owner=user)


def access_video(*, user: User, video_id: Any) -> Video:
    """Drafts are their owner's; published videos anyone's; taken down, nobody's but the owner's."""
    video_uuid = parse_uuid(video_id)
    video = Video.objects.filter(id=video_uuid).first() if video_uuid else None
    if video is None or (video.owner_id != user.pk and video.state != Video.State.PUBLISHED):
        raise NotFound("No such video.")
    return video
