from __future__ import annotations

from celery import shared_task

from feeds.services import trending_refresh


@shared_task
def refresh_trending() -> int:
    return trending_refresh()
