from __future__ import annotations

from celery import shared_task

from generation import services
from generation.runner import Outcome, backoff_seconds, job_execute


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=50)
def run_job(self: object, job_id: str) -> str:
    outcome = job_execute(job_id)
    if outcome is Outcome.BUSY:
        # Alive in another worker, or that worker died: look again once its lease lapses.
        wait = (services.job_lease_remaining(job_id) or 0) + 1
        raise self.retry(countdown=wait)  # type: ignore[attr-defined]
    if outcome is Outcome.RETRY:
        raise self.retry(countdown=backoff_seconds(self.request.retries))  # type: ignore[attr-defined]
    return outcome.value


@shared_task
def sweep_jobs() -> int:
    return services.jobs_requeue_stale()


@shared_task
def sweep_workdirs() -> int:
    return services.workdirs_sweep()
