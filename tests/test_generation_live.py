"""Generation over real connections: API -> gpu-queue job in a Celery worker -> draft video,
with a cast cameo checked again before rendering, and the provenance lookup."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from tests import media
from tests.test_jobs_live import Client

pytestmark = [
    pytest.mark.services,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _wait(client: Client, job_id: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}/").json()
        if job["state"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.5)
    raise TimeoutError(job)


def _lookup(client: Client, path: Path) -> dict[str, Any]:
    with open(path, "rb") as handle:
        response = client.post("/api/v1/provenance/lookup/", files={"file": handle})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_prompt_becomes_a_draft_video_that_the_lookup_recognises(
    live_url: str, start_worker: Callable[..., Any], tmp_path: Path
) -> None:
    maya = Client(live_url, "maya")
    submitted = maya.post(
        "/api/v1/generations/",
        json={
            "prompt": 'Medium shot: the dancer jumps. Close-up: the dancer says "Hello!"',
            "duration_s": 3,
            "aspect": "1:1",
        },
    )
    assert submitted.status_code == 202, submitted.text
    assert submitted.json()["estimate_s"] > 0
    start_worker()
    job = _wait(maya, submitted.json()["job"]["id"])
    assert job["state"] == "succeeded", job
    video = maya.get(f"/api/v1/videos/{job['result']['video_id']}/").json()
    assert (video["state"], video["width"], video["height"]) == ("draft", 1024, 1024)
    original = tmp_path / "original.mp4"
    original.write_bytes(requests.get(f"http://{live_url}{video['url']}", timeout=30).content)
    # the lookup knows the file, a re-encoded smaller copy, and not an unrelated clip
    found = _lookup(maya, original)
    assert found["generated_here"] and found["video"]["id"] == video["id"]
    # the untouched file shows its own signed manifest, which names its fingerprint
    own = found["credentials"]
    assert (own["source"], own["valid"], own["tampered"]) == ("embedded", True, False)
    assert own["manifest"]["soft_binding"]["alg"].startswith("org.doubletake.fingerprint.")
    copy = tmp_path / "copy.mp4"
    media.ffmpeg(
        "-i",
        str(original),
        "-vf",
        "scale=512:512",
        "-c:v",
        "libx264",
        "-crf",
        "35",
        "-c:a",
        "aac",
        str(copy),
    )
    reencoded = _lookup(maya, copy)
    assert reencoded["video"]["id"] == video["id"]
    # the re-encode lost the file's manifest: the one kept here, found by the soft binding
    kept = reencoded["credentials"]
    assert (kept["source"], kept["redacted"]) == ("stored", False)
    # read back from the original kept here and checked, not taken on trust
    assert (kept["valid"], kept["signature_valid"], kept["trusted"]) == (True, True, True)
    binding, signed_binding = kept["manifest"]["soft_binding"], own["manifest"]["soft_binding"]
    assert binding["alg"] == signed_binding["alg"]
    assert binding["fingerprint"]["hashes"] == signed_binding["fingerprint"]["hashes"]
    assert kept["manifest"]["request"] == own["manifest"]["request"]
    # a plain remux drops an embedded manifest too; its credentials still show
    remuxed = tmp_path / "remuxed.mp4"
    media.ffmpeg("-i", str(original), "-c", "copy", str(remuxed))
    again = _lookup(maya, remuxed)
    assert again["video"]["id"] == video["id"]
    assert again["credentials"]["source"] == "stored"
    # and so does a mirrored copy, and the copy of its last two seconds
    for name, edit in (("mirrored", ["-vf", "hflip"]), ("trimmed", ["-ss", "1"])):
        edited = tmp_path / f"{name}.mp4"
        media.ffmpeg("-i", str(original), *edit, "-c:v", "libx264", "-c:a", "aac", str(edited))
        assert _lookup(maya, edited)["video"]["id"] == video["id"], name
    unrelated = media.make_clip(tmp_path / "other.mp4", seconds=3, size="320x320")
    assert _lookup(maya, unrelated)["generated_here"] is False
    # a stranger cannot see the draft
    assert Client(live_url, "nosy").get(f"/api/v1/videos/{video['id']}/").status_code == 404
