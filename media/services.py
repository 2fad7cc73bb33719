"""Writes on media records. A video is taken down only here (a post's takedown calls it)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from media.models import Video


def video_take_down(*, video_id: Any, reason: str) -> bool:
    """Hide the video everywhere at once, keeping its files (appeal, audit); True if it was
    up. A second takedown keeps the first one's time and reason."""
    updated = (
        Video.objects.filter(pk=video_id)
        .exclude(state=Video.State.TAKEN_DOWN)
        .update(state=Video.State.TAKEN_DOWN, taken_down_at=timezone.now(), takedown_reason=reason)
    )
    return bool(updated)


def video_restore(*, video_id: Any) -> bool:
    """Undo a takedown: the video plays again where its post is seen."""
    updated = Video.objects.filter(pk=video_id, state=Video.State.TAKEN_DOWN).update(
        state=Video.State.PUBLISHED, taken_down_at=None, takedown_reason=""
    )
    return bool(updated)
