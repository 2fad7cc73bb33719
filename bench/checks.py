"""Benchmark: the time every registered automated check (config/screens.py) adds.

Per post: the REQUEST checks on a generation request (a prompt, subject names and three
dialogue lines) and the PUBLISH checks on its caption, together, as each post pays them. The
texts mix innocent ones with ones the screening refuses (public figures, blocked terms, sexual
terms with minors), so both paths are timed.

Per 10 s of 720p video: the OUTPUT checks on a rendered file, as generation.rendering.video_keep
runs them: unknown faces (a real photographed face, cast as a double or nobody's), plus
whatever else is registered (the rights logo matcher...). Each check is also timed alone; the
first video, which loads the models, is reported apart.

Runs every check as the apps register it, against its own PostgreSQL database (migrated, with
empty rights and hash-list registries: bench/rights.py and bench/copies.py time those full).

    .venv/bin/python bench/checks.py [--posts 300] [--videos 10] [--seconds 10]
    .venv/bin/python bench/checks.py --tiny   # 30 posts, 2 videos of 2 s (720p), for CI
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from harness import parse_args, percentiles, setup_django  # noqa: E402

PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB = "doubletake_checksbench"
SIZE = (720, 1280)  # portrait 720p, as the app renders

PROMPTS = [
    "Wide shot of a kitchen: a chef walks in and bakes bread.",
    "Two friends dance on a beach at sunset, then wave.",
    "A day trip to Scunthorpe and Essex with my dog.",
    "Taylor Swift sings in a studio.",  # refused: a public figure
    "A runner jumps over a puddle in the park.",
    "a sexy schoolgirl at the pool",  # refused: sexual terms with a minor
]
LINES = ["Ta-da!", "Look at this!", "We made it, finally.", "Who ate my sandwich?"]
CAPTIONS = ["#cooking day", "beach vibes #summer", "so proud of this one", "what a c.u.n.t"]


def bench_posts(user: Any, posts: int) -> None:
    from config import screens

    points = (screens.Point.REQUEST, screens.Point.PUBLISH)
    checks = {(p, name): check for p in points for name, check in screens.checks_at(p).items()}
    samples, refused = [], 0
    alone: dict[tuple[str, str], list[float]] = {key: [] for key in checks}
    warm = screens.Subject(screens.Point.REQUEST, user, texts={"prompt": "warm up"})
    for check in checks.values():  # the rules are read and compiled once per process
        check(warm)
    for i in range(posts):
        texts = {"prompt": PROMPTS[i % len(PROMPTS)], "subjects[0].name": "chef"}
        texts.update({f"shots[{j}].dialogue[0]": LINES[(i + j) % len(LINES)] for j in range(3)})
        caption = {"caption": CAPTIONS[i % len(CAPTIONS)]}
        subjects = {
            screens.Point.REQUEST: screens.Subject(screens.Point.REQUEST, user, texts=texts),
            screens.Point.PUBLISH: screens.Subject(screens.Point.PUBLISH, user, texts=caption),
        }
        total, refusal = 0.0, False
        for (point, name), check in checks.items():
            start = time.perf_counter()
            found = check(subjects[point])
            took = time.perf_counter() - start
            alone[(point, name)].append(took)
            total += took
            verdicts = found if isinstance(found, list) else [found]
            refusal = refusal or any(v.outcome == "refuse" for v in verdicts)
        samples.append(total)
        refused += refusal
    p50, p99 = percentiles([s * 1000 for s in samples])
    print(
        f"text checks per post: {posts} posts, {len(checks)} checks, "
        f"p50 {p50:.3f} ms, p99 {p99:.3f} ms, refused {refused} of {posts}"
    )
    for (point, name), took in alone.items():
        c50, c99 = percentiles([s * 1000 for s in took])
        print(f"  {point} {name}: p50 {c50:.3f} ms, p99 {c99:.3f} ms")


def build_video(path: Path, seconds: float) -> None:
    from tests import remix_media as rm

    spec = rm.SourceSpec(seconds=seconds, size=SIZE, fps=24, face_width=0.3, sway=0.05)
    rm.build_source(path, spec, keep_masks=False)


def bench_videos(user: Any, cameo_id: str, videos: int, seconds: float) -> None:
    from config import screens

    checks = screens.checks_at(screens.Point.OUTPUT)
    totals: list[float] = []
    alone: dict[str, list[float]] = {name: [] for name in checks}
    held = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "output.mp4"
        build_video(path, seconds)
        for i in range(videos + 1):  # the first loads the models: reported apart
            cast = (cameo_id,) if i % 2 == 1 else ()  # the double's face, or nobody's
            subject = screens.Subject(point=screens.Point.OUTPUT, user=user, path=path, cast=cast)
            total = 0.0
            for name, check in checks.items():
                start = time.perf_counter()
                found = check(subject)
                took = time.perf_counter() - start
                total += took
                verdicts = found if isinstance(found, list) else [found]
                if i and name == "faces.unknown":
                    held += any(v.outcome == "hold" for v in verdicts)
                if i:
                    alone[name].append(took)
            if i:
                totals.append(total)
            else:
                print(f"output checks, first video (models load): {total:.3f} s")
    p50, p99 = percentiles(totals)
    print(
        f"output checks per {seconds:g} s 720p video: {videos} videos, {len(checks)} checks, "
        f"p50 {p50:.3f} s, p99 {p99:.3f} s, face holds {held} of {videos} "
        f"(expected {videos - videos // 2}: the uncast ones)"
    )
    for name, samples in alone.items():
        c50, c99 = percentiles(samples)
        print(f"  {name}: p50 {c50:.3f} s, p99 {c99:.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--videos", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parse_args(parser, {"posts": 30, "videos": 2, "seconds": 2.0})

    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB}")
        admin.execute(f"CREATE DATABASE {DB}")
    # Stored files in a scratch directory; the face models (if any) from the project's own.
    setup_django(
        {
            "DATABASE_URL": f"{PG}/{DB}",
            "LOG_LEVEL": "WARNING",
            "DOUBLETAKE_VAR_DIR": tempfile.mkdtemp(prefix="checksbench-"),
            "MODELS_DIR": os.environ.get("MODELS_DIR", str(ROOT / "var" / "models")),
        }
    )

    import cv2
    from django.core.management import call_command

    from accounts.models import User
    from tests.cameo_media import load_photo
    from tests.factories import make_verified_cameo

    call_command("migrate", verbosity=0)
    user = User.objects.create_user(username="bench", password="x")
    cutout = cv2.imencode(".png", load_photo("astronaut").image)[1].tobytes()
    cameo: Any = make_verified_cameo(user, cutout_png=cutout)
    bench_posts(user, args.posts)
    bench_videos(user, str(cameo.id), args.videos, args.seconds)


if __name__ == "__main__":
    main()
