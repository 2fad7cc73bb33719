"""Reads on media, and access_upload, which fetches an upload only for its owner.

Who may see a video is its post's business (feeds.selectors.visible_videos); what media
decides alone is whether a stored file may be served at all."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from accounts.models import User
from config.api import owned_or_404, parse_uuid
from config.errors import ApplicationError
from media.models import Upload, Video


def access_upload(*, user: User, upload_id: Any) -> Upload:
    upload: Upload = owned_or_404(
        Upload.objects.all(), user=user, object_id=upload_id, what="upload"
    )
    return upload


def access_image(*, user: User, upload_id: Any, field: str, what: str) -> Upload:
    """The caller's own accepted image upload, named by the request `field` (a remix
    background, a brand's logo); anything else is `<field without _id>_invalid`."""
    upload = access_upload(user=user, upload_id=upload_id)
    if upload.kind != Upload.Kind.IMAGE or upload.state != Upload.State.READY:
        raise ApplicationError(
            f"{field.removesuffix('_id')}_invalid",
            f"The {what} must be an accepted image upload.",
            400,
            field=field,
        )
    return upload


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
