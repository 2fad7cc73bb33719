"""One audited way down: every takedown of a post, whoever asks, leaves who, why and when."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework.test import APIClient

from accounts.models import User
from consent.models import Appearance
from feeds import services as feed_services
from feeds.models import Post, Takedown
from jobs.models import Job
from media.models import Video
from tests.factories import make_verified_cameo

Client = Callable[[User], APIClient]


def _post(author: User, caption: str = "") -> Post:
    video = Video.objects.create(owner=author, width=720, height=1280, duration_s=3.0)
    return feed_services.post_publish(
        video=video, author=author, caption=caption, visibility="public"
    )


def test_an_author_taking_a_post_down_is_recorded_with_actor_and_reason(
    owner: User, client_for: Client
) -> None:
    post = _post(owner)
    response = client_for(owner).post(f"/api/v1/posts/{post.pk}/takedown/")
    assert response.status_code == 200, response.json()
    record = Takedown.objects.get(post=post)
    assert (record.actor, record.reason) == (owner, "author")
    post.refresh_from_db()
    assert post.state == Post.State.TAKEN_DOWN
    assert Video.objects.get(pk=post.video_id).state == Video.State.TAKEN_DOWN


def test_a_moderator_takedown_names_the_moderator(
    owner: User, moderator: User, client_for: Client
) -> None:
    post = _post(owner)
    assert client_for(moderator).post(f"/api/v1/posts/{post.pk}/takedown/").status_code == 200
    record = Takedown.objects.get(post=post)
    assert (record.actor, record.reason) == (moderator, "moderator")


def test_a_second_takedown_keeps_the_first_record_and_time(owner: User) -> None:
    post = _post(owner)
    first = feed_services.post_take_down(post=post, actor=owner, reason="author")
    again = feed_services.post_take_down(post=post, actor=None, reason="consent_withdrawn")
    assert again.taken_down_at == first.taken_down_at
    assert list(Takedown.objects.filter(post=post).values_list("reason", flat=True)) == ["author"]
    assert Video.objects.get(pk=post.video_id).takedown_reason == "author"


def test_a_double_owner_taking_down_an_appearance_takes_the_post_down_through_feeds(
    owner: User, friend: User, client_for: Client
) -> None:
    # given a friend's published video that casts the owner's double
    cameo: Any = make_verified_cameo(owner, audience="everyone")
    post = _post(friend)
    job = Job.objects.create(owner=friend, kind="generation.render", state="succeeded")
    appearance = Appearance.objects.create(
        cameo=cameo, used_by=friend, job=job, video_id=post.video_id
    )
    # when the owner takes that appearance down
    response = client_for(owner).post(
        f"/api/v1/cameos/{cameo.id}/appearances/{appearance.pk}/takedown/"
    )
    # then the post is down from every feed, with the owner and the reason on record
    assert response.status_code == 200, response.json()
    post.refresh_from_db()
    assert post.state == Post.State.TAKEN_DOWN
    record = Takedown.objects.get(post=post)
    assert (record.actor, record.reason) == (owner, "owner_takedown")
    assert client_for(friend).get(f"/api/v1/posts/{post.pk}/").status_code == 404


def test_withdrawing_consent_records_each_post_it_takes_down(
    owner: User, friend: User, client_for: Client, django_capture_on_commit_callbacks: Any
) -> None:
    cameo: Any = make_verified_cameo(owner, audience="everyone")
    posts = [_post(friend, "one"), _post(friend, "two")]
    for post in posts:
        job = Job.objects.create(owner=friend, kind="generation.render", state="succeeded")
        Appearance.objects.create(cameo=cameo, used_by=friend, job=job, video_id=post.video_id)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(owner).post(
            "/api/v1/consent/withdraw/", {"kind": "likeness_capture"}, format="json"
        )
    assert response.json()["videos_taken_down"] == 2
    records = Takedown.objects.filter(post__in=posts)
    assert sorted(r.reason for r in records) == ["consent_withdrawn", "consent_withdrawn"]
    assert {r.actor for r in records} == {owner}
