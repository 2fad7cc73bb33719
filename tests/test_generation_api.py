from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework.test import APIClient

from accounts.models import User
from consent.models import Appearance, ConsentEvent
from jobs.models import Job
from tests.factories import make_verified_cameo

PROMPT = (
    "Wide shot of a kitchen: a chef walks in. Medium shot: the chef jumps. "
    'Close-up: the chef says "Ta-da!"'
)


def test_planning_returns_an_editable_storyboard_and_an_estimate(
    owner: User, client_for: Callable[[User], APIClient]
) -> None:
    response = client_for(owner).post(
        "/api/v1/generations/plan/", {"prompt": PROMPT, "duration_s": 6}, format="json"
    )
    assert response.status_code == 200, response.json()
    board = response.json()["storyboard"]
    assert [s["framing"] for s in board["shots"]] == ["wide", "medium", "close_up"]
    assert response.json()["estimate_s"] > 0


def test_a_submission_returns_a_queued_gpu_job_with_its_storyboard(
    owner: User, client_for: Callable[[User], APIClient]
) -> None:
    response = client_for(owner).post(
        "/api/v1/generations/",
        {"prompt": PROMPT, "aspect": "1:1", "audio": {"dialogue": ["One more line."]}},
        format="json",
    )
    assert response.status_code == 202, response.json()
    body = response.json()
    job = Job.objects.get(id=body["job"]["id"])
    assert (job.kind, job.queue, job.state) == ("generation.render", "gpu", "queued")
    assert body["storyboard"]["aspect"] == "1:1"
    lines = [d["text"] for s in body["storyboard"]["shots"] for d in s["dialogue"]]
    assert lines == ["Ta-da!", "One more line."]


def test_an_edited_storyboard_is_resubmitted_as_is(
    owner: User, client_for: Callable[[User], APIClient]
) -> None:
    client = client_for(owner)
    board = client.post("/api/v1/generations/plan/", {"prompt": PROMPT}, format="json").json()
    board["storyboard"]["shots"][0]["framing"] = "establishing"
    response = client.post(
        "/api/v1/generations/", {"storyboard": board["storyboard"]}, format="json"
    )
    assert response.status_code == 202
    assert response.json()["storyboard"]["shots"][0]["framing"] == "establishing"


def test_a_storyboard_that_cannot_render_is_a_400_naming_the_field(
    owner: User, client_for: Callable[[User], APIClient]
) -> None:
    board = {"shots": [{"framing": "sideways"}]}
    response = client_for(owner).post("/api/v1/generations/", {"storyboard": board}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "storyboard_invalid"
    assert response.json()["field"] == "shots[0].framing"


def test_neither_prompt_nor_storyboard_is_a_clear_error(
    owner: User, client_for: Callable[[User], APIClient]
) -> None:
    response = client_for(owner).post("/api/v1/generations/", {"prompt": ""}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid"


def test_over_the_daily_budget_is_a_429_with_its_own_code(
    owner: User, client_for: Callable[[User], APIClient], settings: Any
) -> None:
    settings.GENERATION_DAILY_BUDGET = 2
    client = client_for(owner)
    codes = [
        client.post("/api/v1/generations/", {"prompt": PROMPT}, format="json") for _ in range(3)
    ]
    assert [r.status_code for r in codes] == [202, 202, 429]
    assert codes[2].json()["code"] == "generation_budget_exceeded"


def test_casting_someone_elses_cameo_without_permission_is_refused_at_submission(
    owner: User, stranger: User, client_for: Callable[[User], APIClient]
) -> None:
    def cast(cameo: Any) -> Any:
        return client_for(stranger).post(
            "/api/v1/generations/",
            {"prompt": PROMPT, "cast": [{"cameo_id": str(cameo.id)}]},
            format="json",
        )

    approved_only = make_verified_cameo(owner, audience="approved")
    refused = cast(approved_only)
    assert refused.status_code == 403 and refused.json()["code"] == "cameo_not_permitted"
    approved_only.audience = "only_me"
    approved_only.save()
    assert cast(approved_only).status_code == 404  # a private double is not even visible
    assert not Job.objects.filter(owner=stranger).exists()


def test_a_permitted_cast_records_an_appearance_for_the_owner(
    owner: User, friend: User, client_for: Callable[[User], APIClient]
) -> None:
    cameo = make_verified_cameo(owner, audience="everyone")
    response = client_for(friend).post(
        "/api/v1/generations/",
        {"prompt": PROMPT, "cast": [{"cameo_id": str(cameo.id)}]},
        format="json",
    )
    assert response.status_code == 202, response.json()
    job_id = response.json()["job"]["id"]
    appearance = Appearance.objects.get(cameo=cameo)
    assert str(appearance.job_id) == job_id and appearance.used_by == friend
    assert appearance.receipt["basis"] == "everyone"
    subjects = response.json()["storyboard"]["subjects"]
    assert subjects[0]["cameo_id"] == str(cameo.id)
    assert ConsentEvent.objects.filter(kind="cast_authorized", cameo=cameo).count() == 1


def test_permission_is_checked_again_just_before_rendering(
    owner: User, friend: User, client_for: Callable[[User], APIClient]
) -> None:
    from jobs.runner import job_execute

    cameo = make_verified_cameo(owner, audience="everyone")
    response = client_for(friend).post(
        "/api/v1/generations/",
        {"prompt": PROMPT, "cast": [{"cameo_id": str(cameo.id)}]},
        format="json",
    )
    job_id = response.json()["job"]["id"]
    # the owner narrows the audience while the job waits in the queue
    client_for(owner).patch(f"/api/v1/cameos/{cameo.id}/", {"audience": "only_me"}, format="json")
    job_execute(job_id)
    job = Job.objects.get(id=job_id)
    assert (job.state, job.error_code) == ("failed", "cameo_not_permitted")
    refusal = ConsentEvent.objects.get(kind="cast_refused", cameo=cameo)
    assert refusal.detail["stage"] == "render" and refusal.actor == friend


def test_an_idempotency_key_replay_returns_the_original_job(
    owner: User, client_for: Callable[[User], APIClient]
) -> None:
    client = client_for(owner)
    body = {"prompt": PROMPT, "audio": {"dialogue": ["Again."]}}
    first = client.post("/api/v1/generations/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post("/api/v1/generations/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, again.status_code) == (202, 202), again.json()
    assert again.json()["job"]["id"] == first.json()["job"]["id"]
    assert Job.objects.filter(owner=owner, kind="generation.render").count() == 1
    other = client.post(
        "/api/v1/generations/", {"prompt": "A dog runs."}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_conflict")


def test_a_cameo_named_in_a_storyboard_goes_through_the_cast_checks(
    owner: User, stranger: User, client_for: Callable[[User], APIClient]
) -> None:
    cameo = make_verified_cameo(owner, audience="only_me")
    client = client_for(stranger)
    board = client.post("/api/v1/generations/plan/", {"prompt": PROMPT}, format="json").json()
    board["storyboard"]["subjects"][0]["cameo_id"] = str(cameo.id)
    # when a stranger slips someone's private double into the storyboard itself
    response = client.post(
        "/api/v1/generations/", {"storyboard": board["storyboard"]}, format="json"
    )
    # then it is checked like any cast request: the double does not exist for them
    assert response.status_code == 404
    assert not Job.objects.filter(owner=stranger).exists()
    # and the owner's own storyboard casts it, recorded as an appearance, not stored as given
    mine = client_for(owner)
    board = mine.post("/api/v1/generations/plan/", {"prompt": PROMPT}, format="json").json()
    board["storyboard"]["subjects"][0]["cameo_id"] = str(cameo.id)
    response = mine.post("/api/v1/generations/", {"storyboard": board["storyboard"]}, format="json")
    assert response.status_code == 202, response.json()
    job = Job.objects.get(id=response.json()["job"]["id"])
    assert job.params["cast"] == [
        {"cameo_id": str(cameo.id), "subject": board["storyboard"]["subjects"][0]["name"]}
    ]
    assert Appearance.objects.filter(cameo=cameo, job=job).exists()


def test_without_a_speech_engine_a_job_fails_with_its_own_code_and_can_be_retried(
    owner: User, client_for: Callable[[User], APIClient], monkeypatch: Any, tmp_path: Any
) -> None:
    from jobs.runner import job_execute

    client = client_for(owner)
    response = client.post(
        "/api/v1/generations/", {"prompt": PROMPT, "duration_s": 3}, format="json"
    )
    job_id = response.json()["job"]["id"]
    # given a machine where espeak-ng is not installed
    monkeypatch.setenv("PATH", str(tmp_path))
    job_execute(job_id)
    job = Job.objects.get(id=job_id)
    # then the job says so, and never blames the user's lines
    assert (job.state, job.error_code) == ("failed", "tts_unavailable")
    assert "espeak-ng is not installed" in job.error_message
    assert job.attempts == 1  # not retried in a loop: retrying here cannot help
    assert client.post(f"/api/v1/jobs/{job_id}/retry/").status_code == 202
