"""Writes on jobs from the outside: submit, cancel, retry, and the sweeps that recover them."""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from config.errors import ApplicationError
from jobs.lifecycle import job_publish, lease_length
from jobs.models import Job
from jobs.runner import dispatch


def _publish_after_commit(job_id: Any) -> None:
    transaction.on_commit(lambda: job_publish(job_id))


def job_enqueue(job: Job) -> None:
    """Hand the job to the runner once the surrounding transaction has committed."""
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
                raise ApplicationError(
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


@transaction.atomic
def job_cancel(*, job: Job) -> Job:
    if job.is_terminal:
        raise ApplicationError("job_finished", f"The job is already {job.state}.", 409)
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
        raise ApplicationError("job_not_retryable", f"A {job.state} job cannot be retried.", 409)
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
        Q(enqueued_at__lt=now - lease_length()) | Q(enqueued_at__isnull=True)
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
