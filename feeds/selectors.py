"""Reads: who may see which post, the chronological feeds, and the ranked For You feed."""

from __future__ import annotations

import math
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import Follow, User
from config.api import parse_uuid
from config.errors import NotFoundError
from feeds.models import Like, Post, TopicWeight, View
from media.models import Video

PAGE = 20
RANKING_FIELDS = (
    "id",
    "author_id",
    "created_at",
    "like_count",
    "share_count",
    "comment_count",
    "view_count",
    "completion_count",
    "cluster",
    "template",
    "topic",
)
SNAPSHOT_SIZE = 400
SNAPSHOT_TTL = 3600
CREATOR_SHARE, TEMPLATE_SHARE = 0.25, 0.3  # most of a page one creator / template may fill


def visible_posts(viewer: User | None) -> QuerySet[Post]:
    """Live posts the viewer may see: public, followers-only from people they follow, their own.

    A post an automated check held is seen by its author and staff only, until a moderator
    releases it; an age-restricted post is never in the anonymous (public preview) feeds."""
    if viewer is None or not viewer.is_authenticated:
        return Post.objects.filter(
            state=Post.State.LIVE, visibility=Post.Visibility.PUBLIC, age_restricted=False
        )
    followed = Follow.objects.filter(follower=viewer).values("followee_id")
    audience = (
        Q(visibility=Post.Visibility.PUBLIC)
        | Q(visibility=Post.Visibility.FOLLOWERS, author_id__in=followed)
        | Q(author_id=viewer.pk)
    )
    held = Q(state=Post.State.HELD) if viewer.is_staff else Q(state=Post.State.HELD, author=viewer)
    return Post.objects.filter(audience).filter(Q(state=Post.State.LIVE) | held)


def access_post(*, viewer: User | None, post_id: Any) -> Post:
    try:
        post = visible_posts(viewer).select_related("video", "author").get(pk=int(post_id))
    except (Post.DoesNotExist, ValueError, TypeError):
        raise NotFoundError("No such post.") from None
    return post


def visible_videos(viewer: User | None) -> QuerySet[Video]:
    """The viewer's own videos, and published ones whose post the viewer may see.

    A published video is exactly as visible as its post (public, followers-only, private,
    taken down), so the rule is the posts' rule, not a second copy of it."""
    posted = Video.objects.filter(
        state=Video.State.PUBLISHED, post__in=visible_posts(viewer).values("pk")
    )
    if viewer is None or not viewer.is_authenticated:
        return posted
    return Video.objects.filter(Q(owner_id=viewer.pk) | Q(pk__in=posted.values("pk")))


def access_video(*, user: User | None, video_id: Any) -> Video:
    """The video if `user` owns it or may see its post; 404 otherwise (drafts, private and
    followers-only posts of others, anything taken down but one's own)."""
    video_uuid = parse_uuid(video_id)
    video = visible_videos(user).filter(id=video_uuid).first() if video_uuid else None
    if video is None:
        raise NotFoundError("No such video.")
    return video


def remix_source_of(video: Video) -> Post | None:
    """The post a remix's video was made from (remix.Remix.video's reverse side), if any."""
    try:
        remix = video.remix
    except ObjectDoesNotExist:
        return None
    source: Post | None = remix.source_post
    return source


def with_cards(posts: QuerySet[Post]) -> QuerySet[Post]:
    return posts.select_related("video", "author", "remix_of__author").prefetch_related(
        "hashtags", "video__appearances__cameo__owner"
    )


def following_feed(viewer: User) -> QuerySet[Post]:
    followed = Follow.objects.filter(follower=viewer).values("followee_id")
    return visible_posts(viewer).filter(author_id__in=followed)


def profile_feed(viewer: User | None, author: User) -> QuerySet[Post]:
    return visible_posts(viewer).filter(author=author)


def hashtag_feed(viewer: User | None, tag: str) -> QuerySet[Post]:
    return visible_posts(viewer).filter(hashtags__name=tag.lower().lstrip("#"))


def remixes_feed(viewer: User | None, post: Post) -> QuerySet[Post]:
    return visible_posts(viewer).filter(remix_of=post)


# --- For You ----------------------------------------------------------------------------------
def _candidates(viewer: User | None) -> list[Post]:
    visible = visible_posts(viewer)
    now = timezone.now()
    ids: set[int] = set()
    if viewer is not None and viewer.is_authenticated:
        followed = Follow.objects.filter(follower=viewer).values("followee_id")
        ids |= set(
            visible.filter(author_id__in=followed, created_at__gte=now - timedelta(days=7))
            .order_by("-id")
            .values_list("id", flat=True)[:150]
        )
        liked = Like.objects.filter(user=viewer).values("post_id")
        ids |= set(
            visible.filter(remix_of_id__in=liked).order_by("-id").values_list("id", flat=True)[:100]
        )
    ids |= set(visible.order_by("-trending_score").values_list("id", flat=True)[:200])
    ids |= set(visible.order_by("-id").values_list("id", flat=True)[:150])
    # Only what ranking reads: the cards are loaded later for the one page shown.
    return list(Post.objects.filter(id__in=ids).only(*RANKING_FIELDS))


def _affinity(viewer: User | None, authors: set[int]) -> dict[int, float]:
    if viewer is None or not viewer.is_authenticated:
        return {}
    likes = Like.objects.filter(user=viewer, post__author_id__in=authors).values("post__author_id")
    views = View.objects.filter(user=viewer, post__author_id__in=authors).values("post__author_id")
    counts: Counter[int] = Counter()
    for row in likes.annotate(n=Count("id")):
        counts[row["post__author_id"]] += 2 * row["n"]
    for row in views.annotate(n=Count("id")):
        counts[row["post__author_id"]] += row["n"]
    followed = set(
        Follow.objects.filter(follower=viewer, followee_id__in=authors).values_list(
            "followee_id", flat=True
        )
    )
    return {a: math.log1p(counts[a]) + (1.5 if a in followed else 0.0) for a in authors}


def score(post: Post, *, now: Any, affinity: float, topic_weight: float) -> float:
    """Engagement, completion, recency and affinity to the creator, nudged by steering."""
    engagement = math.log1p(post.like_count + 2 * post.share_count + post.comment_count)
    completion = post.completion_count / post.view_count if post.view_count else 0.5
    age_hours = max(0.0, (now - post.created_at).total_seconds() / 3600)
    recency = math.exp(-age_hours / 24)
    return engagement * 0.6 + completion * 1.0 + recency * 2.0 + affinity + topic_weight * 2.0


def diversify(ranked: list[Post], page: int = PAGE) -> list[list[Post]]:
    """Collapse near-duplicates to their best post, then deal posts into pages in which no
    creator or template passes its share. A page comes out short rather than break a cap."""
    seen_clusters: set[str] = set()
    unique = []
    for post in ranked:
        if post.cluster and post.cluster in seen_clusters:
            continue
        seen_clusters.add(post.cluster)
        unique.append(post)
    pages: list[list[Post]] = []
    pending = unique
    while pending:
        window: list[Post] = []
        creators: Counter[int] = Counter()
        templates: Counter[str] = Counter()
        deferred = []
        creator_cap = max(1, int(CREATOR_SHARE * page))
        template_cap = max(1, int(TEMPLATE_SHARE * page))
        for post in pending:
            full = len(window) == page
            capped = creators[post.author_id] >= creator_cap or (
                bool(post.template) and templates[post.template] >= template_cap
            )
            if full or capped:
                deferred.append(post)
                continue
            window.append(post)
            creators[post.author_id] += 1
            templates[post.template] += 1
        if not window:  # only capped posts are left: let them through rather than stall
            window, deferred = deferred[:page], deferred[page:]
        pages.append(window)
        pending = deferred
    return pages


def for_you_pages(viewer: User | None) -> list[list[int]]:
    posts = _candidates(viewer)
    now = timezone.now()
    affinity = _affinity(viewer, {p.author_id for p in posts})
    weights: dict[str, float] = {}
    if viewer is not None and viewer.is_authenticated:
        weights = dict(TopicWeight.objects.filter(user=viewer).values_list("topic", "weight"))
    ranked = sorted(
        posts,
        key=lambda p: score(
            p,
            now=now,
            affinity=affinity.get(p.author_id, 0.0),
            topic_weight=weights.get(p.topic, 0.0),
        ),
        reverse=True,
    )
    ranked = [p for p in ranked if weights.get(p.topic, 0.0) > -1.0]  # "no pranks" means none
    return [[p.id for p in page] for page in diversify(ranked[:SNAPSHOT_SIZE])]


def for_you_ranked(viewer: User | None) -> list[int]:
    return [post_id for page in for_you_pages(viewer) for post_id in page]


_SALT = "feeds.for_you"


def for_you_page(viewer: User | None, cursor: str | None) -> tuple[list[Post], str | None]:
    """A page of the ranked feed. The ranking is computed once per scroll session and kept,
    so scrolling never repeats a post and new posts do not shift pages already read."""
    user_key = viewer.pk if viewer is not None and viewer.is_authenticated else 0
    if cursor:
        try:
            session, offset, owner = signing.loads(cursor, salt=_SALT, max_age=SNAPSHOT_TTL)
        except signing.BadSignature:
            raise NotFoundError("This feed cursor is invalid or has expired.") from None
        if owner != user_key:
            raise NotFoundError("This feed cursor is not yours.")
        pages = cache.get(f"foryou:{session}")
        if pages is None:
            raise NotFoundError("This feed session has expired; start again from the top.")
    else:
        session, offset = uuid.uuid4().hex, 0
        pages = for_you_pages(viewer)
        cache.set(f"foryou:{session}", pages, SNAPSHOT_TTL)
    chunk = pages[offset] if offset < len(pages) else []
    # Visibility and takedowns are applied at read time: a post taken down vanishes at once.
    found = {p.id: p for p in with_cards(visible_posts(viewer).filter(id__in=chunk))}
    page = [found[i] for i in chunk if i in found]
    more = offset + 1 < len(pages)
    next_cursor = signing.dumps((session, offset + 1, user_key), salt=_SALT) if more else None
    return page, next_cursor
