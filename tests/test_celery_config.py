from __future__ import annotations

from django.conf import settings

from config.celery import app
from jobs.models import Job
from jobs.tasks import run_job


def test_tasks_are_acknowledged_late_and_requeued_when_a_worker_is_lost() -> None:
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert run_job.acks_late is True and run_job.reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_the_visibility_timeout_outlasts_the_longest_job() -> None:
    timeout = app.conf.broker_transport_options["visibility_timeout"]
    assert timeout > settings.JOB_MAX_RUNTIME_SECONDS
    assert app.conf.task_time_limit == settings.JOB_MAX_RUNTIME_SECONDS


def test_there_are_default_and_gpu_queues_and_heavy_kinds_go_to_gpu() -> None:
    assert {queue.name for queue in app.conf.task_queues} == {"default", "gpu"}
    assert Job(kind="generation.render").queue == "gpu"
    assert Job(kind="cameo.verify").queue == "gpu"
    assert Job(kind="media.transcode").queue == "default"


def test_the_sweep_runs_on_a_schedule() -> None:
    entry = app.conf.beat_schedule["sweep-jobs"]
    assert entry["task"] == "jobs.tasks.sweep_jobs"
    assert entry["schedule"] == float(settings.JOB_SWEEP_SECONDS)
