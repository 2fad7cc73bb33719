"""A job's life on a worker: claim with a lease, report progress, finish or give it back.

Every change is published to the job's websocket group; consumers only relay.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from jobs.models import Job

logger = logging.getLogger(__name__)


class JobCancelled(Exception):
    """Raised inside a running job when its row says it is no longer running here."""


def job_group(job_id: Any) -> str:
    return f"job.{uuid.UUID(str(job_id)).hex}"


def job_payload(job: Job) -> dict[str, Any]:
    return {
        "id": str(job.id),
        "kind": job.kind,
        "state": job.state,
        "progress": job.progress,
        "stage": job.stage,
        "error_code": job.error_code,
        "error_message": job.error_message,
        "attempts": job.attempts,
        "result": job.result,
        "created_at": job.created_at.isoformat() if job.created_at else None,
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def job_publish(job_id: Any) -> None:
    """Push the job's current row to its websocket group. Consumers only relay this."""
    job = Job.objects.filter(id=job_id).first()
    layer = get_channel_layer()
    if job is None or layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            job_group(job.id), {"type": "job.update", "job": job_payload(job)}
        )
    except Exception:  # a lost progress message must never fail the job itself
        logger.warning("could not publish job %s", job.id, exc_info=True)


def lease_length() -> timedelta:
    return timedelta(seconds=settings.JOB_LEASE_SECONDS)


def job_claim(job_id: Any) -> Job | None:
    """Take the job for this worker, or None if it is finished, cancelled or alive elsewhere.

    A running job whose lease has lapsed belonged to a worker that died: it is taken over.
    """
    now = timezone.now()
    claimable = Q(state=Job.State.QUEUED) | Q(state=Job.State.RUNNING, lease_until__lt=now)
    claimed = Job.objects.filter(claimable, id=job_id, attempts__lt=F("max_attempts")).update(
        state=Job.State.RUNNING,
        lease_until=now + lease_length(),
        attempts=F("attempts") + 1,
        started_at=now,
        error_code="",
        error_message="",
    )
    if not claimed:
        _fail_if_out_of_attempts(job_id, now)
        return None
    job_publish(job_id)
    return Job.objects.get(id=job_id)


def _fail_if_out_of_attempts(job_id: Any, now: datetime) -> None:
    # The redelivery cap: a job that keeps killing its workers stops being retried.
    exhausted = Q(state=Job.State.QUEUED) | Q(state=Job.State.RUNNING, lease_until__lt=now)
    failed = Job.objects.filter(exhausted, id=job_id, attempts__gte=F("max_attempts")).update(
        state=Job.State.FAILED,
        error_code="too_many_attempts",
        error_message="The job was started too many times without finishing.",
        finished_at=now,
        lease_until=None,
    )
    if failed:
        job_publish(job_id)


def job_lease_remaining(job_id: Any) -> float | None:
    """Seconds until a running job's lease lapses; None if the job is not running."""
    lease = Job.objects.filter(id=job_id, state=Job.State.RUNNING).values_list(
        "lease_until", flat=True
    )
    lease_until = lease.first()
    if lease_until is None:
        return None
    return max(0.0, (lease_until - timezone.now()).total_seconds())


def job_report_progress(job_id: Any, stage: str, fraction: float) -> None:
    """Record progress and renew the lease; raises JobCancelled if the job was stopped."""
    progress = max(0, min(99, int(fraction * 100)))
    updated = Job.objects.filter(id=job_id, state=Job.State.RUNNING).update(
        stage=stage, progress=progress, lease_until=timezone.now() + lease_length()
    )
    if not updated:
        raise JobCancelled(str(job_id))
    job_publish(job_id)


def job_succeed(job_id: Any, result: dict[str, Any]) -> bool:
    updated = Job.objects.filter(id=job_id, state=Job.State.RUNNING).update(
        state=Job.State.SUCCEEDED,
        progress=100,
        stage="done",
        result=result,
        finished_at=timezone.now(),
        lease_until=None,
    )
    job_publish(job_id)
    return bool(updated)


def job_fail(job_id: Any, *, code: str, message: str) -> None:
    Job.objects.filter(id=job_id, state=Job.State.RUNNING).update(
        state=Job.State.FAILED,
        error_code=code,
        error_message=message[:2000],
        finished_at=timezone.now(),
        lease_until=None,
    )
    job_publish(job_id)


def job_release(job_id: Any, *, code: str, message: str) -> None:
    """Give a running job back to the queue after a transient error, keeping its attempts."""
    Job.objects.filter(id=job_id, state=Job.State.RUNNING).update(
        state=Job.State.QUEUED, error_code=code, error_message=message[:2000], lease_until=None
    )
    job_publish(job_id)
