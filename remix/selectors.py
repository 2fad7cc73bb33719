"""Reads for remixes: access helpers and lineage."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from config.api import owned_or_404
from feeds.models import Post
from remix.models import Remix

MAX_LINEAGE = 64  # remix chains deeper than this are cut at the oldest end


def access_remix(*, user: User, remix_id: Any) -> Remix:
    return owned_or_404(
        Remix.objects.select_related("job", "video", "source_post"),
        user=user,
        object_id=remix_id,
        what="remix",
    )


def ancestry_of(post: Post) -> list[Post]:
    """`post`, then the post it was remixed from, and so on up to the root.

    Follows remix_of links; a link to a deleted post ends the chain there (SET_NULL).
    """
    chain: list[Post] = []
    seen: set[int] = set()
    current: Post | None = post
    while current is not None and current.pk not in seen and len(chain) < MAX_LINEAGE:
        chain.append(current)
        seen.add(current.pk)
        parent_id = current.remix_of_id
        current = (
            Post.objects.select_related("author").filter(pk=parent_id).first()
            if parent_id
            else None
        )
    return chain


def lineage_of(post: Post) -> list[dict[str, Any]]:
    """The chain of posts this one was remixed from, root first, ending with `post` itself."""
    chain = ancestry_of(post)
    return [
        {"post": p.pk, "video": str(p.video_id), "author": p.author.username, "state": p.state}
        for p in reversed(chain)
    ]
