"""The fixed cast, API clients, and the real processes the service tests talk to."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import token_issue
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parent.parent
pytest_plugins = ["tests.browser"]  # the headless Chromium fixture, for the page tests


# --- The cast ---------------------------------------------------------------------------------
@pytest.fixture
def owner(db: None) -> User:
    return UserFactory(username="owner")


@pytest.fixture
def friend(db: None) -> User:
    return UserFactory(username="friend")


@pytest.fixture
def stranger(db: None) -> User:
    return UserFactory(username="stranger")


@pytest.fixture
def moderator(db: None) -> User:
    return UserFactory(username="moderator", is_staff=True)


@pytest.fixture
def schema(db: None) -> dict[str, Any]:
    """The published OpenAPI schema, for the tests that walk every endpoint."""
    response = APIClient().get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


@pytest.fixture
def client_for() -> Callable[[User | None], APIClient]:
    def make(user: User | None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_issue(user=user)}")
        return client

    return make


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    if not settings.S3_BUCKET:
        settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # PBKDF2 costs ~0.5 s a login on these cores; tests that log in dozens of times (the
    # throttles) only need a hasher, not a slow one. Servers the tests start keep the real one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_throttles() -> Iterator[None]:
    from django.core.cache import cache

    cache.clear()
    yield


# --- Real services ----------------------------------------------------------------------------
def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def services_ready() -> bool:
    db = settings.DATABASES["default"]
    return (
        db["ENGINE"] == "django.db.backends.postgresql"
        and settings.JOB_RUNNER == "celery"
        and _reachable(db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432))
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if services_ready():
        return
    if os.environ.get("CI"):
        # In CI a missing service is a failure, never a quiet skip.
        raise pytest.UsageError(
            "CI needs DATABASE_URL (PostgreSQL) and REDIS_URL set and reachable."
        )
    skip = pytest.mark.skip(reason="needs PostgreSQL, Redis and a worker (make test sets them)")
    for item in items:
        if "services" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def _flushed_broker() -> None:
    import redis

    redis.Redis.from_url(settings.REDIS_URL).flushdb()


@pytest.fixture(scope="session")
def service_env(
    django_db_setup: None, django_db_blocker: Any, _flushed_broker: None
) -> dict[str, str]:
    """Environment for child processes: the same settings, pointed at the test database."""
    db = settings.DATABASES["default"]
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    url = f"postgres://{db['USER'] or 'postgres'}@{host}:{port}/{db['NAME']}"
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="config.settings",
        JOB_RUNNER="celery",
        PYTHONUNBUFFERED="1",
        DOUBLETAKE_VAR_DIR=str(ROOT / "var" / "test"),
    )
    return env


def _wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise TimeoutError(f"timed out waiting for {what}")


class Worker:
    """A real Celery worker in its own process group, so a test can kill all of it."""

    def __init__(self, env: dict[str, str], log: Path, name: str, beat: bool) -> None:
        argv = [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "default,gpu"]
        argv += ["-c", "1", "-n", f"{name}@%h", "-l", "INFO"]
        argv += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        if beat:
            argv += ["-B", "-s", str(log.with_suffix(".beat"))]
        self.log = log
        self.handle = open(log, "wb")  # noqa: SIM115 - open for the worker's whole life
        self.proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _wait_for(self.ready, 60, f"celery worker {name} ({log})")

    def ready(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"worker exited early:\n{self.log.read_text()[-3000:]}")
        return b" ready." in self.log.read_bytes()

    def kill(self) -> None:
        """SIGKILL the whole worker, children and ffmpeg included: a crash, not a shutdown."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.handle.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.handle.close()


@pytest.fixture
def start_worker(service_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    workers: list[Worker] = []

    def start(*, beat: bool = False, **env: str) -> Worker:
        name = f"w{len(workers)}"
        worker = Worker({**service_env, **env}, tmp_path / f"{name}.log", name, beat)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def live_url(
    service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A real daphne server (HTTP and websockets) on the test database."""
    port = _free_port()
    log = tmp_path_factory.mktemp("daphne") / "daphne.log"
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
            env=service_env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_for(lambda: _reachable("127.0.0.1", port), 30, f"daphne ({log})")
            yield f"127.0.0.1:{port}"
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)


@pytest.fixture
def wait_for() -> Callable[[Callable[[], bool], float, str], None]:
    return _wait_for
