"""Finding copies of a video among every stored one by their perceptual hashes.

Two hashers, kept together because each finds copies the other misses (bench/copies.py):
PDQ frames matched as sets (media/videohash.py: mirrored and trimmed copies) and the
keyframe fingerprint (generation/pipeline/fingerprint.py: cropped, recoloured and bannered
copies). A row's `buckets` are the keys of both, also stored one a row as numbers in
HashKey; a search counts the query's keys per video there (an index-only scan of its primary
key on PostgreSQL), reads only the rows sharing MIN_SHARED, and compares those exactly.

Every model searched here has the fields `frames`, `mirrored`, `fingerprint` and `buckets`:
media's VideoHashes (searched through HashKey), and moderation's hash list (small, searched
through a GIN index on its `buckets`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from django.db import connection, models, transaction
from django.db.models import Count, QuerySet

from generation.pipeline import fingerprint as keyframes
from media import videohash
from media.models import HashKey, Video, VideoHashes
from media.storage import local_copy

# Two shared keys, not one: the fingerprint's keyed bands collide by chance about once per
# 340 unrelated videos, two of them about once per 230,000; a copy shares dozens.
MIN_SHARED = 2
# A key's kind, above bit 40 of its number: PDQ's band digit and 32 bits (36 bits), or the
# fingerprint's sample index, band and 16 bits (28), fit below it.
KEY_TAGS = {"q": 1, "f": 2}
# key_number in SQL, over `b`, one of a row's buckets.
KEY_SQL = (
    "(((CASE left(b, 1) WHEN 'q' THEN 1 ELSE 2 END)::bigint << 40)"
    " | ('x' || lpad(substr(b, 2), 16, '0'))::bit(64)::bigint)"
)
# The keys as one array, not an IN list: one statement text whatever their number, which
# psycopg and the server handle in half the time (bench/copies.py).
CANDIDATES_SQL = (
    "SELECT video_id FROM media_hash_keys WHERE key = ANY(%s) AND video_id IS DISTINCT FROM %s "
    "GROUP BY video_id HAVING count(*) >= %s"
)
logger = logging.getLogger(__name__)
Row = TypeVar("Row", bound=models.Model)


@dataclass(frozen=True)
class Hashes:
    """What a comparison needs, from a stored row or taken from a file."""

    pdq: videohash.VideoHash
    fingerprint: keyframes.Fingerprint | None

    def buckets(self, *, both_ways: bool = False) -> list[str]:
        """The index keys: PDQ bands (and those of the mirrored frames, for a query), and the
        fingerprint's bands at their samples (fingerprint_keys)."""
        keys = set(self.pdq.buckets())
        if both_ways:
            keys |= set(self.pdq.buckets(flipped=True))
        if self.fingerprint is not None:
            keys |= fingerprint_keys(self.fingerprint, query=both_ways)
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


def fingerprint_keys(print_: keyframes.Fingerprint, *, query: bool = False) -> set[str]:
    """ "f", the sample's index, the band, its 16 bits: a band keyed by where it was sampled.

    A bare 16-bit band is shared by chance with ~250 of 1,000,000 unrelated videos; at its
    sample (and, for a query, the two next to it) with ~15. The similarity pairs samples by
    time within a step, so a copy's matching bands sit there. Flat samples' bits are noise
    and give no key (Fingerprint.buckets' flat bucket, which every flat clip shares)."""
    near = (-1, 0, 1) if query else (0,)
    keys = set()
    for index, (value, contrast) in enumerate(zip(print_.hashes, print_.contrasts, strict=True)):
        if contrast < keyframes.FULL_CONTRAST:
            continue
        for band in range(keyframes.BANDS):
            bits = (value >> (16 * band)) & 0xFFFF
            slots = (index + step for step in near if 0 <= index + step < len(print_.hashes))
            keys |= {f"f{slot:02x}{band}{bits:04x}" for slot in slots}
    return keys


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
def key_number(key: str) -> int:
    """A bucket key as HashKey stores it (migration 0005 computes the same in SQL)."""
    return KEY_TAGS[key[0]] << 40 | int(key[1:], 16)


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
    return video_hashes_store(video, hashes)


@transaction.atomic
def video_hashes_store(video: Video, hashes: Hashes) -> VideoHashes:
    """Write a video's hashes and its index keys together: the search reads only the keys,
    so a row without them is never found."""
    row, _ = VideoHashes.objects.update_or_create(
        video=video, defaults={"version": videohash.VERSION, **hashes.fields()}
    )
    HashKey.objects.filter(video=row).delete()
    HashKey.objects.bulk_create(HashKey(key=key_number(k), video=row) for k in set(row.buckets))
    return row


def hash_keys_fill() -> int:
    """Index the stored rows that have no keys (written in bulk, not by video_hashes_store)
    from their `buckets`; how many keys were added. One statement on PostgreSQL."""
    bare = VideoHashes.objects.filter(keys__isnull=True)
    if connection.vendor != "postgresql":
        made = [HashKey(key=key_number(k), video=row) for row in bare for k in set(row.buckets)]
        return len(HashKey.objects.bulk_create(made))
    sql, params = bare.values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO media_hash_keys (key, video_id) SELECT DISTINCT {KEY_SQL}, video_id "
            f"FROM media_video_hashes, jsonb_array_elements_text(buckets) AS b "
            f"WHERE video_id IN ({sql})",
            params,
        )
        return cursor.rowcount


def candidates(keys: list[str], *, min_shared: int = MIN_SHARED, exclude: Any = None) -> list[Any]:
    """The ids of the stored videos sharing at least `min_shared` of `keys`, counted in
    HashKey: on PostgreSQL from its primary key's B-tree alone (an index-only scan), so the
    keys unrelated videos share by chance cost index entries, not row reads."""
    numbers = sorted({key_number(k) for k in keys})
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(CANDIDATES_SQL, [numbers, exclude, min_shared])
            return [video_id for (video_id,) in cursor.fetchall()]
    shared = HashKey.objects.filter(key__in=numbers).exclude(video_id=exclude)
    counted = shared.values("video_id").annotate(shared=Count("*"))
    return list(counted.filter(shared__gte=min_shared).values_list("video_id", flat=True))


def sharing_buckets(
    queryset: QuerySet[Row], keys: list[str], min_shared: int = MIN_SHARED
) -> QuerySet[Row]:
    """The rows of a small table (the hash list) sharing at least `min_shared` of `keys`,
    read from its `buckets`: on PostgreSQL the GIN index finds the rows sharing one, and only
    those are counted."""
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
    """The rows of `queryset` (the hash list) that are copies of `query`, best first. A
    small table can afford min_shared=1: every chance collision is compared, and a copy
    sharing a single key is found too."""
    return _compared(sharing_buckets(queryset, query.buckets(both_ways=True), min_shared), query)


def copies_of(query: Hashes, *, exclude: Any = None) -> list[tuple[Any, float]]:
    """(video id, score) of every stored video that is a copy of `query`, best first."""
    # The ids first, then their rows by primary key: as one query's subquery the planner,
    # which cannot foresee how few pass the count, reads every row instead.
    ids = candidates(query.buckets(both_ways=True), exclude=exclude)
    rows = VideoHashes.objects.filter(pk__in=ids)
    return [(row.video_id, score) for row, score in _compared(rows, query)]


def _compared(rows: Iterable[Row], query: Hashes) -> list[tuple[Row, float]]:
    found = []
    for row in rows:
        score = copy_score(query, hashes_of(row))
        if score > 0:
            found.append((row, score))
    return sorted(found, key=lambda pair: pair[1], reverse=True)


def video_hashes_backfill(*, batch: int = 100) -> int:
    """Hash every video with a file and no hashes yet (videos kept before hashing was); how
    many were hashed."""
    done = 0
    missing = Video.objects.exclude(file="").filter(hashes__isnull=True).order_by("created_at")
    for video in missing.iterator(chunk_size=batch):
        done += video_hashes_ensure(video) is not None
    return done
