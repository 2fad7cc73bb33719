"""Outages of the services behind the API, over real connections: a second daphne whose
broker or cache points at a port where nothing listens (the shared services stay up)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
import requests
from django.conf import settings

from accounts.services import token_issue
from jobs import services
from jobs.models import Job
from tests.conftest import ROOT
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.services,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _closed_port() -> int:
    with socket.socket() as sock:  # bound, then released: nothing listens there after
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _server(env: dict[str, str], log: Path) -> Iterator[str]:
    port = _closed_port()
    with open(log, "wb") as handle:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "config.server",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "config.asgi:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except requests.ConnectionError:
                    assert proc.poll() is None, log.read_text()[-2000:]
                    time.sleep(0.2)  # waiting for the server to listen
            yield f"http://127.0.0.1:{port}"
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)


def test_with_the_broker_down_a_generation_is_accepted_and_delivered_later(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    user = UserFactory(username="maya")
    headers = {"Authorization": f"Bearer {token_issue(user=user)}"}
    broker = redis.Redis.from_url(settings.REDIS_URL)
    broker.delete("gpu")
    down = {
        **service_env,
        "REDIS_URL": f"redis://127.0.0.1:{_closed_port()}/0",
        "REDIS_CACHE_URL": settings.CACHES["default"]["LOCATION"],
    }
    with _server(down, tmp_path / "daphne.log") as base:
        # when the web process cannot reach the broker
        started = time.monotonic()
        response = requests.post(
            f"{base}/api/v1/generations/",
            headers=headers,
            timeout=30,
            json={"prompt": "A dog jumps on the beach.", "duration_s": 2},
        )
        took = time.monotonic() - started
    # then the client is told the job is accepted, which it is: the row is the promise
    assert response.status_code == 202, response.text
    assert took < 10
    job = Job.objects.get(id=response.json()["job"]["id"])
    assert (job.state, job.enqueued_at) == (Job.State.QUEUED, None)
    assert broker.llen("gpu") == 0
    # and once the broker is reachable, the sweep hands it over without waiting out a lease
    assert services.jobs_requeue_stale() == 1
    assert broker.llen("gpu") == 1
    job.refresh_from_db()
    assert job.enqueued_at is not None


def test_with_the_cache_down_login_and_feeds_answer_503_with_a_code(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    user = UserFactory(username="maya")
    headers = {"Authorization": f"Bearer {token_issue(user=user)}"}
    down = {**service_env, "REDIS_CACHE_URL": f"redis://127.0.0.1:{_closed_port()}/0"}
    with _server(down, tmp_path / "daphne.log") as base:
        login = requests.post(
            f"{base}/api/v1/auth/login/",
            timeout=30,
            json={"username": "maya", "password": "whatever-it-is"},
        )
        feed = requests.get(f"{base}/api/v1/feeds/for-you/", headers=headers, timeout=30)
    for response in (login, feed):
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "cache_unavailable"
        assert response.headers["Retry-After"]
        assert "Traceback" not in response.text


def test_a_reachable_but_wrong_database_url_stops_the_server_at_start(
    service_env: dict[str, str],
) -> None:
    db = settings.DATABASES["default"]
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    wrong = f"postgres://{db['USER'] or 'postgres'}@{host}:{port}/no_such_database"
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "config.server",
            "-b",
            "127.0.0.1",
            "-p",
            str(_closed_port()),
            "config.asgi:application",
        ],
        cwd=ROOT,
        env={**service_env, "DATABASE_URL": wrong, "DATABASE_POOL": "true"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert time.monotonic() - started < 30
    assert 'database "no_such_database" does not exist' in result.stderr
