"""Jobs over real connections: daphne, a separate Celery worker process, Redis, PostgreSQL."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from jobs.models import Job
from tests import media
from tests.factories import PASSWORD

pytestmark = [
    pytest.mark.services,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


class Client:
    def __init__(self, base: str, username: str) -> None:
        self.base = base
        response = requests.post(
            f"http://{base}/api/v1/auth/signup/",
            json={"username": username, "email": f"{username}@example.com", "password": PASSWORD},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        self.token = response.json()["token"]
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str) -> requests.Response:
        return requests.get(f"http://{self.base}{path}", headers=self.headers, timeout=10)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.post(
            f"http://{self.base}{path}", headers=self.headers, timeout=30, **kwargs
        )

    def submit_transcode(self, clip: Path) -> str:
        with open(clip, "rb") as handle:
            upload = self.post("/api/v1/uploads/", data={"kind": "video"}, files={"file": handle})
        assert upload.status_code == 201, upload.text
        job = self.post(f"/api/v1/uploads/{upload.json()['id']}/transcode/")
        assert job.status_code == 202, job.text
        return job.json()["id"]

    def websocket(self, job_id: str) -> Any:
        return connect(
            f"ws://{self.base}/ws/jobs/{job_id}/",
            additional_headers=self.headers,
            open_timeout=10,
        )


def _messages_until(ws: Any, done: Callable[[dict[str, Any]], bool], timeout: float) -> list[dict]:
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = json.loads(ws.recv(timeout=deadline - time.monotonic()))["job"]
        seen.append(job)
        if done(job):
            return seen
    raise TimeoutError(f"no matching message; saw {seen}")


def _wait_for_log(log: Path, line: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while line not in log.read_text():
        assert time.monotonic() < deadline, f"{line!r} not in {log}:\n{log.read_text()[-2000:]}"
        time.sleep(0.1)  # polling the worker's log file


def test_a_job_runs_in_a_separate_worker_and_its_progress_arrives_on_the_websocket(
    live_url: str, start_worker: Callable[..., Any], tmp_path: Path
) -> None:
    # given a job submitted through the API, and its owner listening before any worker runs
    alice = Client(live_url, "alice")
    job_id = alice.submit_transcode(media.make_clip(tmp_path / "c.mp4", seconds=4, size="640x360"))
    with alice.websocket(job_id) as ws:
        first = json.loads(ws.recv(timeout=10))["job"]
        assert first["state"] == "queued"
        # when a separate worker process starts
        worker = start_worker()
        seen = _messages_until(ws, lambda j: j["state"] in ("succeeded", "failed"), timeout=120)
    # then every step arrived over the socket, in order, from that worker
    assert seen[-1]["state"] == "succeeded", seen[-1]
    assert "running" in [m["state"] for m in seen]
    progress = [m["progress"] for m in seen]
    assert progress == sorted(progress)
    assert any(m["stage"] == "transcode" and 0 < m["progress"] < 100 for m in seen)
    # (the worker logs its line just after publishing the outcome: wait for it)
    _wait_for_log(worker.log, f"job {job_id} media.transcode succeeded")
    # and the REST view agrees, with a playable output behind its link
    body = alice.get(f"/api/v1/jobs/{job_id}/").json()
    assert body["state"] == "succeeded" and body["result"]["probe"]["video_codec"] == "h264"
    output = requests.get(f"http://{live_url}{body['output_url']}", timeout=10)
    assert output.status_code == 200 and output.content[4:8] == b"ftyp"


def test_killing_the_worker_mid_job_does_not_lose_the_job(
    live_url: str, start_worker: Callable[..., Any], tmp_path: Path
) -> None:
    alice = Client(live_url, "alice")
    lease = {"JOB_LEASE_SECONDS": "3", "JOB_SWEEP_SECONDS": "1"}
    doomed = start_worker(**lease)
    clip = media.make_clip(tmp_path / "long.mp4", seconds=20, size="1280x720")
    job_id = alice.submit_transcode(clip)
    with alice.websocket(job_id) as ws:
        _messages_until(ws, lambda j: j["stage"] == "transcode" and j["progress"] > 0, timeout=60)
    # when the worker dies mid-job (SIGKILL to its whole process group, ffmpeg included)
    doomed.kill()
    job = Job.objects.get(id=job_id)
    assert (job.state, job.attempts) == ("running", 1)
    assert 0 < job.progress < 100
    # then a new worker (with the scheduler's sweep) takes it over and finishes it
    start_worker(beat=True, **lease)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.state != "running" and job.state != "queued":
            break
        time.sleep(0.2)
    assert job.state == "succeeded", (job.state, job.error_code, job.error_message)
    assert job.attempts == 2


def test_a_job_delivered_twice_does_its_work_once(
    live_url: str, start_worker: Callable[..., Any], tmp_path: Path
) -> None:
    from jobs.tasks import run_job

    alice = Client(live_url, "alice")
    worker = start_worker()
    job_id = alice.submit_transcode(media.make_clip(tmp_path / "c.mp4", seconds=2))
    with alice.websocket(job_id) as ws:
        _messages_until(ws, lambda j: j["state"] == "succeeded", timeout=60)
    finished = Job.objects.get(id=job_id)
    # when the broker hands the same job over again
    run_job.apply_async(args=[job_id], queue="default")
    deadline = time.monotonic() + 30
    while "'skipped'" not in worker.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    # then the second delivery was a no-op
    assert "'skipped'" in worker.log.read_text()
    again = Job.objects.get(id=job_id)
    assert (again.attempts, again.finished_at, again.result) == (
        1,
        finished.finished_at,
        finished.result,
    )


def test_another_user_can_neither_read_nor_cancel_nor_subscribe(
    live_url: str, tmp_path: Path
) -> None:
    alice, mallory = Client(live_url, "alice"), Client(live_url, "mallory")
    job_id = alice.submit_transcode(media.make_clip(tmp_path / "c.mp4", seconds=1))
    assert mallory.get(f"/api/v1/jobs/{job_id}/").status_code == 404
    assert mallory.post(f"/api/v1/jobs/{job_id}/cancel/").status_code == 404
    with pytest.raises(InvalidStatus) as refused:
        mallory.websocket(job_id).close()
    assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus):
        connect(f"ws://{live_url}/ws/jobs/{job_id}/", open_timeout=10).close()
    assert Job.objects.get(id=job_id).state == "queued"
    # while the owner still can
    with alice.websocket(job_id) as ws:
        assert json.loads(ws.recv(timeout=10))["job"]["id"] == job_id


def test_an_oversize_upload_is_refused_from_its_headers_before_the_body_is_sent(
    live_url: str,
) -> None:
    alice = Client(live_url, "alice")
    host, port = live_url.split(":")
    # A terabyte announced, nothing sent: the answer must come from the headers alone.
    head = (
        "POST /api/v1/uploads/ HTTP/1.1\r\n"
        f"Host: {live_url}\r\nAuthorization: Bearer {alice.token}\r\n"
        "Content-Type: multipart/form-data; boundary=x\r\n"
        f"Content-Length: {10**12}\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head.encode())
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    status_line, _, rest = reply.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 413")
    assert json.loads(rest.partition(b"\r\n\r\n")[2])["code"] == "upload_too_large"
