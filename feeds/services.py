"""Writes on posts: publish, engage (counts kept by atomic updates), take down, steer."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Follow, User
from config import screens
from config.errors import ApplicationError
from feeds.models import Comment, Hashtag, Like, Post, Share, Takedown, TopicWeight, View
from media.models import Video
from media.services import video_restore, video_take_down

HASHTAG = re.compile(r"#(\w{1,60})")
TOPICS = {
    "cooking": ("cook", "chef", "kitchen", "recipe", "food", "bake", "cooking"),
    "pranks": ("prank", "pranks", "trick", "gotcha"),
    "sports": ("sport", "run", "runner", "ball", "jump", "skate", "skater", "football"),
    "dance": ("dance", "dancing", "dancer", "choreo"),
    "pets": ("dog", "cat", "puppy", "kitten", "pet", "pets"),
    "comedy": ("funny", "comedy", "joke", "silly", "lol"),
    "travel": ("beach", "travel", "trip", "city", "street", "forest"),
    "music": ("music", "song", "sing", "band"),
}
DUPLICATE_SIMILARITY = 0.85
RECENT_FOR_DUPLICATES = 500


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def topic_of(text: str) -> str:
    words = _words(text)
    counts = {topic: sum(words.count(k) for k in keys) for topic, keys in TOPICS.items()}
    topic, hits = max(counts.items(), key=lambda item: item[1])
    return topic if hits else "general"


def template_of(storyboard: dict[str, Any]) -> str:
    """The storyboard's shape: framings, moves and verbs per shot, and the setting."""
    if not storyboard.get("shots"):
        return ""  # not made from a storyboard: no template to share
    shape = [storyboard.get("setting")] + [
        (s.get("framing"), s.get("camera_move"), tuple(a.get("verb") for a in s.get("actions", [])))
        for s in storyboard.get("shots", [])
    ]
    return hashlib.sha1(repr(shape).encode()).hexdigest()[:12]


def _prompt_key(prompt: str) -> str:
    return hashlib.sha1(" ".join(sorted(set(_words(prompt)))).encode()).hexdigest()[:12]


def cluster_for(video: Video) -> str:
    """Near-duplicates share a cluster: the same prompt words, or keyframes that look alike."""
    from generation.pipeline.fingerprint import VERSION, Fingerprint, similarity

    if video.fingerprint.get("version") == VERSION:
        mine = Fingerprint.from_json(video.fingerprint)
        recent = Post.objects.select_related("video").order_by("-id")[:RECENT_FOR_DUPLICATES]
        for post in recent:
            theirs = post.video.fingerprint
            if (
                theirs.get("version") == VERSION
                and similarity(mine, Fingerprint.from_json(theirs)) >= DUPLICATE_SIMILARITY
            ):
                return post.cluster
    return f"p{_prompt_key(video.prompt)}" if video.prompt.strip() else f"v{video.id.hex[:12]}"


@transaction.atomic
def post_publish(
    *, video: Video, author: User, caption: str, visibility: str, remix_of: Post | None = None
) -> Post:
    if video.owner_id != author.pk:
        raise ApplicationError("not_found", "No such video.", 404)
    if video.state != Video.State.DRAFT:
        raise ApplicationError("video_not_draft", f"This video is {video.state}.", 409)
    post = Post.objects.create(
        video=video,
        author=author,
        caption=caption,
        visibility=visibility,
        remix_of=remix_of,
        cluster=cluster_for(video),
        template=template_of(video.storyboard),
        topic=topic_of(" ".join([video.prompt, caption])),
    )
    names = {tag.lower() for tag in HASHTAG.findall(caption)}
    post.hashtags.set([Hashtag.objects.get_or_create(name=name)[0] for name in names])
    Video.objects.filter(pk=video.pk).update(state=Video.State.PUBLISHED)
    if remix_of is not None:
        Post.objects.filter(pk=remix_of.pk).update(remix_count=F("remix_count") + 1)
    _publish_screen(post, video=video, author=author, caption=caption)
    return post


def _caption_screen(post: Post, caption: str) -> None:
    """The PUBLISH checks again on an edited caption: a refusal leaves the post as it was; the
    new verdicts replace the old ones of the same checks on post.checks (saved by the caller).
    A hold holds the post, as at publishing."""
    subject = screens.Subject(
        point=screens.Point.PUBLISH,
        user=post.author,
        texts={"caption": caption},
        video=post.video,
        post=post,
    )
    verdicts = screens.screen(subject)
    screens.refuse_if_any(verdicts)
    names = {v.check for v in verdicts}
    kept = [c for c in post.checks if c.get("check") not in names]
    post.checks = kept + screens.as_dicts(verdicts)
    if screens.holds(verdicts) and post.state == Post.State.LIVE:
        Post.objects.filter(pk=post.pk).update(state=Post.State.HELD)
        post.state = Post.State.HELD
    screens.held(subject, verdicts)


def _publish_screen(post: Post, *, video: Video, author: User, caption: str) -> None:
    """The PUBLISH checks on a post just created in the caller's transaction. A refusal raises,
    so the post is never made and the draft stays a draft to edit and publish again; a hold
    here or on the rendered output (video.checks) holds the post for a moderator."""
    subject = screens.Subject(
        point=screens.Point.PUBLISH,
        user=author,
        texts={"caption": caption},
        video=video,
        post=post,
    )
    verdicts = screens.screen(subject)
    screens.refuse_if_any(verdicts)
    output = [screens.Verdict.from_dict(v) for v in video.checks]
    post.checks = screens.as_dicts(output + verdicts)
    fields = ["checks"]
    if screens.holds(output + verdicts):
        post.state = Post.State.HELD
        fields.append("state")
    post.save(update_fields=fields)
    screens.held(subject, output + verdicts)


@transaction.atomic
def post_update(*, post: Post, allow_remix: bool | None = None, caption: str | None = None) -> Post:
    """The author's edits: whether others may remix the post, and its caption."""
    fields = []
    if allow_remix is not None:
        post.allow_remix = allow_remix
        fields.append("allow_remix")
    if caption is not None:
        _caption_screen(post, caption)  # an edit must not carry what publishing refuses
        post.caption = caption
        fields.extend(["caption", "checks"])
        names = {tag.lower() for tag in HASHTAG.findall(caption)}
        post.hashtags.set([Hashtag.objects.get_or_create(name=name)[0] for name in names])
    if fields:
        post.save(update_fields=fields)
    return post


# --- Engagement: a row per act, and the post's counter moved in the same transaction --------
def _bump(post: Post, field: str, by: int) -> None:
    Post.objects.filter(pk=post.pk).update(**{field: F(field) + by})


@transaction.atomic
def post_like(*, post: Post, user: User) -> bool:
    try:
        with transaction.atomic():
            Like.objects.create(post=post, user=user)
    except IntegrityError:
        return False  # liked already: the count must not move
    _bump(post, "like_count", 1)
    return True


@transaction.atomic
def post_unlike(*, post: Post, user: User) -> bool:
    deleted, _ = Like.objects.filter(post=post, user=user).delete()
    if deleted:
        _bump(post, "like_count", -1)
    return bool(deleted)


@transaction.atomic
def post_comment(*, post: Post, user: User, body: str, parent: Comment | None = None) -> Comment:
    if parent is not None and (parent.post_id != post.pk or parent.parent_id is not None):
        raise ApplicationError("comment_thread_too_deep", "Replies go one level deep.", 400)
    comment = Comment.objects.create(post=post, author=user, body=body, parent=parent)
    _bump(post, "comment_count", 1)
    return comment


@transaction.atomic
def post_share(*, post: Post, user: User, channel: str) -> Share:
    share = Share.objects.create(post=post, user=user, channel=channel)
    _bump(post, "share_count", 1)
    return share


@transaction.atomic
def post_view(*, post: Post, user: User | None, watch_ms: int) -> View:
    duration_ms = int(post.video.duration_s * 1000)
    completed = duration_ms > 0 and watch_ms >= 0.9 * duration_ms
    view = View.objects.create(post=post, user=user, watch_ms=watch_ms, completed=completed)
    Post.objects.filter(pk=post.pk).update(
        view_count=F("view_count") + 1, completion_count=F("completion_count") + int(completed)
    )
    return view


@transaction.atomic
def post_take_down(*, post: Post, actor: User | None, reason: str) -> Post:
    """Take the post down from every feed at once, and its video with it, and record who
    did it and why. The only code that takes a post down; a second call changes nothing."""
    now = timezone.now()
    updated = (
        Post.objects.filter(pk=post.pk)
        .exclude(state=Post.State.TAKEN_DOWN)
        .update(state=Post.State.TAKEN_DOWN, taken_down_at=now)
    )
    if updated:
        Takedown.objects.create(post=post, actor=actor, reason=reason)
    video_take_down(video_id=post.video_id, reason=reason)
    post.refresh_from_db()
    return post


@transaction.atomic
def post_restore(*, post: Post, actor: User, reason: str) -> Post:
    """Put a taken-down post back (a moderator's decision, or an upheld appeal)."""
    if post.state != Post.State.TAKEN_DOWN:
        raise ApplicationError("post_not_taken_down", "This post is not taken down.", 409)
    Post.objects.filter(pk=post.pk).update(state=Post.State.LIVE, taken_down_at=None)
    video_restore(video_id=post.video_id)
    Takedown.objects.filter(post=post, restored_at__isnull=True).update(
        restored_at=timezone.now(), restored_by=actor, restore_reason=reason
    )
    post.refresh_from_db()
    return post


def post_age_restrict(*, post: Post, restricted: bool) -> Post:
    """Show the post only to signed-in viewers (never the public preview), or lift that.
    The moderator's decision that asks for it is the audit record."""
    Post.objects.filter(pk=post.pk).update(age_restricted=restricted)
    post.refresh_from_db()
    return post


def post_hold_release(*, post: Post) -> Post:
    """A moderator found nothing wrong with a post an automated check held: it goes live."""
    Post.objects.filter(pk=post.pk, state=Post.State.HELD).update(state=Post.State.LIVE)
    post.refresh_from_db()
    return post


# --- The social graph ---------------------------------------------------------------------
def follow(*, follower: User, followee: User) -> None:
    if follower.pk == followee.pk:
        raise ApplicationError("follow_self", "You cannot follow yourself.", 400)
    Follow.objects.get_or_create(follower=follower, followee=followee)


def unfollow(*, follower: User, followee: User) -> None:
    Follow.objects.filter(follower=follower, followee=followee).delete()


# --- Steering in plain words --------------------------------------------------------------
STEER = re.compile(r"\b(more|less|fewer|no|stop|lots of|much more)\s+([a-z ]+?)(?=,|\.|;| and |$)")


def _topic_for_phrase(phrase: str) -> str | None:
    words = _words(phrase)
    for topic, keys in TOPICS.items():
        if topic in words or any(k in words for k in keys):
            return topic
    return None


@transaction.atomic
def feed_steer(*, user: User, text: str) -> dict[str, float]:
    """'more cooking, fewer pranks' -> cooking +0.5, pranks -0.5 (clamped to -1..1)."""
    changes: dict[str, float] = {}
    for verb, phrase in STEER.findall(text.lower()):
        topic = _topic_for_phrase(phrase)
        if topic is None:
            continue
        delta = {"more": 0.5, "lots of": 0.8, "much more": 0.8}.get(verb, -0.5)
        if verb in ("no", "stop"):
            delta = -1.0
        changes[topic] = changes.get(topic, 0.0) + delta
    if not changes:
        raise ApplicationError(
            "steering_not_understood",
            "Say what you want more or less of, e.g. 'more cooking, fewer pranks'.",
            400,
        )
    for topic, delta in changes.items():
        row, _ = TopicWeight.objects.get_or_create(user=user, topic=topic, defaults={"weight": 0})
        row.weight = max(-1.0, min(1.0, row.weight + delta))
        row.save(update_fields=["weight", "updated_at"])
    return dict(TopicWeight.objects.filter(user=user).values_list("topic", "weight"))


def feed_steer_reset(*, user: User) -> None:
    TopicWeight.objects.filter(user=user).delete()


def trending_refresh(*, now: Any = None, window_days: int = 7) -> int:
    """Time-decayed engagement for recent posts (a gravity score), run on a schedule."""
    from datetime import timedelta

    now = now or timezone.now()
    recent = Post.objects.filter(
        state=Post.State.LIVE, created_at__gte=now - timedelta(days=window_days)
    ).only("id", "created_at", "like_count", "share_count", "comment_count", "completion_count")
    batch: list[Post] = []
    count = 0
    for post in recent.iterator(chunk_size=2000):
        age_hours = max(0.0, (now - post.created_at).total_seconds() / 3600)
        engagement = (
            post.like_count
            + 2 * post.share_count
            + post.comment_count
            + 0.5 * post.completion_count
        )
        post.trending_score = engagement / (age_hours + 2.0) ** 1.5
        batch.append(post)
        if len(batch) == 2000:
            count += Post.objects.bulk_update(batch, ["trending_score"])
            batch = []
    count += Post.objects.bulk_update(batch, ["trending_score"]) if batch else 0
    stale = Post.objects.filter(created_at__lt=now - timedelta(days=window_days))
    stale.exclude(trending_score=0).update(trending_score=0)
    return count
