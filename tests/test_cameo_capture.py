from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from cameo.models import Capture
from jobs.models import Job
from tests import media
from tests.factories import give_consent


def _start(client: APIClient) -> Any:
    return client.post("/api/v1/cameo/captures/")


def _send_clip(client: APIClient, capture_id: str, path: Path, **fields: str) -> Any:
    file = SimpleUploadedFile("selfie.mp4", path.read_bytes())
    return client.post(
        f"/api/v1/cameo/captures/{capture_id}/clip/", {"file": file, **fields}, format="multipart"
    )


def test_starting_a_capture_needs_consent(
    owner: User, client_for: Callable[[User], APIClient]
) -> None:
    response = _start(client_for(owner))
    assert response.status_code == 403
    assert response.json()["code"] == "consent_required"


def test_a_capture_starts_with_a_fresh_liveness_challenge(
    owner: User, client_for: Callable[[User], APIClient]
) -> None:
    give_consent(owner)
    client = client_for(owner)
    first, second = _start(client).json(), _start(client).json()
    challenge = first["challenge"]
    assert len(challenge["digits"]) == 6 and challenge["digits"].isdigit()
    assert challenge["digits_shown_at"] < challenge["digits_hidden_at"]
    # timed turns after the digits, one after the other, each to a side; all in the recording
    ends = [challenge["digits_hidden_at"]]
    for turn in challenge["turns"]:
        assert turn["direction"] in {"left", "right"}
        assert ends[-1] < turn["from_s"] < turn["to_s"] < challenge["record_seconds"] <= 20
        ends.append(turn["to_s"])
    assert " ".join(challenge["digits"]) in challenge["prompt"]
    assert first["state"] == "awaiting_clip" and first["expires_at"]
    # challenges are random: a few starts do not all repeat the same digits
    more = {first["challenge"]["digits"], second["challenge"]["digits"]}
    more |= {_start(client).json()["challenge"]["digits"] for _ in range(3)}
    assert len(more) > 1


def test_a_clip_with_no_voice_is_refused_before_verification(
    owner: User, client_for: Callable[[User], APIClient], tmp_path: Path
) -> None:
    give_consent(owner)
    client = client_for(owner)
    capture_id = _start(client).json()["id"]
    silent = media.make_clip(tmp_path / "silent.mp4", seconds=4, audio=False)
    response = _send_clip(client, capture_id, silent)
    assert response.status_code == 422 and response.json()["code"] == "capture_needs_audio"
    assert Capture.objects.get(id=capture_id).state == "awaiting_clip"


def test_a_clip_shorter_than_three_seconds_is_refused(
    owner: User, client_for: Callable[[User], APIClient], tmp_path: Path
) -> None:
    give_consent(owner)
    client = client_for(owner)
    capture_id = _start(client).json()["id"]
    response = _send_clip(client, capture_id, media.make_clip(tmp_path / "s.mp4", seconds=2))
    assert response.status_code == 422 and response.json()["code"] == "capture_too_short"


def test_an_expired_challenge_is_refused(
    owner: User, client_for: Callable[[User], APIClient], tmp_path: Path
) -> None:
    give_consent(owner)
    client = client_for(owner)
    capture_id = _start(client).json()["id"]
    Capture.objects.filter(id=capture_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = _send_clip(client, capture_id, media.make_clip(tmp_path / "c.mp4", seconds=4))
    assert response.status_code == 410 and response.json()["code"] == "challenge_expired"


def test_an_accepted_clip_is_stored_under_the_biometric_prefix_and_queued_on_gpu(
    owner: User, client_for: Callable[[User], APIClient], tmp_path: Path, settings: Any
) -> None:
    give_consent(owner)
    client = client_for(owner)
    capture_id = _start(client).json()["id"]
    response = _send_clip(client, capture_id, media.make_clip(tmp_path / "c.mp4", seconds=4))
    assert response.status_code == 202, response.json()
    capture = Capture.objects.get(id=capture_id)
    assert capture.state == "verifying"
    assert capture.clip.startswith(f"biometrics/{owner.pk}/{capture.id.hex}/")
    assert (Path(settings.MEDIA_ROOT) / capture.clip).exists()
    job = Job.objects.get(pk=capture.job_id)
    assert (job.kind, job.queue, job.state) == ("cameo.verify", "gpu", "queued")
    again = _send_clip(client, capture_id, media.make_clip(tmp_path / "d.mp4", seconds=4))
    assert again.status_code == 409 and again.json()["code"] == "capture_not_awaiting_clip"


def test_the_app_says_whether_it_stored_the_clip_mirrored(
    owner: User, client_for: Callable[[User], APIClient], tmp_path: Path
) -> None:
    from cameo.services import challenge_for_verifier

    give_consent(owner)
    client = client_for(owner)
    clip = media.make_clip(tmp_path / "c.mp4", seconds=4)
    plain, mirrored = _start(client).json()["id"], _start(client).json()["id"]
    assert _send_clip(client, plain, clip).status_code == 202
    assert _send_clip(client, mirrored, clip, mirrored="true").status_code == 202
    bad = _send_clip(client, _start(client).json()["id"], clip, mirrored="sideways")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"

    # the verifier checks the very turns the app was told to show, on the stored frames
    for capture_id, flag in ((plain, False), (mirrored, True)):
        capture = Capture.objects.get(id=capture_id)
        challenge = challenge_for_verifier(capture)
        assert challenge.mirrored is flag and challenge.digits == capture.challenge["digits"]
        assert [(t.direction, t.from_s, t.to_s) for t in challenge.turns] == [
            (t["direction"], t["from_s"], t["to_s"]) for t in capture.challenge["turns"]
        ]


def test_nobody_else_can_see_or_feed_my_capture(
    owner: User, stranger: User, client_for: Callable[[User], APIClient], tmp_path: Path
) -> None:
    give_consent(owner)
    capture_id = _start(client_for(owner)).json()["id"]
    them = client_for(stranger)
    assert them.get(f"/api/v1/cameo/captures/{capture_id}/").status_code == 404
    clip = media.make_clip(tmp_path / "c.mp4", seconds=4)
    assert _send_clip(them, capture_id, clip).status_code == 404
