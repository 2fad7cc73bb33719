"""Running a job: claim it, call its handler with a progress callback, record the outcome.

Celery tasks and the embedded thread runner both call `job_execute`; they differ only in
how a retry is scheduled.
"""

from __future__ import annotations

import enum
import functools
import importlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import close_old_connections

from generation import services
from generation.models import Job
from generation.pipeline.tools import ToolUnavailable

logger = logging.getLogger(__name__)

Progress = Callable[[str, float], None]
Handler = Callable[[Job, Progress], dict[str, Any]]

# kind -> "module:function". Apps add their kinds here as they grow.
HANDLERS = {
    "media.transcode": "generation.handlers:transcode_upload",
    "cameo.verify": "cameo.handlers:verify_capture_job",
    "generation.render": "generation.handlers:render_generation",
    "remix.render": "remix.handlers:render_remix",
}


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


def handler_for(kind: str) -> Handler:
    module, _, name = HANDLERS[kind].partition(":")
    return getattr(importlib.import_module(module), name)


def job_execute(job_id: Any) -> Outcome:
    job = services.job_claim(job_id)
    if job is None:
        return Outcome.BUSY if services.job_lease_remaining(job_id) else Outcome.SKIPPED
    started = time.perf_counter()
    try:
        result = handler_for(job.kind)(job, functools.partial(services.job_report_progress, job.id))
    except services.JobCancelled:
        logger.info("job %s cancelled while running", job.id)
        return Outcome.DONE
    except JobFailed as exc:
        services.job_fail(job.id, code=exc.code, message=exc.message)
        return Outcome.DONE
    except ToolUnavailable as exc:  # a missing program: retrying here cannot help
        logger.error("job %s: %s", job.id, exc)
        services.job_fail(job.id, code=exc.code, message=str(exc))
        return Outcome.DONE
    except Exception as exc:
        logger.exception("job %s attempt %s raised", job.id, job.attempts)
        if job.attempts >= job.max_attempts:
            services.job_fail(job.id, code="internal_error", message=f"{type(exc).__name__}: {exc}")
            return Outcome.DONE
        services.job_release(job.id, code="retrying", message=f"{type(exc).__name__}: {exc}")
        return Outcome.RETRY
    services.job_succeed(job.id, result)
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
    never loses it, and the client is told 202 either way."""
    if settings.JOB_RUNNER != "celery":
        _thread_pool().submit(_run_in_thread, str(job_id))
        return True
    from generation.tasks import run_job

    try:
        run_job.apply_async(args=[str(job_id)], queue=queue, retry_policy=PUBLISH_RETRY)
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
        wait = services.job_lease_remaining(job_id) or backoff_seconds(attempts)
        threading.Thread(target=_run_in_thread, args=(job_id, wait + 0.5), daemon=True).start()
