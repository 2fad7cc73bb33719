from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from jobs import lifecycle, runner, services
from jobs.kinds import JobKind, register, unregister
from jobs.models import Job
from jobs.runner import JobFailed, Outcome


def make_job(owner: User, **fields: Any) -> Job:
    return Job.objects.create(owner=owner, kind="test.echo", params={"n": 1}, **fields)


# Handlers for the kinds these tests register.
CALLS: list[str] = []


def echo_handler(job: Job, on_progress: Callable[[str, float], None]) -> dict[str, Any]:
    CALLS.append(str(job.id))
    on_progress("echo", 0.5)
    return {"echo": job.params["n"]}


def flaky_handler(job: Job, on_progress: Callable[[str, float], None]) -> dict[str, Any]:
    raise ConnectionError("storage hiccup")


def refusing_handler(job: Job, on_progress: Callable[[str, float], None]) -> dict[str, Any]:
    raise JobFailed("bad_input", "The input cannot be used.")


TEST_KINDS = [
    JobKind("test.echo", echo_handler),
    JobKind("test.flaky", flaky_handler),
    JobKind("test.refuse", refusing_handler),
]


@pytest.fixture
def handlers() -> Iterator[None]:
    CALLS.clear()
    for kind in TEST_KINDS:
        register(kind)
    yield
    for kind in TEST_KINDS:
        unregister(kind.name)


# --- The API edge -----------------------------------------------------------------------------
def test_the_owner_reads_a_job_and_a_stranger_gets_404(
    owner: User, stranger: User, client_for: Callable[[User], APIClient]
) -> None:
    job = make_job(owner)
    assert client_for(owner).get(f"/api/v1/jobs/{job.id}/").json()["state"] == "queued"
    response = client_for(stranger).get(f"/api/v1/jobs/{job.id}/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_stranger_cannot_cancel_a_job(
    owner: User, stranger: User, client_for: Callable[[User], APIClient]
) -> None:
    job = make_job(owner)
    assert client_for(stranger).post(f"/api/v1/jobs/{job.id}/cancel/").status_code == 404
    job.refresh_from_db()
    assert job.state == Job.State.QUEUED


def test_a_garbage_job_id_is_a_404_not_a_500(
    owner: User, client_for: Callable[[User], APIClient]
) -> None:
    response = client_for(owner).get("/api/v1/jobs/not-a-uuid/")
    assert response.status_code == 404


def test_the_owner_cancels_a_queued_job_once(
    owner: User, client_for: Callable[[User], APIClient]
) -> None:
    job = make_job(owner)
    client = client_for(owner)
    assert client.post(f"/api/v1/jobs/{job.id}/cancel/").json()["state"] == "cancelled"
    again = client.post(f"/api/v1/jobs/{job.id}/cancel/")
    assert again.status_code == 409
    assert again.json()["code"] == "job_finished"


def test_a_failed_job_can_be_retried_and_keeps_its_params(
    owner: User, client_for: Callable[[User], APIClient]
) -> None:
    job = make_job(owner, state=Job.State.FAILED, error_code="boom", attempts=3)
    response = client_for(owner).post(f"/api/v1/jobs/{job.id}/retry/")
    assert response.status_code == 202
    job.refresh_from_db()
    assert (job.state, job.attempts, job.error_code, job.params) == ("queued", 0, "", {"n": 1})


def test_a_running_job_cannot_be_retried(
    owner: User, client_for: Callable[[User], APIClient]
) -> None:
    job = make_job(owner, state=Job.State.RUNNING)
    response = client_for(owner).post(f"/api/v1/jobs/{job.id}/retry/")
    assert response.status_code == 409
    assert response.json()["code"] == "job_not_retryable"


def test_the_job_list_shows_only_my_jobs_newest_first(
    owner: User, stranger: User, client_for: Callable[[User], APIClient]
) -> None:
    first, second = make_job(owner), make_job(owner)
    make_job(stranger)
    body = client_for(owner).get("/api/v1/jobs/").json()
    assert [j["id"] for j in body["results"]] == [str(second.id), str(first.id)]
    assert "next" in body


def test_an_idempotency_key_returns_the_same_job(owner: User) -> None:
    first, created = services.job_submit(
        owner=owner, kind="test.echo", params={"n": 1}, idempotency_key="k1"
    )
    again, created_again = services.job_submit(
        owner=owner, kind="test.echo", params={"n": 1}, idempotency_key="k1"
    )
    assert created and not created_again
    assert first.id == again.id


def test_an_idempotency_key_reused_for_other_params_is_a_conflict(owner: User) -> None:
    services.job_submit(owner=owner, kind="test.echo", params={"n": 1}, idempotency_key="k1")
    with pytest.raises(Exception) as raised:
        services.job_submit(owner=owner, kind="test.echo", params={"n": 2}, idempotency_key="k1")
    assert getattr(raised.value, "code", None) == "idempotency_conflict"


# --- Claiming and running ---------------------------------------------------------------------
def test_a_queued_job_is_claimed_once_while_its_lease_lives(owner: User) -> None:
    job = make_job(owner)
    claimed = lifecycle.job_claim(job.id)
    assert claimed is not None and claimed.state == "running" and claimed.attempts == 1
    assert lifecycle.job_claim(job.id) is None


def test_a_job_whose_lease_lapsed_is_taken_over(owner: User) -> None:
    job = make_job(owner, state=Job.State.RUNNING, attempts=1)
    Job.objects.filter(id=job.id).update(lease_until=timezone.now() - timedelta(seconds=1))
    claimed = lifecycle.job_claim(job.id)
    assert claimed is not None and claimed.attempts == 2


def test_a_job_that_keeps_dying_fails_after_its_attempts(owner: User) -> None:
    job = make_job(owner, state=Job.State.RUNNING, attempts=3, max_attempts=3)
    Job.objects.filter(id=job.id).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert lifecycle.job_claim(job.id) is None
    job.refresh_from_db()
    assert (job.state, job.error_code) == ("failed", "too_many_attempts")


def test_a_finished_job_is_never_run_again(owner: User, handlers: None) -> None:
    job = make_job(owner)
    assert runner.job_execute(job.id) is Outcome.DONE
    assert runner.job_execute(job.id) is Outcome.SKIPPED
    assert [str(job.id)] == CALLS
    job.refresh_from_db()
    assert (job.state, job.progress, job.result, job.attempts) == ("succeeded", 100, {"echo": 1}, 1)


def test_a_job_cancelled_while_running_stops_at_its_next_progress_report(owner: User) -> None:
    job = make_job(owner)
    lifecycle.job_claim(job.id)
    services.job_cancel(job=job)
    with pytest.raises(lifecycle.JobCancelled):
        lifecycle.job_report_progress(job.id, "render", 0.3)


def test_a_transient_error_requeues_the_job_and_keeps_its_attempts(
    owner: User, handlers: None
) -> None:
    job = Job.objects.create(owner=owner, kind="test.flaky", params={})
    assert runner.job_execute(job.id) is Outcome.RETRY
    job.refresh_from_db()
    assert (job.state, job.attempts, job.error_code) == ("queued", 1, "retrying")


def test_a_transient_error_on_the_last_attempt_fails_the_job(owner: User, handlers: None) -> None:
    job = Job.objects.create(owner=owner, kind="test.flaky", params={}, attempts=2, max_attempts=3)
    assert runner.job_execute(job.id) is Outcome.DONE
    job.refresh_from_db()
    assert (job.state, job.error_code) == ("failed", "internal_error")


def test_a_handler_verdict_fails_the_job_with_its_code(owner: User, handlers: None) -> None:
    job = Job.objects.create(owner=owner, kind="test.refuse", params={})
    runner.job_execute(job.id)
    job.refresh_from_db()
    assert (job.state, job.error_code) == ("failed", "bad_input")


def test_the_sweep_requeues_a_job_whose_worker_died(owner: User) -> None:
    dead = make_job(owner, state=Job.State.RUNNING, attempts=1)
    alive = make_job(owner, state=Job.State.RUNNING, attempts=1)
    Job.objects.filter(id=dead.id).update(lease_until=timezone.now() - timedelta(seconds=5))
    Job.objects.filter(id=alive.id).update(lease_until=timezone.now() + timedelta(seconds=60))
    assert services.jobs_requeue_stale() == 1
    dead.refresh_from_db()
    assert dead.enqueued_at is not None


@pytest.mark.services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_claims_on_postgresql_let_exactly_one_through(owner: User) -> None:
    assert connection.vendor == "postgresql"
    job = make_job(owner)
    barrier = threading.Barrier(8)
    wins: list[bool] = []

    def claim() -> None:
        barrier.wait()
        try:
            wins.append(lifecycle.job_claim(job.id) is not None)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False] * 7 + [True]
    job.refresh_from_db()
    assert job.attempts == 1


def test_the_workdir_sweep_keeps_live_and_recent_jobs_files_and_deletes_the_rest(
    owner: User, settings: Any, tmp_path: Path
) -> None:
    from jobs.services import workdirs_sweep

    settings.VAR_DIR = tmp_path
    settings.JOB_WORKDIR_KEEP_HOURS = 24
    long_ago = timezone.now() - timedelta(hours=30)

    def job(state: str, finished: Any) -> Job:
        made = Job.objects.create(
            owner=owner, kind="media.transcode", state=state, finished_at=finished
        )
        (tmp_path / "work" / made.id.hex).mkdir(parents=True)
        (tmp_path / "work" / made.id.hex / "stages.json").write_text("{}")
        return made

    running = job("running", None)
    recent_failure = job("failed", timezone.now())
    old_failure = job("failed", long_ago)
    retried = job("queued", long_ago)  # failed long ago, queued again by a retry
    gone = tmp_path / "work" / uuid.uuid4().hex  # its job row no longer exists
    gone.mkdir()
    other = tmp_path / "work" / "notes"  # not a job's directory
    other.mkdir()

    assert workdirs_sweep() == 2
    left = {p.name for p in (tmp_path / "work").iterdir()}
    assert left == {running.id.hex, recent_failure.id.hex, retried.id.hex, "notes"}
    assert old_failure.id.hex not in left and gone.name not in left
