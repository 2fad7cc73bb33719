from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Follow, User
from feeds import selectors, services
from feeds.models import Post
from media.models import Video
from tests.factories import UserFactory


def make_post(
    author: User,
    *,
    prompt: str = "",
    caption: str = "",
    visibility: str = "public",
    cluster: str | None = None,
    template: str | None = None,
    age_hours: float = 0,
    likes: int = 0,
) -> Post:
    video = Video.objects.create(
        owner=author,
        prompt=prompt or f"post {Video.objects.count()}",
        width=720,
        height=1280,
        duration_s=5.0,
    )
    post = services.post_publish(video=video, author=author, caption=caption, visibility=visibility)
    changes: dict[str, Any] = {"like_count": likes}
    if cluster is not None:
        changes["cluster"] = cluster
    if template is not None:
        changes["template"] = template
    if age_hours:
        changes["created_at"] = timezone.now() - timedelta(hours=age_hours)
    Post.objects.filter(pk=post.pk).update(**changes)
    post.refresh_from_db()
    return post


def ids(response: Any) -> list[int]:
    return [card["id"] for card in response.json()["results"]]


# --- Ranking -----------------------------------------------------------------------------------
def test_a_followed_creators_fresh_post_outranks_a_stale_strangers(
    owner: User, friend: User, stranger: User
) -> None:
    Follow.objects.create(follower=owner, followee=friend)
    stale = make_post(stranger, age_hours=72, likes=3)
    fresh = make_post(friend, age_hours=1)
    ranked = selectors.for_you_ranked(owner)
    assert ranked.index(fresh.id) < ranked.index(stale.id)


def test_near_duplicates_collapse_into_one(owner: User, friend: User, stranger: User) -> None:
    copies = [make_post(u, prompt="a cat jumps on a sofa") for u in (friend, stranger, friend)]
    other = make_post(stranger, prompt="a dog surfs a wave")
    assert len({p.cluster for p in copies}) == 1  # same prompt words: one cluster
    ranked = selectors.for_you_ranked(owner)
    assert sum(1 for p in copies if p.id in ranked) == 1
    assert other.id in ranked


def test_no_creator_or_template_fills_more_than_its_share_of_a_page(owner: User) -> None:
    prolific = UserFactory()
    for i in range(30):
        make_post(prolific, likes=50, prompt=f"prolific {i}", template=f"t{i}")
    others = [UserFactory() for _ in range(20)]
    for i, user in enumerate(others):
        make_post(user, prompt=f"other {i}", template="same-template" if i < 12 else f"o{i}")
    pages = selectors.for_you_pages(owner)
    for ids_on_page in pages:
        page = [Post.objects.get(pk=i) for i in ids_on_page]
        assert sum(1 for p in page if p.author_id == prolific.pk) <= 5
        assert sum(1 for p in page if p.template == "same-template") <= 6
        assert len(page) <= selectors.PAGE
    assert len(pages[0]) >= selectors.PAGE - 1  # caps shorten a page, they do not empty it


def test_steering_in_plain_words_changes_visible_weights_and_the_ranking(
    owner: User, friend: User, client_for: Callable[[User], APIClient]
) -> None:
    prank = make_post(friend, prompt="a prank on my roommate", likes=20)
    cooking = make_post(friend, prompt="a chef cooks pasta in the kitchen")
    client = client_for(owner)
    steered = client.post("/api/v1/feeds/steering/", {"text": "more cooking, fewer pranks"})
    assert steered.json()["weights"] == {"cooking": 0.5, "pranks": -0.5}
    ranked = selectors.for_you_ranked(owner)
    assert ranked.index(cooking.id) < ranked.index(prank.id)
    client.post("/api/v1/feeds/steering/", {"text": "no pranks"})
    assert prank.id not in selectors.for_you_ranked(owner)
    assert client.delete("/api/v1/feeds/steering/").status_code == 204
    assert client.get("/api/v1/feeds/steering/").json() == {"weights": {}}
    muddled = client.post("/api/v1/feeds/steering/", {"text": "whatever"})
    assert muddled.status_code == 400 and muddled.json()["code"] == "steering_not_understood"


# --- Pagination ---------------------------------------------------------------------------------
def test_for_you_pages_never_repeat_and_new_posts_do_not_shift_them(
    owner: User, client_for: Callable[[User], APIClient]
) -> None:
    authors = [UserFactory() for _ in range(45)]
    for i, author in enumerate(authors):
        make_post(author, prompt=f"video number {i}")
    client = client_for(owner)
    first = client.get("/api/v1/feeds/for-you/")
    for i in range(10):  # others keep posting while this user scrolls
        make_post(authors[i], prompt=f"brand new {i}", likes=100)
    second = client.get("/api/v1/feeds/for-you/", {"cursor": first.json()["next"]})
    third = client.get("/api/v1/feeds/for-you/", {"cursor": second.json()["next"]})
    seen = ids(first) + ids(second) + ids(third)
    assert len(seen) == len(set(seen)) == 45
    assert third.json()["next"] is None


def test_following_pages_are_stable_under_concurrent_inserts(
    owner: User, friend: User, client_for: Callable[[User], APIClient]
) -> None:
    Follow.objects.create(follower=owner, followee=friend)
    old = [make_post(friend) for _ in range(25)]
    client = client_for(owner)
    first = client.get("/api/v1/feeds/following/")
    make_post(friend)  # a new post arrives between pages
    second = client.get("/api/v1/feeds/following/", {"before": first.json()["next"]})
    assert ids(first) + ids(second) == [p.id for p in reversed(old)]


def test_a_bad_cursor_is_a_clear_error(
    owner: User, client_for: Callable[[User], APIClient]
) -> None:
    client = client_for(owner)
    assert client.get("/api/v1/feeds/for-you/", {"cursor": "forged"}).status_code == 404
    bad = client.get("/api/v1/feeds/following/", {"before": "x"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_cursor"


# --- Visibility and takedown --------------------------------------------------------------------
def test_private_and_followers_only_posts_never_leak(
    owner: User, friend: User, stranger: User, client_for: Callable[[User], APIClient]
) -> None:
    Follow.objects.create(follower=friend, followee=owner)
    public = make_post(owner, caption="#city lights")
    followers = make_post(owner, caption="#city for friends", visibility="followers")
    private = make_post(owner, caption="#city just me", visibility="private")
    for viewer, expected in (
        (stranger, {public.id}),
        (friend, {public.id, followers.id}),
        (owner, {public.id, followers.id, private.id}),
    ):
        client = client_for(viewer)
        assert set(ids(client.get("/api/v1/hashtags/city/posts/"))) == expected
        assert set(ids(client.get(f"/api/v1/users/{owner.username}/posts/"))) == expected
        assert set(selectors.for_you_ranked(viewer)) == expected
    assert client_for(stranger).get(f"/api/v1/posts/{private.id}/").status_code == 404
    assert client_for(stranger).post(f"/api/v1/posts/{private.id}/like/").status_code == 404
    assert set(ids(APIClient().get("/api/v1/feeds/for-you/"))) == {public.id}


def test_a_taken_down_post_vanishes_from_every_feed_at_once(
    owner: User, friend: User, client_for: Callable[[User], APIClient]
) -> None:
    Follow.objects.create(follower=friend, followee=owner)
    posts = [make_post(owner, caption=f"#news {i}") for i in range(25)]
    client = client_for(friend)
    first = client.get("/api/v1/feeds/for-you/")
    victim = posts[0]
    assert client_for(owner).post(f"/api/v1/posts/{victim.id}/takedown/").status_code == 200
    second = client.get("/api/v1/feeds/for-you/", {"cursor": first.json()["next"]})
    assert victim.id not in ids(second)  # gone even from a snapshot taken before
    for url in (
        "/api/v1/feeds/following/",
        "/api/v1/hashtags/news/posts/",
        f"/api/v1/users/{owner.username}/posts/",
    ):
        assert victim.id not in ids(client.get(url))
    assert client.get(f"/api/v1/posts/{victim.id}/").status_code == 404
    assert Video.objects.get(pk=victim.video_id).state == "taken_down"


def test_only_the_author_or_a_moderator_takes_a_post_down(
    owner: User, stranger: User, moderator: User, client_for: Callable[[User], APIClient]
) -> None:
    post = make_post(owner)
    refused = client_for(stranger).post(f"/api/v1/posts/{post.id}/takedown/")
    assert refused.status_code == 403
    assert client_for(moderator).post(f"/api/v1/posts/{post.id}/takedown/").status_code == 200


# --- Engagement ---------------------------------------------------------------------------------
def test_likes_comments_shares_and_views_keep_their_counts(
    owner: User, friend: User, client_for: Callable[[User], APIClient]
) -> None:
    post = make_post(owner)
    client = client_for(friend)
    assert client.post(f"/api/v1/posts/{post.id}/like/").json() == {"liked": True, "like_count": 1}
    assert client.post(f"/api/v1/posts/{post.id}/like/").json()["like_count"] == 1  # idempotent
    top = client.post(f"/api/v1/posts/{post.id}/comments/", {"body": "Nice!"}).json()
    reply = client.post(f"/api/v1/posts/{post.id}/comments/", {"body": "ty", "parent": top["id"]})
    assert reply.status_code == 201
    deeper = client.post(
        f"/api/v1/posts/{post.id}/comments/", {"body": "too deep", "parent": reply.json()["id"]}
    )
    assert deeper.status_code == 400 and deeper.json()["code"] == "comment_thread_too_deep"
    client.post(f"/api/v1/posts/{post.id}/share/", {"channel": "link"})
    assert client.post(f"/api/v1/posts/{post.id}/views/", {"watch_ms": 4800}).json() == {
        "completed": True
    }
    client.post(f"/api/v1/posts/{post.id}/views/", {"watch_ms": 1000})
    post.refresh_from_db()
    assert (post.like_count, post.comment_count, post.share_count) == (1, 2, 1)
    assert (post.view_count, post.completion_count) == (2, 1)
    assert client.delete(f"/api/v1/posts/{post.id}/like/").json()["like_count"] == 0


@pytest.mark.services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_like_count_is_right_under_concurrent_likes() -> None:
    assert connection.vendor == "postgresql"
    author = UserFactory()
    post = make_post(author)
    fans = [UserFactory() for _ in range(12)]
    barrier = threading.Barrier(24)

    def like(user: User) -> None:
        barrier.wait()
        try:
            services.post_like(post=post, user=user)
        finally:
            connection.close()

    threads = [threading.Thread(target=like, args=(fan,)) for fan in fans * 2]  # each likes twice
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    post.refresh_from_db()
    assert post.like_count == 12 == post.likes.count()


def test_publishing_makes_a_post_with_layout_and_credits(
    owner: User, client_for: Callable[[User], APIClient]
) -> None:
    video = Video.objects.create(
        owner=owner,
        width=720,
        height=1280,
        duration_s=9.0,
        prompt="a dancer",
        manifest={"generated": True},
        provenance_backend="c2pa",
    )
    response = client_for(owner).post(
        f"/api/v1/videos/{video.id}/publish/", {"caption": "First! #dance #Fun"}
    )
    assert response.status_code == 201, response.json()
    card = response.json()
    assert sorted(card["hashtags"]) == ["dance", "fun"]
    assert (card["video"]["width"], card["video"]["height"], card["video"]["duration_s"]) == (
        720,
        1280,
        9.0,
    )
    assert card["provenance"] == {"generated": True, "backend": "c2pa"}
    again = client_for(owner).post(f"/api/v1/videos/{video.id}/publish/", {"caption": "x"})
    assert again.status_code == 409 and again.json()["code"] == "video_not_draft"


def test_trending_is_engagement_decayed_by_age(owner: User, friend: User) -> None:
    old_hit = make_post(friend, likes=40, age_hours=48)
    new_hit = make_post(friend, likes=40, age_hours=2)
    quiet = make_post(friend, likes=0, age_hours=1)
    assert services.trending_refresh() == 3
    scores = {p.pk: p.trending_score for p in Post.objects.all()}
    assert scores[new_hit.pk] > scores[old_hit.pk] > scores[quiet.pk] == 0


def test_remixes_keep_their_lineage_and_are_listed_under_their_source(
    owner: User, friend: User, stranger: User, client_for: Callable[[User], APIClient]
) -> None:
    source = make_post(owner, prompt="the original dance")
    video = Video.objects.create(
        owner=friend, prompt="a remix of the dance", width=720, height=1280, duration_s=5.0
    )
    remix = services.post_publish(
        video=video, author=friend, caption="my take", visibility="public", remix_of=source
    )
    hidden = Video.objects.create(owner=stranger, prompt="a private remix", duration_s=5.0)
    services.post_publish(
        video=hidden, author=stranger, caption="", visibility="private", remix_of=source
    )
    client = client_for(owner)
    assert ids(client.get(f"/api/v1/posts/{source.id}/remixes/")) == [remix.id]
    card = client.get(f"/api/v1/posts/{remix.id}/").json()
    assert card["remix_of"] == {"id": source.id, "author": owner.username}
    assert client.get(f"/api/v1/posts/{source.id}/").json()["remix_count"] == 2
