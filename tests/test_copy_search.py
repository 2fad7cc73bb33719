"""The copy search's index: keys counted in media_hash_keys, rows read only for candidates."""

from __future__ import annotations

import random
from dataclasses import replace
from importlib import import_module

from accounts.models import User
from generation.pipeline.fingerprint import Fingerprint
from media import hashes as media_hashes
from media.hashes import Hashes
from media.models import HashKey, Video, VideoHashes
from media.videohash import VideoHash

SAMPLES = 16


def _random_hashes(rng: random.Random) -> Hashes:
    """Unrelated to any other: random PDQ frames and fingerprint (as bench/copies.py)."""
    print_ = Fingerprint(
        duration_s=6.0,
        aspect=0.5625,
        times=tuple(round((i + 0.5) * 6.0 / SAMPLES, 3) for i in range(SAMPLES)),
        hashes=tuple(rng.getrandbits(64) for _ in range(SAMPLES)),
        masks=tuple(sum(1 << b for b in rng.sample(range(64), 32)) for _ in range(SAMPLES)),
        colours=tuple(rng.randbytes(48) for _ in range(SAMPLES)),
        contrasts=tuple(rng.randint(14, 60) for _ in range(SAMPLES)),
    )
    frames = tuple(rng.randbytes(32) for _ in range(12))
    mirrored = tuple(rng.randbytes(32) for _ in range(12))
    return Hashes(VideoHash((), frames, mirrored), print_)


def _sharing_bands(hashes: Hashes, query: Hashes, samples: list[int]) -> Hashes:
    """`hashes` with its fingerprint's lowest 16-bit band at each of `samples` the query's."""
    assert hashes.fingerprint is not None and query.fingerprint is not None
    values = list(hashes.fingerprint.hashes)
    for index in samples:
        values[index] = (values[index] & ~0xFFFF) | (query.fingerprint.hashes[index] & 0xFFFF)
    return replace(hashes, fingerprint=replace(hashes.fingerprint, hashes=tuple(values)))


def _stored(owner: User, hashes: Hashes) -> Video:
    video = Video.objects.create(owner=owner, duration_s=6.0)
    media_hashes.video_hashes_store(video, hashes)
    return video


def test_the_search_reads_the_key_table_not_the_stored_buckets(owner: User) -> None:
    # given a stored video and its copy (the same hashes), whose jsonb buckets are emptied
    rng = random.Random(1)
    original = _random_hashes(rng)
    video = _stored(owner, original)
    VideoHashes.objects.filter(video=video).update(buckets=[])
    # when its copies are searched for
    found = media_hashes.copies_of(original)
    # then it is found through its keys alone
    assert [video_id for video_id, _ in found] == [video.pk]
    assert HashKey.objects.filter(video_id=video.pk).count() == len(original.buckets())


def test_a_video_sharing_one_key_by_chance_is_not_a_candidate_and_two_are(owner: User) -> None:
    rng = random.Random(2)
    query = _random_hashes(rng)
    one = _stored(owner, _sharing_bands(_random_hashes(rng), query, [3]))
    two = _stored(owner, _sharing_bands(_random_hashes(rng), query, [3, 9]))
    _stored(owner, _random_hashes(rng))
    candidates = set(media_hashes.candidates(query.buckets(both_ways=True)))
    assert one.pk not in candidates
    assert candidates == {two.pk}
    # and a candidate is still compared: two shared bands do not make a copy
    assert media_hashes.copies_of(query) == []


def test_a_stored_video_is_found_again_after_its_hashes_are_rewritten(owner: User) -> None:
    rng = random.Random(3)
    first, second = _random_hashes(rng), _random_hashes(rng)
    video = _stored(owner, first)
    media_hashes.video_hashes_store(video, second)
    assert media_hashes.copies_of(first) == []
    assert [video_id for video_id, _ in media_hashes.copies_of(second)] == [video.pk]


def test_rows_written_in_bulk_get_the_keys_the_store_writes(owner: User) -> None:
    # given one video's hashes stored by the service, and another's written bare, as in bulk
    rng = random.Random(4)
    hashes = _random_hashes(rng)
    stored = _stored(owner, hashes)
    bare = Video.objects.create(owner=owner, duration_s=6.0)
    VideoHashes.objects.create(video=bare, version="pdq-v2", **hashes.fields())
    # when the bare rows are filled in
    media_hashes.hash_keys_fill()
    # then both have the same keys, and the migration would have computed the same buckets

    def keys(video: Video) -> set[int]:
        return set(HashKey.objects.filter(video_id=video.pk).values_list("key", flat=True))

    assert keys(bare) == keys(stored) == {media_hashes.key_number(k) for k in hashes.buckets()}
    migration = import_module("media.migrations.0005_hash_keys")
    assert hashes.fingerprint is not None
    assert migration.fingerprint_keys(hashes.fingerprint.to_json()) == (
        media_hashes.fingerprint_keys(hashes.fingerprint)
    )
