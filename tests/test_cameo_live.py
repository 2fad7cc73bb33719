"""Cameo end to end over real connections: consent, capture, a verification job run by a
separate Celery worker with the real biometric models, the stored double, impersonation,
and withdrawal that empties storage."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from tests import cameo_media as cm
from tests.test_jobs_live import Client

pytestmark = [
    pytest.mark.services,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
ROOT = Path(__file__).resolve().parent.parent


def _consent_to_everything(client: Client) -> None:
    for document in client.get("/api/v1/consent/documents/").json():
        given = client.post(
            "/api/v1/consent/",
            json={
                "kind": document["kind"],
                "version": document["version"],
                "accepted": True,
                "client": {"app_version": "test"},
            },
        )
        assert given.status_code == 201, given.text


def _capture(client: Client, tmp: Path, photo: str = "astronaut") -> str:
    capture = client.post("/api/v1/cameo/captures/").json()
    challenge = capture["challenge"]
    spec = cm.answering(challenge, shots=(cm.Shot(photo=photo),))
    clip = cm.build_capture(tmp / f"{capture['id']}.mp4", spec)
    with open(clip, "rb") as handle:
        sent = client.post(f"/api/v1/cameo/captures/{capture['id']}/clip/", files={"file": handle})
    assert sent.status_code == 202, sent.text
    return capture["id"]


def _wait_for_capture(client: Client, capture_id: str, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/cameo/captures/{capture_id}/").json()
        if body["state"] not in ("awaiting_clip", "verifying"):
            return body
        time.sleep(0.3)
    raise TimeoutError(f"capture still {body['state']}: {body['job']}")


def _biometric_files(service_env: dict[str, str], user_id: int) -> list[Path]:
    root = Path(service_env["DOUBLETAKE_VAR_DIR"]) / "media" / "biometrics" / str(user_id)
    return [p for p in root.rglob("*") if p.is_file()]


def test_a_selfie_clip_becomes_a_verified_double_and_withdrawal_erases_it(
    live_url: str, start_worker: Callable[..., Any], service_env: dict[str, str], tmp_path: Path
) -> None:
    from accounts.models import User

    alice = Client(live_url, "alice")
    _consent_to_everything(alice)
    start_worker()
    # when alice records her clip answering the challenge
    capture = _wait_for_capture(alice, _capture(alice, tmp_path))
    # then a separate worker verified it with real models and kept her double
    assert capture["state"] == "verified", capture
    assert capture["job"]["state"] == "succeeded"
    cameo_id = capture["cameo_id"]
    cameo = alice.get(f"/api/v1/cameos/{cameo_id}/").json()
    assert cameo["models_used"]["embedding"] and cameo["audience"] == "only_me"
    biometrics = alice.get(f"/api/v1/cameos/{cameo_id}/biometrics/").json()
    assert len(biometrics["face_crops"]) == 3
    crop = requests.get(f"http://{live_url}{biometrics['face_crops'][0]}", timeout=10)
    assert crop.status_code == 200 and crop.content[:8] == b"\x89PNG\r\n\x1a\n"
    alice_id = User.objects.get(username="alice").pk
    stored = _biometric_files(service_env, alice_id)
    assert {p.name for p in stored} >= {"face_0.png", "cutout.png"} and any(
        p.name.startswith("clip.") for p in stored
    )

    # when bob records a clip of the same face, he is refused: it is alice's double
    bob = Client(live_url, "bob")
    _consent_to_everything(bob)
    refused = _wait_for_capture(bob, _capture(bob, tmp_path))
    assert (refused["state"], refused["reject_code"]) == ("rejected", "impersonation")
    assert refused["job"]["error_code"] == "impersonation"
    assert "alice" not in refused["reject_message"]
    assert _biometric_files(service_env, User.objects.get(username="bob").pk) == []

    # when alice withdraws, her biometric files are gone from storage
    withdrawn = alice.post("/api/v1/consent/withdraw/", json={"kind": "likeness_capture"})
    assert withdrawn.json()["cameos_revoked"] == 1
    assert _biometric_files(service_env, alice_id) == []
    assert alice.get(f"/api/v1/cameos/{cameo_id}/biometrics/").status_code == 410
    audit = {e["kind"] for e in alice.get("/api/v1/consent/audit/").json()["results"]}
    assert {"cameo_verified", "consent_withdrawn", "biometrics_deleted"} <= audit


def test_a_clip_with_no_face_fails_its_job_with_its_code(
    live_url: str, start_worker: Callable[..., Any], tmp_path: Path
) -> None:
    carol = Client(live_url, "carol")
    _consent_to_everything(carol)
    capture = carol.post("/api/v1/cameo/captures/").json()
    challenge = capture["challenge"]
    spec = cm.answering(challenge, shots=())
    clip = cm.build_capture(tmp_path / "empty-room.mp4", spec)
    with open(clip, "rb") as handle:
        carol.post(f"/api/v1/cameo/captures/{capture['id']}/clip/", files={"file": handle})
    start_worker()
    done = _wait_for_capture(carol, capture["id"])
    assert (done["state"], done["reject_code"], done["job"]["error_code"]) == (
        "rejected",
        "no_face",
        "no_face",
    )
    # what to do differently, in words and for the app
    assert "keep it in the frame" in done["reject_message"]
    assert done["reject_hint"] == "face_the_camera"
