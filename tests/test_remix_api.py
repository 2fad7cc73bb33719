"""Remix through the API: permissions, refusals with their own codes, jobs, lineage.

Jobs run in this process with job_execute (the worker path is the same call; it is tested
live in test_generation_live.py). Sources are clips built by tests/remix_media.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.files import File
from django.core.files.storage import default_storage
from rest_framework.test import APIClient

from accounts.models import User
from consent.models import Appearance, ConsentEvent
from feeds.models import Post
from feeds.services import post_publish
from jobs.models import Job
from jobs.runner import job_execute
from media.models import Video
from tests import remix_media as rm
from tests.factories import make_verified_cameo

Client = Callable[[User], APIClient]


@pytest.fixture(scope="module")
def source_clip(tmp_path_factory: pytest.TempPathFactory) -> rm.SourceTruth:
    path = tmp_path_factory.mktemp("remix-src") / "source.mp4"
    return rm.build_source(path, rm.SourceSpec(seconds=1.5, fps=12), keep_masks=False)


def publish_clip(author: User, path: Path, caption: str = "") -> Post:
    with open(path, "rb") as handle:
        name = default_storage.save(f"jobs/{uuid.uuid4().hex}/video.mp4", File(handle))
    video = Video.objects.create(
        owner=author, file=name, width=180, height=320, duration_s=1.5, prompt="a person in a room"
    )
    return post_publish(video=video, author=author, caption=caption, visibility="public")


def remix(client: APIClient, source: Post, **body: Any) -> Any:
    payload = {
        "source_post_id": source.pk,
        "operation": "swap_background",
        "background_prompt": "a sunny beach",
        **body,
    }
    return client.post("/api/v1/remixes/", payload, format="json")


def run_remix(response: Any) -> Job:
    assert response.status_code == 202, response.json()
    job_id = response.json()["job"]["id"]
    job_execute(job_id)
    return Job.objects.get(id=job_id)


def publish_remix(client: APIClient, job: Job) -> dict[str, Any]:
    video_id = job.result["video_id"]
    response = client.post(
        f"/api/v1/videos/{video_id}/publish/", {"caption": "mine"}, format="json"
    )
    assert response.status_code == 201, response.json()
    return response.json()


def audio_packets(path: Path) -> list[bytes]:
    import av

    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(container.streams.audio[0]) if p.size]


def tom_hanks_cutout() -> bytes:
    import cv2

    from tests.cameo_media import load_photo

    image = cv2.cvtColor(load_photo("tom_hanks").image, cv2.COLOR_BGR2BGRA)
    return cv2.imencode(".png", image)[1].tobytes()


# --- refusals, each with its own code ------------------------------------------------------------
def test_a_video_whose_author_disabled_remix_is_refused_with_its_own_code(
    owner: User, friend: User, stranger: User, client_for: Client, source_clip: rm.SourceTruth
) -> None:
    source = publish_clip(owner, source_clip.path)
    assert client_for(owner).get(f"/api/v1/posts/{source.pk}/").json()["allow_remix"] is True
    not_author = client_for(stranger).patch(
        f"/api/v1/posts/{source.pk}/", {"allow_remix": False}, format="json"
    )
    assert not_author.status_code == 403
    switched = client_for(owner).patch(
        f"/api/v1/posts/{source.pk}/", {"allow_remix": False}, format="json"
    )
    assert switched.status_code == 200 and switched.json()["allow_remix"] is False

    refused = remix(client_for(friend), source)
    assert refused.status_code == 403
    assert refused.json()["code"] == "remix_not_allowed"
    assert not Job.objects.filter(kind="remix.render").exists()
    # The author may still remix their own video.
    assert remix(client_for(owner), source).status_code == 202


def test_disabling_remix_while_a_remix_waits_fails_it_with_the_same_code(
    owner: User, friend: User, client_for: Client, source_clip: rm.SourceTruth
) -> None:
    source = publish_clip(owner, source_clip.path)
    response = remix(client_for(friend), source)
    client_for(owner).patch(f"/api/v1/posts/{source.pk}/", {"allow_remix": False}, format="json")
    job = run_remix(response)
    assert (job.state, job.error_code) == ("failed", "remix_not_allowed")
    assert not Video.objects.filter(job=job).exists()


def test_a_cameo_the_user_may_not_use_is_refused_with_its_own_code(
    owner: User, friend: User, client_for: Client, source_clip: rm.SourceTruth
) -> None:
    source = publish_clip(friend, source_clip.path)
    cameo = make_verified_cameo(owner, audience="approved")  # friend has no approval
    refused = remix(client_for(friend), source, operation="swap_subject", cameo_id=str(cameo.id))
    assert refused.status_code == 403
    assert refused.json()["code"] == "cameo_not_permitted"
    assert ConsentEvent.objects.filter(kind="cast_refused", cameo=cameo, actor=friend).exists()
    assert not Appearance.objects.filter(cameo=cameo).exists()
    # A private double is not even there for them: its id reveals nothing.
    hidden = make_verified_cameo(User.objects.create_user("third", password="x" * 12))
    missing = remix(client_for(friend), source, operation="swap_subject", cameo_id=str(hidden.id))
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_a_double_already_in_the_source_must_be_one_the_remixer_may_use(
    owner: User, friend: User, stranger: User, client_for: Client, source_clip: rm.SourceTruth
) -> None:
    # ana's video casts owner's double, which only people owner approves may use
    source = publish_clip(stranger, source_clip.path)
    cameo = make_verified_cameo(owner, audience="approved")
    Appearance.objects.create(cameo=cameo, used_by=stranger, video=source.video, receipt={})
    refused = remix(client_for(friend), source)
    assert refused.status_code == 403 and refused.json()["code"] == "cameo_not_permitted"
    # once owner opens the double to everyone, the remix keeps it, and owner sees the remix
    client_for(owner).patch(f"/api/v1/cameos/{cameo.id}/", {"audience": "everyone"}, format="json")
    response = remix(client_for(friend), source)
    assert response.status_code == 202, response.json()
    job = Job.objects.get(id=response.json()["job"]["id"])
    assert job.params["kept_cameos"] == [str(cameo.id)]
    kept = Appearance.objects.get(cameo=cameo, used_by=friend)
    assert kept.job_id == job.id and kept.receipt["basis"] == "everyone"
    # and if owner closes it again before the remix renders, the job stops
    client_for(owner).patch(f"/api/v1/cameos/{cameo.id}/", {"audience": "only_me"}, format="json")
    job = run_remix(response)
    assert (job.state, job.error_code) == ("failed", "cameo_not_permitted")


def test_cameo_permission_is_checked_again_just_before_rendering(
    owner: User, friend: User, client_for: Client, source_clip: rm.SourceTruth
) -> None:
    source = publish_clip(friend, source_clip.path)
    cameo = make_verified_cameo(owner, audience="everyone")
    response = remix(client_for(friend), source, operation="swap_subject", cameo_id=str(cameo.id))
    assert response.status_code == 202, response.json()
    assert Appearance.objects.filter(cameo=cameo, used_by=friend).exists()
    client_for(owner).patch(f"/api/v1/cameos/{cameo.id}/", {"audience": "only_me"}, format="json")
    job = run_remix(response)
    assert (job.state, job.error_code) == ("failed", "cameo_not_permitted")
    refusal = ConsentEvent.objects.get(kind="cast_refused", cameo=cameo)
    assert refusal.detail["stage"] == "render"


def test_revoking_the_cameo_cancels_a_remix_that_waits_to_use_it(
    owner: User, friend: User, client_for: Client, source_clip: rm.SourceTruth
) -> None:
    source = publish_clip(friend, source_clip.path)
    cameo = make_verified_cameo(owner, audience="everyone")
    response = remix(client_for(friend), source, operation="swap_subject", cameo_id=str(cameo.id))
    assert client_for(owner).post(f"/api/v1/cameos/{cameo.id}/revoke/").status_code == 200
    job = Job.objects.get(id=response.json()["job"]["id"])
    assert job.state == "cancelled"
    assert ConsentEvent.objects.filter(kind="job_cancelled", cameo=cameo).exists()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"operation": "swap_subject"}, 400, "invalid"),  # no cameo
        ({"background_prompt": ""}, 400, "invalid"),  # no background
        ({"background_prompt": "somewhere nice"}, 400, "background_unknown"),
        ({"operation": "swap_everything"}, 400, "invalid"),
        ({"source_post_id": 999_999}, 404, "not_found"),
        ({"source_video_id": str(uuid.uuid4())}, 400, "invalid"),  # both sources given
        ({"background_upload_id": str(uuid.uuid4()), "background_prompt": ""}, 404, "not_found"),
        ({"dialogue": ["x" * 201]}, 400, "invalid"),
    ],
)
def test_bad_remix_requests_get_a_clear_code_and_create_nothing(
    owner: User,
    friend: User,
    client_for: Client,
    source_clip: rm.SourceTruth,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    source = publish_clip(owner, source_clip.path)
    response = remix(client_for(friend), source, **body)
    assert response.status_code == status, response.json()
    assert response.json()["code"] == code and response.json()["detail"]
    assert not Job.objects.exists()


def test_a_private_post_cannot_be_remixed_by_others_and_looks_missing(
    owner: User, friend: User, client_for: Client, source_clip: rm.SourceTruth
) -> None:
    source = publish_clip(owner, source_clip.path)
    Post.objects.filter(pk=source.pk).update(visibility="private")
    by_post = remix(client_for(friend), source)
    by_video = client_for(friend).post(
        "/api/v1/remixes/",
        {
            "source_video_id": str(source.video_id),
            "operation": "swap_background",
            "background_prompt": "a beach",
        },
        format="json",
    )
    assert by_post.status_code == by_video.status_code == 404


def test_over_the_daily_remix_budget_is_a_429_with_its_own_code(
    owner: User, friend: User, client_for: Client, source_clip: rm.SourceTruth, settings: Any
) -> None:
    settings.REMIX_DAILY_BUDGET = 1
    source = publish_clip(owner, source_clip.path)
    assert remix(client_for(friend), source).status_code == 202
    second = remix(client_for(friend), source)
    assert second.status_code == 429 and second.json()["code"] == "remix_budget_exceeded"


def test_someone_elses_remix_is_not_found(
    owner: User, friend: User, client_for: Client, source_clip: rm.SourceTruth
) -> None:
    source = publish_clip(owner, source_clip.path)
    remix_id = remix(client_for(friend), source).json()["id"]
    assert client_for(friend).get(f"/api/v1/remixes/{remix_id}/").status_code == 200
    assert client_for(owner).get(f"/api/v1/remixes/{remix_id}/").status_code == 404


# --- remixes that run --------------------------------------------------------------------------
@pytest.mark.slow
def test_a_background_remix_is_a_draft_linked_to_its_source_keeping_its_sound(
    owner: User, friend: User, client_for: Client, source_clip: rm.SourceTruth
) -> None:
    source = publish_clip(owner, source_clip.path)
    job = run_remix(remix(client_for(friend), source, background_prompt="a beach at sunset"))
    assert job.state == "succeeded", (job.error_code, job.error_message)
    video = Video.objects.get(id=job.result["video_id"])
    detail = client_for(friend).get(f"/api/v1/videos/{video.id}/").json()
    assert detail["state"] == "draft"
    # The job's measured stage costs now feed the next remix's estimate, not generation's.
    from generation.models import StageCost

    assert StageCost.objects.filter(stage="remix.render.track").exists()
    estimate = remix(client_for(friend), source).json()["estimate_s"]
    assert estimate > 0
    assert detail["remix_of"]["post"] == source.pk
    assert detail["remix_of"]["video"] == str(source.video_id)
    manifest = detail["manifest"]
    assert manifest["remix"]["source"]["post"] == source.pk
    assert manifest["remix"]["operation"] == "swap_background"
    assert manifest["backends"]["background"].endswith("beach/golden_hour")
    # The source's sound is kept bit for bit: the same AAC packets, not a re-encode.
    assert manifest["backends"]["audio"] == "source (stream copy)"
    local = Path(default_storage.path(video.file))
    assert audio_packets(local) == audio_packets(source_clip.path)
    assert (video.width, video.height) == (180, 320)

    card = publish_remix(client_for(friend), job)
    assert card["remix_of"] == {"id": source.pk, "author": owner.username}
    assert client_for(owner).get(f"/api/v1/posts/{source.pk}/").json()["remix_count"] == 1


@pytest.mark.slow
def test_a_subject_swap_casts_the_cameo_says_its_line_and_names_it_in_provenance(
    owner: User, friend: User, client_for: Client, source_clip: rm.SourceTruth
) -> None:
    source = publish_clip(friend, source_clip.path)
    cameo = make_verified_cameo(owner, audience="everyone", cutout_png=tom_hanks_cutout())
    response = remix(
        client_for(friend),
        source,
        operation="swap_subject",
        cameo_id=str(cameo.id),
        dialogue=["Hello there!"],
    )
    job = run_remix(response)
    assert job.state == "succeeded", (job.error_code, job.error_message)
    video = Video.objects.get(id=job.result["video_id"])
    assert video.manifest["cast"][0]["cameo"] == str(cameo.id)
    assert video.manifest["cast"][0]["consent_receipt"]["stage"] == "render"
    assert video.manifest["backends"]["swap"]  # which method ran is recorded
    assert job.result["counts"]["face_frames"] > 0
    with default_storage.open(video.subtitles) as vtt:
        assert "Hello there!" in vtt.read().decode()
    # The owner sees the video their double appears in.
    appearance = Appearance.objects.get(cameo=cameo, used_by=friend)
    assert appearance.video_id == video.id
    listed = client_for(owner).get(f"/api/v1/cameos/{cameo.id}/appearances/").json()
    assert str(video.id) in str(listed)


@pytest.mark.slow
def test_lineage_is_correct_after_two_generations_of_remixes(
    owner: User,
    friend: User,
    stranger: User,
    client_for: Client,
    source_clip: rm.SourceTruth,
    tmp_path: Path,
) -> None:
    import cv2

    root = publish_clip(owner, source_clip.path)
    first = run_remix(remix(client_for(friend), root, background_prompt="a park"))
    child = publish_remix(client_for(friend), first)
    # The second generation's background is an uploaded image.
    image = tmp_path / "plate.png"
    cv2.imwrite(str(image), rm.new_background(180, 320))
    with open(image, "rb") as handle:
        upload = client_for(stranger).post("/api/v1/uploads/", {"kind": "image", "file": handle})
    assert upload.status_code == 201, upload.json()
    child_post = Post.objects.get(pk=child["id"])
    second = run_remix(
        remix(
            client_for(stranger),
            child_post,
            background_prompt="",
            background_upload_id=upload.json()["id"],
        )
    )
    assert second.state == "succeeded", (second.error_code, second.error_message)
    grandchild = publish_remix(client_for(stranger), second)

    lineage = client_for(stranger).get(f"/api/v1/posts/{grandchild['id']}/lineage/").json()
    assert [e["post"] for e in lineage] == [root.pk, child["id"], grandchild["id"]]
    assert [e["author"] for e in lineage] == [owner.username, friend.username, stranger.username]
    manifest = Video.objects.get(id=second.result["video_id"]).manifest
    assert [e["post"] for e in manifest["remix"]["lineage"]] == [root.pk, child["id"]]
    assert manifest["backends"]["background"] == "image"
    assert grandchild["remix_of"]["id"] == child["id"]
    counts = {p.pk: p.remix_count for p in Post.objects.all()}
    assert counts == {root.pk: 1, child["id"]: 1, grandchild["id"]: 0}
    # A private ancestor stays in the chain as a bare id.
    Post.objects.filter(pk=child["id"]).update(visibility="private")
    hidden = client_for(owner).get(f"/api/v1/posts/{grandchild['id']}/lineage/").json()
    assert hidden[1] == {"post": child["id"], "video": None, "author": None, "visible": False}
    assert np.all([e["visible"] for e in (hidden[0], hidden[2])])


def test_the_method_is_chosen_at_submission_from_the_source_and_said_in_the_answer(
    owner: User, friend: User, client_for: Client, source_clip: rm.SourceTruth
) -> None:
    from generation.pipeline.storyboard import Shot, Storyboard, Subject
    from remix.models import Remix

    # given footage with no storyboard, and a video made here that keeps one
    footage = publish_clip(owner, source_clip.path)
    board = Storyboard(
        shots=[Shot(framing="wide", duration_s=1.0, subjects=["runner"])],
        subjects=[Subject(name="runner")],
        setting="park",
    )
    made_here = post_publish(
        video=Video.objects.create(owner=owner, storyboard=board.as_dict(), duration_s=1.0),
        author=owner,
        caption="",
        visibility="public",
    )
    # when a friend asks for a new background on each
    tracked = remix(client_for(friend), footage)
    restaged = remix(client_for(friend), made_here)
    # then footage is tracked and the storyboard re-staged, decided now and kept on the remix
    assert (tracked.status_code, restaged.status_code) == (202, 202)
    assert tracked.json()["method"] == "track"
    assert restaged.json()["method"] == "restage"
    assert Remix.objects.get(id=restaged.json()["id"]).method == Remix.Method.RESTAGE


# --- videos made here: re-staged from their storyboard ------------------------------------------
def generated_post(author: User) -> Post:
    """A video made by the generation pipeline (small and short), published."""
    from generation.generations import generation_submit
    from generation.pipeline.storyboard import Shot, Storyboard, Subject

    board = Storyboard(
        shots=[
            Shot(framing="wide", duration_s=1.0, subjects=["runner"]),
            Shot(framing="medium", duration_s=1.0, subjects=["runner"]),
        ],
        subjects=[Subject(name="runner")],
        setting="park",
    )
    job, _ = generation_submit(
        owner=author, board=board, cast=[], burn_subtitles=False, prompt="a runner in the park"
    )
    Job.objects.filter(pk=job.pk).update(params={**job.params, "size": [180, 320]})
    job_execute(job.id)
    video = Video.objects.get(id=Job.objects.get(pk=job.pk).result["video_id"])
    return post_publish(video=video, author=author, caption="run", visibility="public")


@pytest.mark.slow
def test_a_video_made_here_is_remixed_by_re_staging_its_storyboard(
    owner: User, friend: User, client_for: Client
) -> None:
    source = generated_post(owner)
    job = run_remix(remix(client_for(friend), source, background_prompt="a beach at night"))
    assert job.state == "succeeded", (job.error_code, job.error_message)
    assert job.result["method"] == "restage"
    video = Video.objects.get(id=job.result["video_id"])
    assert (video.storyboard["setting"], video.storyboard["lighting"]) == ("beach", "night")
    # the same shots and timing as the source, at its size
    assert [s["duration_s"] for s in video.storyboard["shots"]] == [1.0, 1.0]
    assert (video.width, video.height) == (source.video.width, source.video.height)
    assert video.duration_s == pytest.approx(source.video.duration_s)
    remix_info = video.manifest["remix"]
    assert (remix_info["method"], remix_info["source"]["post"]) == ("restage", source.pk)
    assert publish_remix(client_for(friend), job)["remix_of"]["id"] == source.pk


@pytest.mark.slow
def test_a_subject_swap_on_a_video_made_here_casts_the_double_as_its_subject(
    owner: User, friend: User, client_for: Client
) -> None:
    source = generated_post(friend)
    cameo = make_verified_cameo(owner, audience="everyone", cutout_png=tom_hanks_cutout())
    response = remix(
        client_for(friend),
        source,
        operation="swap_subject",
        cameo_id=str(cameo.id),
        dialogue=["My turn!"],
    )
    job = run_remix(response)
    assert job.state == "succeeded", (job.error_code, job.error_message)
    video = Video.objects.get(id=job.result["video_id"])
    assert video.storyboard["subjects"][0]["cameo_id"] == str(cameo.id)
    lines = [d["text"] for s in video.storyboard["shots"] for d in s["dialogue"]]
    assert lines == ["My turn!"]
    cast = video.manifest["cast"]
    assert [c["cameo"] for c in cast] == [str(cameo.id)]
    assert cast[0]["consent_receipt"]["stage"] == "render"
    assert Appearance.objects.get(cameo=cameo, used_by=friend).video_id == video.id


def test_a_lock_on_an_ancestor_holds_for_remixes_of_its_remixes(
    owner: User, friend: User, stranger: User, client_for: Client, source_clip: rm.SourceTruth
) -> None:
    # given the owner's post, remixed by a friend, and the owner then switching remixes off
    original = publish_clip(owner, source_clip.path)
    remixed = publish_clip(friend, source_clip.path)
    Post.objects.filter(pk=remixed.pk).update(remix_of=original)
    client_for(owner).patch(f"/api/v1/posts/{original.pk}/", {"allow_remix": False}, format="json")
    # when a stranger remixes the friend's remix
    refused = remix(client_for(stranger), remixed)
    # then the original author's "no" holds down the chain
    assert refused.status_code == 403
    assert refused.json()["code"] == "remix_not_allowed"
    assert not Job.objects.filter(kind="remix.render").exists()
    # the original author may still remix it
    assert remix(client_for(owner), remixed).status_code == 202
