"""Running a job: claim it, call its kind's handler with a progress callback, record the end.

Celery tasks and the embedded thread runner both call `job_execute`; they differ only in
how a retry is scheduled.
"""

from __future__ import annotations

import enum
import functools
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import close_old_connections

from config.errors import ApplicationError
from jobs import lifecycle
from jobs.kinds import Progress, kind_for
from jobs.models import Job

__all__ = ["JobFailed", "Outcome", "Progress", "dispatch", "job_execute"]

logger = logging.getLogger(__name__)

RUN_TASK = "jobs.tasks.run_job"


class JobFailed(Exception):
    """A handler's verdict that retrying cannot help: the job fails with this code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Outcome(enum.Enum):
    DONE = "done"  # succeeded, failed for good, or cancelled while running
    SKIPPED = "skipped"  # finished or cancelled before, or out of attempts
    BUSY = "busy"  # another worker holds a live lease: try again when it lapses
    RETRY = "retry"  # a transient error: the job is queued again, run it after a backoff


def _permanent_code(exc: Exception) -> str | None:
    """The code of an error that retrying cannot mend, or None for a transient one.

    A domain error (ApplicationError) is permanent; so is any error a library marks
    `retryable = False` (a missing program, say), which lets libraries that know nothing of
    jobs say so without importing them."""
    if isinstance(exc, JobFailed | ApplicationError):
        return exc.code
    if getattr(exc, "retryable", True) is False:
        return str(getattr(exc, "code", "internal_error"))
    return None


def job_execute(job_id: Any) -> Outcome:
    job = lifecycle.job_claim(job_id)
    if job is None:
        return Outcome.BUSY if lifecycle.job_lease_remaining(job_id) else Outcome.SKIPPED
    started = time.perf_counter()
    try:
        handler = kind_for(job.kind).handler
        result = handler(job, functools.partial(lifecycle.job_report_progress, job.id))
    except lifecycle.JobCancelled:
        logger.info("job %s cancelled while running", job.id)
        return Outcome.DONE
    except Exception as exc:
        code = _permanent_code(exc)
        if code is not None:
            logger.info("job %s failed: %s %s", job.id, code, exc)
            lifecycle.job_fail(job.id, code=code, message=str(exc))
            return Outcome.DONE
        logger.exception("job %s attempt %s raised", job.id, job.attempts)
        message = f"{type(exc).__name__}: {exc}"
        if job.attempts >= job.max_attempts:
            lifecycle.job_fail(job.id, code="internal_error", message=message)
            return Outcome.DONE
        lifecycle.job_release(job.id, code="retrying", message=message)
        return Outcome.RETRY
    lifecycle.job_succeed(job.id, result)
    logger.info("job %s %s succeeded in %.2fs", job.id, job.kind, time.perf_counter() - started)
    return Outcome.DONE


def backoff_seconds(attempt: int) -> float:
    return float(min(300, 2 ** max(0, attempt)))


# Publishing to a broker that is down gives up after about a second: the job is already
# committed, and the sweep delivers it once the broker is back.
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.3, "interval_max": 0.5}


def dispatch(job_id: Any, *, queue: str) -> bool:
    """Hand a committed job to the runner; False when the broker could not take it now.

    The committed job row is the promise (an outbox): a job whose message was lost stays
    queued, and `jobs_requeue_stale` sends it again, so a broker outage delays work but
    never loses it, and the client is told 202 either way. The task is sent by name, so the
    runner needs no import of the task module that imports it."""
    if settings.JOB_RUNNER != "celery":
        _thread_pool().submit(_run_in_thread, str(job_id))
        return True
    try:
        current_app.send_task(
            RUN_TASK, args=[str(job_id)], queue=queue, retry=True, retry_policy=PUBLISH_RETRY
        )
    except Exception as exc:  # kombu/redis connection errors, whatever the transport
        logger.warning("job %s not handed to the broker (%s); the sweep will", job_id, exc)
        # Marked undelivered, so the next sweep sends it without waiting out a lease.
        Job.objects.filter(id=job_id, state=Job.State.QUEUED).update(enqueued_at=None)
        return False
    return True


@functools.cache
def _thread_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="job")


def _run_in_thread(job_id: str, delay: float = 0.0) -> None:
    """The embedded runner: same execution, retries scheduled with a timer."""
    if delay:
        time.sleep(delay)  # waiting out a backoff or a lease, not simulating work
    close_old_connections()
    try:
        outcome = job_execute(job_id)
    finally:
        close_old_connections()
    if outcome in (Outcome.BUSY, Outcome.RETRY):
        attempts = Job.objects.filter(id=job_id).values_list("attempts", flat=True).first() or 0
        wait = lifecycle.job_lease_remaining(job_id) or backoff_seconds(attempts)
        threading.Thread(target=_run_in_thread, args=(job_id, wait + 0.5), daemon=True).start()
