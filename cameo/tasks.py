from __future__ import annotations

from celery import shared_task

from cameo.cascade import doubles_purge_unused


@shared_task
def retention_sweep() -> int:
    return doubles_purge_unused()
