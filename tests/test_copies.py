"""Takedown of every copy, and no re-upload: a takedown for intimate imagery or a likeness
removes the post and every stored copy of it, lists its hashes, and refuses them afterwards."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.files import File
from django.core.files.storage import default_storage
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from config import screens
from feeds import services as feed_services
from feeds.models import Post, Takedown
from media import hashes as media_hashes
from media import videohash
from media.models import Video, VideoHashes
from media.services import video_restore
from moderation.models import BlockedHash, CopyRemoval, Decision, Refusal, Report
from moderation.roles import MODERATOR
from moderation.selectors import dashboard_figures
from tests.factories import UserFactory
from tests.media import ffmpeg, make_clip

Client = Callable[[User], APIClient]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An original, copies of it (re-encoded at CRF 36, mirrored), and an unrelated clip."""
    folder = tmp_path_factory.mktemp("copies")
    original = make_clip(folder / "original.mp4", seconds=3.0, audio=False)
    reencoded, mirrored = folder / "reencoded.mp4", folder / "mirrored.mp4"
    ffmpeg("-i", str(original), "-c:v", "libx264", "-crf", "36", str(reencoded))
    ffmpeg("-i", str(original), "-vf", "hflip", "-c:v", "libx264", str(mirrored))
    other = folder / "other.mp4"  # mandelbrot takes no duration option: -t ends it
    ffmpeg("-f", "lavfi", "-i", "mandelbrot=size=320x240:rate=24", "-t", "3", str(other))
    return {"original": original, "reencoded": reencoded, "mirrored": mirrored, "other": other}


def _video(owner: User, clip: Path) -> Video:
    with clip.open("rb") as handle:
        name = default_storage.save(f"tests/{owner.username}/{clip.name}", File(handle))
    video = Video.objects.create(owner=owner, file=name, width=320, height=240, duration_s=3.0)
    media_hashes.video_hashes_ensure(video)  # as a kept video is hashed
    return video


def _post(owner: User, clip: Path) -> Post:
    video = _video(owner, clip)
    return feed_services.post_publish(video=video, author=owner, caption="", visibility="public")


def _decide_on_report(client_for: Client, reporter: User, post: Post, ground: str) -> int:
    body = {"target_kind": "post", "target_id": str(post.pk), "reason": ground}
    case_id = client_for(reporter).post("/api/v1/reports/", body, format="json").json()["case"]
    moderator = UserFactory(username="decider", is_staff=True)
    moderator.groups.add(Group.objects.get(name=MODERATOR))
    client = client_for(User.objects.get(pk=moderator.pk))
    assert client.post("/api/v1/moderation/cases/claim/").json()["id"] == case_id
    decision = {"case_id": case_id, "action": "take_down", "ground": ground, "facts": "Shown."}
    response = client.post("/api/v1/moderation/decisions/", decision, format="json")
    assert response.status_code == 201, response.json()
    return case_id


def _state(post: Post) -> str:
    return Post.objects.get(pk=post.pk).state


def test_pdq_matches_a_reencoded_and_a_mirrored_copy_but_not_another_clip(
    clips: dict[str, Path],
) -> None:
    original = videohash.video_hash(clips["original"])
    assert len(original.frames) >= videohash.MIN_MATCHED
    assert videohash.is_copy(original, videohash.video_hash(clips["reencoded"]))
    mirrored = videohash.video_hash(clips["mirrored"])
    assert videohash.is_copy(original, mirrored)
    assert videohash.copy_score(original, videohash.video_hash(clips["other"])) == 0.0


def test_an_intimate_imagery_takedown_removes_every_copy_and_spares_unrelated_videos(
    owner: User, friend: User, stranger: User, client_for: Client, clips: dict[str, Path]
) -> None:
    # given the reported post, a published re-encode by someone else, a mirrored draft, and
    # an unrelated post
    reported = _post(owner, clips["original"])
    copy = _post(stranger, clips["reencoded"])
    draft = _video(stranger, clips["mirrored"])
    unrelated = _post(stranger, clips["other"])
    assert client_for(friend).get(f"/api/v1/posts/{copy.pk}/").status_code == 200
    # when a moderator takes the reported post down for intimate imagery
    case_id = _decide_on_report(client_for, friend, reported, "intimate_imagery")
    # then it and every copy are down at once, through feeds' one way down
    assert _state(reported) == _state(copy) == Post.State.TAKEN_DOWN
    assert Video.objects.get(pk=draft.pk).state == Video.State.TAKEN_DOWN
    assert client_for(friend).get(f"/api/v1/posts/{copy.pk}/").status_code == 404
    record = Takedown.objects.get(post=copy)
    assert record.reason == "moderation:intimate_imagery:copy"
    assert record.actor is not None and record.actor.username == "decider"
    # and nothing else is touched
    assert _state(unrelated) == Post.State.LIVE
    # and each removal is on the 48-hour clock from the first report
    first_report = Report.objects.filter(case_id=case_id).earliest("created_at").created_at
    removals = CopyRemoval.objects.filter(decision__case_id=case_id)
    assert {r.video_id for r in removals} == {reported.video_id, copy.video_id, draft.pk}
    assert all(r.reported_at == first_report and r.within_deadline for r in removals)
    assert [r.is_copy for r in removals if r.video_id == reported.video_id] == [False]
    figures = dashboard_figures()
    assert (figures["copies_removed"], figures["copies_in_time"]) == (2, 2)
    # and the copy's author is told why
    notes = client_for(stranger).get("/api/v1/notifications/").json()["results"]
    assert [n["payload"]["ground"] for n in notes] == ["intimate_imagery", "intimate_imagery"]


def test_a_removal_past_48_hours_from_the_report_is_marked_late(
    owner: User, friend: User, stranger: User, client_for: Client, clips: dict[str, Path]
) -> None:
    reported = _post(owner, clips["original"])
    copy = _post(stranger, clips["reencoded"])
    body = {"target_kind": "post", "target_id": str(reported.pk), "reason": "impersonation"}
    client_for(friend).post("/api/v1/reports/", body, format="json")
    Report.objects.update(created_at=timezone.now() - timedelta(hours=49))
    _decide_on_report(client_for, stranger, reported, "impersonation")
    late = CopyRemoval.objects.get(video_id=copy.video_id)
    assert late.within_deadline is False
    assert late.removed_at - late.reported_at > timedelta(hours=48)


def test_a_takedown_on_another_ground_lists_nothing_and_leaves_copies_up(
    owner: User, friend: User, stranger: User, client_for: Client, clips: dict[str, Path]
) -> None:
    reported = _post(owner, clips["original"])
    copy = _post(stranger, clips["reencoded"])
    _decide_on_report(client_for, friend, reported, "violence")
    assert _state(reported) == Post.State.TAKEN_DOWN
    assert _state(copy) == Post.State.LIVE
    assert not BlockedHash.objects.exists() and not CopyRemoval.objects.exists()


def test_the_hash_list_refuses_publishing_a_copy_after_the_takedown(
    owner: User, friend: User, stranger: User, client_for: Client, clips: dict[str, Path]
) -> None:
    # given a post taken down for intimate imagery
    reported = _post(owner, clips["original"])
    _decide_on_report(client_for, friend, reported, "intimate_imagery")
    assert BlockedHash.objects.filter(video_id=reported.video_id).count() == 1
    # when someone uploads a mirrored copy later and tries to post it
    later = _video(stranger, clips["mirrored"])
    verdicts = screens.screen(
        screens.Subject(point=screens.Point.PUBLISH, user=stranger, video=later)
    )
    refusal = next(v for v in verdicts if v.check == "copies.hash_list")
    assert (refusal.outcome, refusal.code) == ("refuse", "matches_removed_content")
    response = client_for(stranger).post(f"/api/v1/videos/{later.id}/publish/", {}, format="json")
    # then it is refused with the hash list's code, and stays an unpublished draft
    assert response.status_code == 422, response.json()
    assert response.json()["code"] == "matches_removed_content"
    assert not Post.objects.filter(video=later).exists()
    # the refusal is kept although the publish was rolled back, and the dashboard counts it
    assert Refusal.objects.filter(user=stranger, code="matches_removed_content").count() == 1
    assert dashboard_figures()["reuploads_blocked"] == 1
    # while an unrelated clip still posts
    other = _video(stranger, clips["other"])
    response = client_for(stranger).post(f"/api/v1/videos/{other.id}/publish/", {}, format="json")
    assert response.status_code == 201, response.json()


def test_remixing_a_post_that_matches_the_hash_list_is_refused(
    owner: User, friend: User, stranger: User, client_for: Client, clips: dict[str, Path]
) -> None:
    reported = _post(owner, clips["original"])
    _decide_on_report(client_for, friend, reported, "intimate_imagery")
    # a copy posted with no file to hash yet (so publishing had nothing to compare), whose
    # file is there by the time someone asks to remix it
    unseen = Video.objects.create(owner=stranger, duration_s=3.0)
    source = feed_services.post_publish(
        video=unseen, author=stranger, caption="", visibility="public"
    )
    with clips["reencoded"].open("rb") as handle:
        unseen.file = default_storage.save("tests/unseen.mp4", File(handle))
    Video.objects.filter(pk=unseen.pk).update(file=unseen.file)
    subject = screens.Subject(point=screens.Point.REQUEST, user=friend, source=source)
    refusal = next(v for v in screens.screen(subject) if v.check == "copies.hash_list")
    assert (refusal.outcome, refusal.code) == ("refuse", "matches_removed_content")


def test_a_takedown_reversed_on_appeal_no_longer_blocks_its_video(
    owner: User, friend: User, stranger: User, client_for: Client, clips: dict[str, Path]
) -> None:
    reported = _post(owner, clips["original"])
    _decide_on_report(client_for, friend, reported, "intimate_imagery")
    later = _video(stranger, clips["reencoded"])
    subject = screens.Subject(point=screens.Point.PUBLISH, user=stranger, video=later)
    assert [v.outcome for v in screens.screen(subject) if v.check == "copies.hash_list"] == [
        "refuse"
    ]
    video_restore(video_id=reported.video_id)  # as post_restore does on an upheld appeal
    assert [v.outcome for v in screens.screen(subject) if v.check == "copies.hash_list"] == ["pass"]
    assert VideoHashes.objects.filter(video=later).exists()  # hashed once, kept


def test_a_video_whose_file_cannot_be_read_is_not_refused_by_the_hash_list(
    owner: User, friend: User, stranger: User, client_for: Client, clips: dict[str, Path]
) -> None:
    reported = _post(owner, clips["original"])
    _decide_on_report(client_for, friend, reported, "intimate_imagery")
    gone = Video.objects.create(owner=stranger, file="tests/never-stored.mp4", duration_s=3.0)
    subject = screens.Subject(point=screens.Point.PUBLISH, user=stranger, video=gone)
    verdicts = [v for v in screens.screen(subject) if v.check == "copies.hash_list"]
    assert [v.outcome for v in verdicts] == ["pass"]
    assert not VideoHashes.objects.filter(video=gone).exists()


def test_an_upheld_appeal_puts_the_removed_copies_back_up_too(
    owner: User, friend: User, stranger: User, client_for: Client, clips: dict[str, Path]
) -> None:
    # given a takedown that removed the reported post and a re-encoded copy of it
    reported = _post(owner, clips["original"])
    copy = _post(stranger, clips["reencoded"])
    _decide_on_report(client_for, friend, reported, "impersonation")
    assert _state(reported) == _state(copy) == Post.State.TAKEN_DOWN
    # when the author appeals and another moderator reverses the takedown
    decision = Decision.objects.get(action="take_down")
    appealed = client_for(owner).post(
        "/api/v1/appeals/", {"decision_id": decision.pk, "text": "It is me."}, format="json"
    )
    assert appealed.status_code == 201, appealed.json()
    reviewer = UserFactory(username="reviewer", is_staff=True)
    reviewer.groups.add(Group.objects.get(name=MODERATOR))
    client = client_for(User.objects.get(pk=reviewer.pk))
    assert client.post("/api/v1/moderation/cases/claim/").json()["id"] == appealed.json()["case"]
    body = {"case_id": appealed.json()["case"], "action": "restore", "facts": "Her own face."}
    assert client.post("/api/v1/moderation/decisions/", body, format="json").status_code == 201
    # then both are back, and the copy's owner is told
    assert _state(reported) == _state(copy) == Post.State.LIVE
    notes = client_for(stranger).get("/api/v1/notifications/").json()["results"]
    assert [n["payload"]["decision"] for n in notes] == ["restore", "take_down"]
