"""Celery's way in: thin tasks that take ids and call the runner or a service."""

from __future__ import annotations

from celery import Task, shared_task

from jobs import lifecycle, services
from jobs.runner import Outcome, backoff_seconds, job_execute


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=50)
def run_job(self: Task, job_id: str) -> str:
    outcome = job_execute(job_id)
    if outcome is Outcome.BUSY:
        # Alive in another worker, or that worker died: look again once its lease lapses.
        wait = (lifecycle.job_lease_remaining(job_id) or 0) + 1
        raise self.retry(countdown=wait)
    if outcome is Outcome.RETRY:
        raise self.retry(countdown=backoff_seconds(self.request.retries))
    return outcome.value


@shared_task
def sweep_jobs() -> int:
    return services.jobs_requeue_stale()


@shared_task
def sweep_workdirs() -> int:
    return services.workdirs_sweep()
