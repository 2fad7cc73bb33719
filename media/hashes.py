"""Finding copies of a video among every stored one by their perceptual hashes.

Two hashers, kept together because each finds copies the other misses (bench/copies.py):
PDQ frames matched as sets (media/videohash.py: mirrored and trimmed copies) and the
keyframe fingerprint (generation/pipeline/fingerprint.py: cropped, recoloured and bannered
copies). A row's `buckets` are the keys of both; a search reads only the rows that share
MIN_SHARED keys with the query (a GIN index on PostgreSQL), then compares those exactly.

Every model searched here has the fields `frames`, `mirrored`, `fingerprint` and `buckets`:
media's VideoHashes, and moderation's hash list.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from django.db import connection, models
from django.db.models import QuerySet

from generation.pipeline import fingerprint as keyframes
from media import videohash
from media.models import Video, VideoHashes
from media.storage import local_copy

# Two shared keys, not one: the fingerprint's 16-bit bands collide by chance about once per
# 60 unrelated videos, two of them about once per 7,000; a copy shares dozens.
MIN_SHARED = 2
logger = logging.getLogger(__name__)
Row = TypeVar("Row", bound=models.Model)


@dataclass(frozen=True)
class Hashes:
    """What a comparison needs, from a stored row or taken from a file."""

    pdq: videohash.VideoHash
    fingerprint: keyframes.Fingerprint | None

    def buckets(self, *, both_ways: bool = False) -> list[str]:
        """The index keys: PDQ bands (and those of the mirrored frames, for a query), and the
        fingerprint's bands but for its flat-frame bucket, which every flat clip shares."""
        keys = set(self.pdq.buckets())
        if both_ways:
            keys |= set(self.pdq.buckets(flipped=True))
        if self.fingerprint is not None:
            bands = self.fingerprint.buckets()
            keys |= {f"f{key:x}" for key in bands if key != keyframes.FLAT_BUCKET}
        return sorted(keys)

    def fields(self) -> dict[str, Any]:
        """The stored form, for any model with this module's five fields."""
        return {
            "frames": videohash.pack(self.pdq.frames),
            "mirrored": videohash.pack(self.pdq.mirrored),
            "times": list(self.pdq.times),
            "fingerprint": self.fingerprint.to_json() if self.fingerprint else {},
            "buckets": self.buckets(),
        }


def hashes_of_file(path: Path, fingerprint_json: dict[str, Any] | None = None) -> Hashes:
    """Hash a file; a fingerprint the pipeline already took is reused, not taken again."""
    print_ = _fingerprint(fingerprint_json) or keyframes.fingerprint(path)
    return Hashes(videohash.video_hash(path), print_)


def hashes_of(row: Any) -> Hashes:
    pdq = videohash.VideoHash(
        times=tuple(float(t) for t in (row.times or ())),
        frames=videohash.unpack(bytes(row.frames)),
        mirrored=videohash.unpack(bytes(row.mirrored)),
    )
    return Hashes(pdq, _fingerprint(row.fingerprint))


def _fingerprint(data: dict[str, Any] | None) -> keyframes.Fingerprint | None:
    if not data or data.get("version") != keyframes.VERSION:
        return None  # another format version does not compare: it is taken again
    return keyframes.Fingerprint.from_json(data)


def copy_score(query: Hashes, other: Hashes) -> float:
    """How surely `other` is a copy of `query`: 0 if neither hasher says so, else the larger
    of PDQ's score and the fingerprint's similarity among those that do."""
    scores = []
    pdq = videohash.copy_score(query.pdq, other.pdq)
    if pdq >= videohash.COPY_FRACTION:
        scores.append(pdq)
    if query.fingerprint is not None and other.fingerprint is not None:
        similar = keyframes.similarity(query.fingerprint, other.fingerprint)
        if similar >= keyframes.MATCH_THRESHOLD:
            scores.append(similar)
    return round(max(scores, default=0.0), 4)


# --- Stored hashes and the search -----------------------------------------------------------
def video_hashes_ensure(video: Video) -> VideoHashes | None:
    """The video's stored hashes, taken from its file the first time; None for a video with
    no file (nothing to compare). Idempotent: call it when a video is kept, or later."""
    found = VideoHashes.objects.filter(video=video).first()
    if found is not None and found.version == videohash.VERSION:
        return found
    if not video.file:
        return None
    try:
        with local_copy(video.file, suffix=".mp4") as path:
            hashes = hashes_of_file(path, video.fingerprint)
    except (OSError, ValueError) as exc:  # gone from storage, or no frame decodes
        logger.warning("video %s has no hashes: %s", video.pk, exc)
        return None
    row, _ = VideoHashes.objects.update_or_create(
        video=video, defaults={"version": videohash.VERSION, **hashes.fields()}
    )
    return row


def sharing_buckets(
    queryset: QuerySet[Row], keys: list[str], min_shared: int = MIN_SHARED
) -> QuerySet[Row]:
    """The rows sharing at least `min_shared` of `keys`. On PostgreSQL the GIN index on
    `buckets` finds the rows sharing one, and only those are counted."""
    if connection.vendor != "postgresql":
        wanted = set(keys)
        ids = [
            row.pk
            for row in queryset.only("pk", "buckets")
            if len(wanted & set(row.buckets)) >= min_shared  # type: ignore[attr-defined]
        ]
        return queryset.filter(pk__in=ids)
    if min_shared <= 1:
        return queryset.filter(buckets__has_any_keys=keys)
    table = queryset.model._meta.db_table
    shared = (
        f'(SELECT count(*) FROM jsonb_array_elements_text("{table}"."buckets") AS key '
        "WHERE key = ANY(%s)) >= %s"
    )
    return queryset.filter(buckets__has_any_keys=keys).extra(  # noqa: S610 (no user input)
        where=[shared], params=[keys, min_shared]
    )


def matches(
    queryset: QuerySet[Row], query: Hashes, min_shared: int = MIN_SHARED
) -> list[tuple[Row, float]]:
    """The rows of `queryset` that are copies of `query`, best first. A small table (the
    hash list) can afford min_shared=1: every chance collision is compared, and a copy
    sharing a single key is found too."""
    found = []
    for row in sharing_buckets(queryset, query.buckets(both_ways=True), min_shared):
        score = copy_score(query, hashes_of(row))
        if score > 0:
            found.append((row, score))
    return sorted(found, key=lambda pair: pair[1], reverse=True)


def copies_of(query: Hashes, *, exclude: Any = None) -> list[tuple[Any, float]]:
    """(video id, score) of every stored video that is a copy of `query`, best first."""
    rows = VideoHashes.objects.exclude(video_id=exclude) if exclude else VideoHashes.objects.all()
    return [(row.video_id, score) for row, score in matches(rows, query)]


def video_hashes_backfill(*, batch: int = 100) -> int:
    """Hash every video with a file and no hashes yet (videos kept before hashing was); how
    many were hashed."""
    done = 0
    missing = Video.objects.exclude(file="").filter(hashes__isnull=True).order_by("created_at")
    for video in missing.iterator(chunk_size=batch):
        done += video_hashes_ensure(video) is not None
    return done
