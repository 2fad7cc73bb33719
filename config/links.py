"""Signed links to stored files: every link comes back to /media/ (media.api.media_serve).

An object name alone grants nothing; a link is the name signed and dated, so it expires,
and whether the file may still be seen is decided when it is fetched."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core import signing
from django.urls import reverse

URL_TTL_SECONDS = 3600
_SALT = "doubletake.media"


def media_url(name: str) -> str:
    """A time-limited link to a stored file, or "" for no file."""
    if not name:
        return ""
    token = signing.dumps(name, salt=_SALT)
    return f"{reverse('media')}?{urlencode({'t': token})}"


def media_name_from_token(token: str) -> str | None:
    try:
        name = signing.loads(token, salt=_SALT, max_age=URL_TTL_SECONDS)
    except signing.BadSignature:
        return None
    return name if isinstance(name, str) else None
