"""Reads, and the access_* helpers that fetch an object only for a caller who may see it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import QuerySet
from rest_framework.exceptions import NotFound

from accounts.models import User
from generation.models import Job, Upload, Video


def _as_uuid(value: Any) -> UUID | None:
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except ValueError:
        return None


def access_job(*, user: User, job_id: Any) -> Job:
    """The job if `user` owns it; 404 otherwise, so ids of others' jobs reveal nothing."""
    job_uuid = _as_uuid(job_id)
    job = Job.objects.filter(id=job_uuid, owner_id=user.pk).first() if job_uuid else None
    if job is None:
        raise NotFound("No such job.")
    return job


def access_upload(*, user: User, upload_id: Any) -> Upload:
    upload_uuid = _as_uuid(upload_id)
    upload = (
        Upload.objects.filter(id=upload_uuid, owner_id=user.pk).first() if upload_uuid else None
    )
    if upload is None:
        raise NotFound("No such upload.")
    return upload


def jobs_for_owner(*, user: User) -> QuerySet[Job]:
    return Job.objects.filter(owner=user)


def access_video(*, user: User, video_id: Any) -> Video:
    """Drafts are their owner's; published videos anyone's; taken down, nobody's but the owner's."""
    video_uuid = _as_uuid(video_id)
    video = Video.objects.filter(id=video_uuid).first() if video_uuid else None
    if video is None or (video.owner_id != user.pk and video.state != Video.State.PUBLISHED):
        raise NotFound("No such video.")
    return video
