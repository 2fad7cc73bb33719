"""Writes on jobs: submit, claim, progress, finish, cancel, retry. Every change is published."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import timedelta
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import User
from config.api import ApiError
from generation.models import Job

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


def _publish_after_commit(job_id: Any) -> None:
    transaction.on_commit(lambda: job_publish(job_id))


def job_enqueue(job: Job) -> None:
    """Hand the job to the runner once the surrounding transaction has committed."""
    from generation.runner import dispatch

    Job.objects.filter(id=job.id).update(enqueued_at=timezone.now())
    transaction.on_commit(lambda: dispatch(job.id, queue=job.queue))


@transaction.atomic
def job_submit(
    *, owner: User, kind: str, params: dict[str, Any], idempotency_key: str = ""
) -> tuple[Job, bool]:
    """Create and enqueue a job; a repeated idempotency key returns the first job instead."""
    # Compare what the row will hold: JSON has no tuples, so a replay read back from the
    # database must be compared with the request as JSON would store it.
    params = json.loads(json.dumps(params, cls=DjangoJSONEncoder))
    if idempotency_key:
        existing = Job.objects.filter(
            owner=owner, kind=kind, idempotency_key=idempotency_key
        ).first()
        if existing is not None:
            if existing.params != params:
                raise ApiError(
                    "idempotency_conflict",
                    "This Idempotency-Key was already used for a different request.",
                    409,
                )
            return existing, False
    try:
        with transaction.atomic():
            job = Job.objects.create(
                owner=owner,
                kind=kind,
                params=params,
                idempotency_key=idempotency_key,
                max_attempts=settings.JOB_MAX_ATTEMPTS,
            )
    except IntegrityError:
        # Two requests raced with the same key: the other one won, answer with its job.
        return Job.objects.get(owner=owner, kind=kind, idempotency_key=idempotency_key), False
    job_enqueue(job)
    return job, True


def _lease() -> timedelta:
    return timedelta(seconds=settings.JOB_LEASE_SECONDS)


def job_claim(job_id: Any) -> Job | None:
    """Take the job for this worker, or None if it is finished, cancelled or alive elsewhere.

    A running job whose lease has lapsed belonged to a worker that died: it is taken over.
    """
    now = timezone.now()
    claimable = Q(state=Job.State.QUEUED) | Q(state=Job.State.RUNNING, lease_until__lt=now)
    claimed = Job.objects.filter(claimable, id=job_id, attempts__lt=F("max_attempts")).update(
        state=Job.State.RUNNING,
        lease_until=now + _lease(),
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


def _fail_if_out_of_attempts(job_id: Any, now: Any) -> None:
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
        stage=stage, progress=progress, lease_until=timezone.now() + _lease()
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


@transaction.atomic
def job_cancel(*, job: Job) -> Job:
    if job.is_terminal:
        raise ApiError("job_finished", f"The job is already {job.state}.", 409)
    Job.objects.filter(id=job.id, state__in=[Job.State.QUEUED, Job.State.RUNNING]).update(
        state=Job.State.CANCELLED, finished_at=timezone.now(), lease_until=None
    )
    _publish_after_commit(job.id)
    job.refresh_from_db()
    return job


@transaction.atomic
def job_retry(*, job: Job) -> Job:
    """Run a failed or cancelled job again from its recorded params; earlier outputs stay."""
    if job.state not in (Job.State.FAILED, Job.State.CANCELLED):
        raise ApiError("job_not_retryable", f"A {job.state} job cannot be retried.", 409)
    Job.objects.filter(id=job.id).update(
        state=Job.State.QUEUED,
        progress=0,
        stage="",
        error_code="",
        error_message="",
        attempts=0,
        finished_at=None,
    )
    job.refresh_from_db()
    job_enqueue(job)
    _publish_after_commit(job.id)
    return job


def jobs_requeue_stale() -> int:
    """Re-enqueue jobs whose worker died (lapsed lease) or whose enqueue was lost.

    This is the second net beside the broker's redelivery, so recovery never waits on the
    broker's visibility timeout. A duplicate delivery is harmless: the claim lets one through.
    """
    now = timezone.now()
    lapsed = Q(state=Job.State.RUNNING, lease_until__lt=now)
    # A queued job's message was lost if it is old, or never reached the broker at all.
    lost = Q(state=Job.State.QUEUED) & (
        Q(enqueued_at__lt=now - _lease()) | Q(enqueued_at__isnull=True)
    )
    count = 0
    for job in Job.objects.filter(lapsed | lost).only("id", "kind")[:500]:
        job_enqueue(job)
        count += 1
    return count


def workdirs_sweep() -> int:
    """Delete the working files of jobs that ended (failed, cancelled, or succeeded and left
    something behind) more than JOB_WORKDIR_KEEP_HOURS ago, and of jobs that no longer
    exist. A queued or running job's files, or a recent failure's (it may be retried), stay."""
    import shutil
    from pathlib import Path

    root = Path(settings.VAR_DIR) / "work"
    if not root.is_dir():
        return 0
    names = {}
    for entry in root.iterdir():
        try:
            names[uuid.UUID(hex=entry.name)] = entry
        except ValueError:
            continue  # not a job's directory: not ours to delete
    cutoff = timezone.now() - timedelta(hours=settings.JOB_WORKDIR_KEEP_HOURS)
    live = ~Q(state__in=Job.TERMINAL)  # queued again by a retry, or running
    recent = Q(finished_at__isnull=True) | Q(finished_at__gte=cutoff)
    keep = set(Job.objects.filter(live | recent, id__in=names).values_list("id", flat=True))
    removed = 0
    for job_id, entry in names.items():
        if job_id not in keep:
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
    return removed
