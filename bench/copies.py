"""Benchmark: finding copies of a removed video, two ways measured.

1. Which hasher finds edited copies: Meta's PDQ on frames every half second, matched as
   sets (media/videohash.py), and the project's own keyframe fingerprint
   (generation/pipeline/fingerprint.py), on the same clips and the same edits (re-encode
   CRF 36, half scale, 8% crop, colour shift, banner, 15 fps, letterbox over a blur, first
   2 s trimmed, 4 s cut from the middle, 10 % faster and slower, mirror), and how often
   each matches clips that are not copies at all.
   Rows "both" (either hasher: what media.hashes keeps) and "indexed" (what the search
   returns: the bucket pre-filter, then the comparison).
2. The time to find every copy of one video among N stored videos (100,000): N rows of
   uniformly random frame hashes with their index keys (media_hash_keys), a few planted
   copies (edited: bits flipped, frames dropped, mirrored), written in bulk (COPY), VACUUM
   ANALYZE, then media.hashes.copies_of timed, p50 and p99, in its own PostgreSQL database;
   then one search each for other stored videos, whose index pages no search has read yet.
   At 1,000,000 the seeding takes about 18 minutes on two cores and 20 GB of disk.

    .venv/bin/python bench/copies.py [--clips 4] [--seconds 8] [--videos 100000] [--runs 50]
    .venv/bin/python bench/copies.py --tiny   # 2 clips of 4 s, 2,000 videos, 10 runs, for CI

Needs ffmpeg and PostgreSQL as for `make test` (database doubletake_copiesbench, dropped and
re-created).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from harness import parse_args, percentiles, setup_django  # noqa: E402

PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB = "doubletake_copiesbench"
SIZE = (288, 512)  # portrait, as the app renders
# The clips that get copied, then clips that are no copy of anything (two of them close kin:
# testsrc is testsrc2's older layout, smptebars the SD cousin of smptehdbars).
SOURCES = ["testsrc2", "mandelbrot", "life", "cellauto"]
UNRELATED = ["testsrc", "smptehdbars", "smptebars", "yuvtestsrc", "rgbtestsrc"]
EDITS: dict[str, list[str]] = {
    "crf36": ["-crf", "36"],
    "half_scale": ["-vf", "scale=trunc(iw/4)*2:trunc(ih/4)*2"],
    "crop_8pct": ["-vf", "crop=trunc(iw*0.92/2)*2:trunc(ih*0.92/2)*2"],
    "colour_shift": ["-vf", "hue=h=40:s=1.3,eq=brightness=0.06:gamma=1.15"],
    "banner": ["-vf", "drawbox=x=0:y=ih*0.78:w=iw:h=ih*0.14:color=yellow@0.9:t=fill"],
    "fps_15": ["-r", "15"],
    "letterbox_blur": [
        "-filter_complex",
        "[0:v]split[a][b];[a]boxblur=20:4[bg];[b]scale=trunc(iw*0.7/2)*2:-2[fg];"
        "[bg][fg]overlay=(W-w)/2:(H-h)/2",
    ],
    "trim_first_2s": ["-ss", "2"],
    "middle_4s": ["-ss", "2", "-t", "4"],  # a clip cut out of the middle
    "speed_up_10pct": ["-vf", "setpts=PTS/1.1"],
    "slow_down_10pct": ["-vf", "setpts=PTS*1.1"],
    "mirror": ["-vf", "hflip"],
}


def ffmpeg(*args: str) -> None:
    import subprocess

    from generation.pipeline.ffmpeg import ffmpeg_exe

    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", *args], check=True, timeout=300)


def make_clip(path: Path, source: str, seconds: float) -> Path:
    width, height = SIZE
    lavfi = f"{source}=size={width}x{height}:rate=24"
    encode = ["-t", f"{seconds:g}", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]
    ffmpeg("-f", "lavfi", "-i", lavfi, *encode, str(path))
    return path


def make_edit(source: Path, edit: str, target: Path) -> Path:
    args = EDITS[edit]
    seek = args[:2] if args[0] == "-ss" else []  # before the input: a cut, not a decode
    rest = args[len(seek) :]
    ffmpeg(*seek, "-i", str(source), *rest, "-c:v", "libx264", "-preset", "veryfast", str(target))
    return target


# --- 1. The hashers on the same edits -------------------------------------------------------
Hasher = tuple[Callable[[Path], Any], Callable[[Any, Any], bool]]


def hashers() -> dict[str, Hasher]:
    from generation.pipeline import fingerprint as fp
    from media import videohash

    def fingerprint_match(a: Any, b: Any) -> bool:
        return fp.similarity(a, b) >= fp.MATCH_THRESHOLD

    def both(path: Path) -> Any:
        return (videohash.video_hash(path), fp.fingerprint(path))

    def either(a: Any, b: Any) -> bool:  # what media.hashes.copy_score keeps: both hashers
        return videohash.is_copy(a[0], b[0]) or fingerprint_match(a[1], b[1])

    def indexed(a: Any, b: Any) -> bool:
        """What the search returns: the index's pre-filter, then the comparison."""
        from media import hashes

        shared = set(a.buckets(both_ways=True)) & set(b.buckets())
        return len(shared) >= hashes.MIN_SHARED and hashes.copy_score(a, b) > 0

    def stored(path: Path) -> Any:
        from media import hashes

        return hashes.hashes_of_file(path)

    return {
        "pdq": (videohash.video_hash, videohash.is_copy),
        "fingerprint": (fp.fingerprint, fingerprint_match),
        "both": (both, either),
        "indexed": (stored, indexed),
    }


def measure_edits(clips: int, seconds: float) -> None:
    import django

    django.setup()  # media.hashes, for the "indexed" row: no database is read
    chosen = hashers()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        originals = {s: make_clip(folder / f"{s}.mp4", s, seconds) for s in SOURCES[:clips]}
        others = {s: make_clip(folder / f"{s}.mp4", s, seconds) for s in UNRELATED[: clips + 1]}
        edits = {
            (source, edit): make_edit(path, edit, folder / f"{source}.{edit}.mp4")
            for source, path in originals.items()
            for edit in EDITS
        }
        hashed: dict[str, dict[Any, Any]] = {}
        timings: dict[str, float] = {}
        for name, (take, _) in chosen.items():
            t0 = time.perf_counter()
            every = {**originals, **others, **edits}
            hashed[name] = {key: take(path) for key, path in every.items()}
            timings[name] = (time.perf_counter() - t0) / len(every)
    print(f"{len(originals)} clips of {seconds:g} s, {len(EDITS)} edits each")
    names = list(chosen)
    print(f"{'edit':16}" + "".join(f"{name:>14}" for name in names))
    for edit in EDITS:
        row = [
            sum(chosen[n][1](hashed[n][s], hashed[n][(s, edit)]) for s in originals) for n in names
        ]
        print(f"{edit:16}" + "".join(f"{f'{hits}/{len(originals)}':>14}" for hits in row))
    total = len(originals) * len(EDITS)
    for name in names:
        found = sum(
            chosen[name][1](hashed[name][s], hashed[name][(s, e)]) for s in originals for e in EDITS
        )
        false, pairs = _false_matches(chosen[name][1], hashed[name], list(originals), list(others))
        print(
            f"hasher {name}: edits matched {found} of {total}, "
            f"false matches {false} of {pairs} unrelated pairs, "
            f"{timings[name] * 1000:.0f} ms a clip"
        )


def _false_matches(
    same: Callable[[Any, Any], bool], hashed: dict[Any, Any], originals: list[str], others: list
) -> tuple[int, int]:
    """Each original against every other clip, and every edit of it against every other
    original: none of these is a copy."""
    pairs = false = 0
    for source in originals:
        strangers = [o for o in originals + others if o != source]
        mine = [source] + [(source, edit) for edit in EDITS]
        for key in mine:
            for stranger in strangers if key == source else [o for o in originals if o != source]:
                pairs += 1
                false += bool(same(hashed[key], hashed[stranger]))
    return false, pairs


# --- 2. Finding every copy among N stored videos ------------------------------------------
FRAMES = 12  # PDQ frames a stored video has: 6 s at the 0.5 s step
PLANTED = ("reencoded", "trimmed", "mirrored", "cropped", "banner")


def _random_fingerprint(rng: random.Random) -> Any:
    from generation.pipeline.fingerprint import Fingerprint

    count = 16
    return Fingerprint(
        duration_s=6.0,
        aspect=0.5625,
        times=tuple(round((i + 0.5) * 6.0 / count, 3) for i in range(count)),
        hashes=tuple(rng.getrandbits(64) for _ in range(count)),
        masks=tuple(sum(1 << b for b in rng.sample(range(1, 64), 32)) for _ in range(count)),
        colours=tuple(rng.randbytes(48) for _ in range(count)),
        contrasts=tuple(rng.randint(14, 60) for _ in range(count)),
    )


def _random_hashes(rng: random.Random) -> Any:
    from media.hashes import Hashes
    from media.videohash import VideoHash

    frames = tuple(rng.randbytes(32) for _ in range(FRAMES))
    mirrored = tuple(rng.randbytes(32) for _ in range(FRAMES))
    return Hashes(VideoHash((), frames, mirrored), _random_fingerprint(rng))


def _flip(value: bytes, bits: int, rng: random.Random) -> bytes:
    number = int.from_bytes(value, "big")
    for bit in rng.sample(range(len(value) * 8), bits):
        number ^= 1 << bit
    return number.to_bytes(len(value), "big")


def _planted(kind: str, original: Any, rng: random.Random) -> Any:
    """A copy as the edits leave one (bench part 1): the hasher that finds that edit sees
    a few bits changed; the other sees an unrelated video."""
    from dataclasses import replace

    from media.hashes import Hashes
    from media.videohash import VideoHash

    noise = _random_hashes(rng)
    pdq, print_ = original.pdq, original.fingerprint

    def near_print() -> Any:
        return replace(
            print_,
            hashes=tuple(
                int.from_bytes(_flip(h.to_bytes(8, "big"), 3, rng), "big") for h in print_.hashes
            ),
        )

    def near_pdq(rows: tuple[bytes, ...]) -> tuple[bytes, ...]:
        return tuple(_flip(row, 12, rng) for row in rows)

    if kind == "reencoded":
        return Hashes(VideoHash((), near_pdq(pdq.frames), near_pdq(pdq.mirrored)), near_print())
    if kind == "trimmed":  # the first 2 s gone: PDQ keeps the rest, the fingerprint shifts
        return Hashes(
            VideoHash((), near_pdq(pdq.frames[4:]), near_pdq(pdq.mirrored[4:])), noise.fingerprint
        )
    if kind == "mirrored":
        return Hashes(
            VideoHash((), near_pdq(pdq.mirrored), near_pdq(pdq.frames)), noise.fingerprint
        )
    return Hashes(noise.pdq, near_print())  # cropped, banner: the fingerprint's


def _seed(stored: list[Any]) -> list[Any]:
    """Write `stored` as the app would, in bulk; their video ids, in order. The videos are
    copies of one the ORM made, their hashes go in by COPY, and the index keys come from
    those rows' buckets in one statement (media.hashes.hash_keys_fill), with the key table's
    indexes and constraints built after it is full: one at a time, 160 a video, they take
    hours at 1,000,000."""
    import uuid

    from django.db import connection
    from psycopg.types.json import Jsonb

    from accounts.models import User
    from media import hashes as media_hashes
    from media import videohash
    from media.models import Video

    owner = User.objects.create_user(username="owner", email="o@example.com", password="x" * 12)
    template = Video.objects.create(owner=owner, state="published", duration_s=6.0)
    columns = ", ".join(f.column for f in Video._meta.concrete_fields if not f.primary_key)
    ids = [template.pk] + [uuid.uuid4() for _ in stored[1:]]
    copy = (
        "COPY media_video_hashes (video_id, version, frames, mirrored, times, fingerprint, "
        "buckets, created_at) FROM STDIN"
    )
    with connection.cursor() as cursor:
        for start in range(1, len(ids), 100_000):
            cursor.execute(
                f"INSERT INTO generation_video (id, {columns}) SELECT v.id, {columns} "
                "FROM generation_video, unnest(%s::uuid[]) AS v(id) WHERE generation_video.id = %s",
                [ids[start : start + 100_000], template.pk],
            )
        with cursor.cursor.copy(copy) as rows:
            for video_id, hashes in zip(ids, stored, strict=True):
                fields = hashes.fields()
                rows.write_row(
                    (video_id, videohash.VERSION, fields["frames"], fields["mirrored"])
                    + (Jsonb([]), Jsonb(fields["fingerprint"]), Jsonb(fields["buckets"]))
                    + (template.created_at,)
                )
        rebuilt = _unindexed(cursor, "media_hash_keys")
        media_hashes.hash_keys_fill()
        cursor.execute("SET maintenance_work_mem = '1GB'")
        for statement in rebuilt:
            cursor.execute(statement)
        # What autovacuum does on a live database: statistics, and the visibility map that
        # lets the key count read the index alone.
        cursor.execute("VACUUM ANALYZE media_video_hashes")
        cursor.execute("VACUUM ANALYZE media_hash_keys")
    return ids


def _unindexed(cursor: Any, table: str) -> list[str]:
    """Drop `table`'s constraints and indexes; the statements that make them again."""
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass",
        [table],
    )
    constraints = cursor.fetchall()
    for name, _ in constraints:
        cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table])
    indexes = cursor.fetchall()
    for name, _ in indexes:
        cursor.execute(f"DROP INDEX {name}")
    return [f"ALTER TABLE {table} ADD CONSTRAINT {name} {d}" for name, d in constraints] + [
        d for _, d in indexes
    ]


def measure_search(videos: int, runs: int) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DB}")
    setup_django({"DATABASE_URL": f"{PG}/{DB}", "LOG_LEVEL": "WARNING"})

    from django.core.management import call_command
    from django.db import connection

    from media import hashes as media_hashes

    call_command("migrate", verbosity=0)
    rng = random.Random(13)
    started = time.perf_counter()
    original = _random_hashes(rng)
    stored = [original] + [_planted(kind, original, rng) for kind in PLANTED]
    stored += [_random_hashes(rng) for _ in range(videos - len(stored))]
    ids = _seed(stored)
    print(f"seeded {len(stored)} videos' hashes in {time.perf_counter() - started:.1f} s")

    planted = set(ids[1 : 1 + len(PLANTED)])
    samples, found = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        found = media_hashes.copies_of(original, exclude=ids[0])
        samples.append((time.perf_counter() - t0) * 1000)
    hits = {video_id for video_id, _ in found}
    keys = original.buckets(both_ways=True)
    candidates = media_hashes.candidates(keys, exclude=ids[0])
    numbers = sorted({media_hashes.key_number(key) for key in keys})
    with connection.cursor() as cursor:
        cursor.execute(
            f"EXPLAIN {media_hashes.CANDIDATES_SQL}", [numbers, ids[0], media_hashes.MIN_SHARED]
        )
        plan = " ".join(row[0] for row in cursor.fetchall())
    index = "index-only scan" if "Index Only Scan" in plan else f"NOT index-only: {plan}"
    p50, p99 = percentiles(samples)
    print(
        f"search: {len(stored)} stored videos, {runs} runs: p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"found {len(hits & planted)} of {len(planted)} planted copies, "
        f"{len(hits - planted)} others, {len(candidates)} candidates read, {index}"
    )
    others = rng.sample(range(1 + len(PLANTED), len(stored)), min(runs, len(stored) - 6))
    search_others([(ids[i], stored[i]) for i in others])


def search_others(queries: list[tuple[Any, Any]]) -> None:
    """Each of `queries` (a stored video's id and hashes) searched once. The timed searches
    above were all one video's, whose index pages the first read into memory; these read
    pages no search has yet, as a server's first search for a video does unless the key
    index fits in memory."""
    from media import hashes as media_hashes

    samples, false = [], 0
    for video_id, hashes in queries:
        t0 = time.perf_counter()
        false += len(media_hashes.copies_of(hashes, exclude=video_id))
        samples.append((time.perf_counter() - t0) * 1000)
    p50, p99 = percentiles(samples)
    print(
        f"search for {len(queries)} other stored videos, once each: p50 {p50:.1f} ms, "
        f"p99 {p99:.1f} ms, {false} copies found (none is one)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--videos", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    args = parse_args(parser, {"clips": 2, "seconds": 4.0, "videos": 2000, "runs": 10})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Its own database from the start: Django is set up once, by whichever part runs first,
    # and must never write the seeded rows into the database the environment names.
    os.environ["DATABASE_URL"] = f"{PG}/{DB}"
    if args.clips:
        measure_edits(args.clips, args.seconds)
    if args.videos:
        measure_search(args.videos, args.runs)


if __name__ == "__main__":
    main()
