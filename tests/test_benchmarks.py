"""Every benchmark in bench/ runs at its tiny size (`--tiny`), so none can rot unnoticed.

Each runs as its own process, as a person runs it, and must exit 0 having printed the figures
it promises, every one of them a positive, finite number: a benchmark that crashes, prints
nothing or measures only errors fails here.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_S = 420  # a tiny run takes under a minute here; this only bounds a hung one
NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?|nan|inf"

pytestmark = pytest.mark.slow


def run_bench(script: str, *args: str, env: dict[str, str] | None = None) -> str:
    """Run bench/<script> --tiny in its own process group; return what it printed."""
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / script), "--tiny", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)  # the benchmark stops the servers it started
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate(timeout=10)
        pytest.fail(f"{script} ran past {TIMEOUT_S} s:\n{out[-4000:]}")
    print(out)
    assert proc.returncode == 0, f"{script} exited {proc.returncode}:\n{out[-4000:]}"
    return out


def figures(out: str, label: str, count: int) -> list[float]:
    """The `count` numbers after `label` at the start of a line, each checked finite."""
    match = re.search(rf"^[ \t]*{label}((?:[ \t]+(?:{NUMBER}))+)[ \t]*$", out, re.M | re.I)
    assert match, f"no {label!r} row in:\n{out[-3000:]}"
    values = [float(v) for v in match.group(1).split()]
    assert len(values) == count, f"{label!r}: {values}"
    assert all(math.isfinite(v) for v in values), f"{label!r}: {values}"
    return values


def assert_positive(values: list[float], what: str) -> None:
    assert all(v > 0 for v in values), f"{what}: {values}"


# --- The media pipelines (CPU, no services) ---------------------------------------------------
def test_cameo_verify_times_a_cold_and_a_warm_verification() -> None:
    out = run_bench("cameo_verify.py")

    cold, warm = figures(out, "total", 2)
    assert_positive([cold, warm], "total seconds")
    for stage in ("probe", "faces", "identity", "voice", "cutout"):
        assert all(v >= 0 for v in figures(out, stage, 2)), stage
    sampled, embedded = (int(v) for v in re.search(r"sampled (\d+), embedded (\d+)", out).groups())
    assert sampled > 0 and embedded > 0


def test_cameo_liveness_reports_bpcer_and_apcer() -> None:
    out = run_bench("cameo_liveness.py")

    (verified,) = figures(out, "genuine_verified_percent", 1)
    (apcer,) = figures(out, "apcer_percent", 1)
    (coded,) = figures(out, "attack_code_percent", 1)
    figures(out, "bpcer_percent", 1)
    assert verified > 0 and apcer < 100 and coded > 0


def test_digits_reports_bpcer_and_apcer_of_the_spoken_digit_check() -> None:
    out = run_bench("digits.py", "--lengths", "6", "--workers", "1")

    (bpcer,) = figures(out, "bpcer_percent", 1)
    (replay,) = figures(out, "replay_apcer_percent", 1)
    figures(out, "one_off_apcer_percent", 1)
    assert 0 <= bpcer <= 100 and 0 <= replay <= 100


def test_generation_render_times_every_stage_of_a_video_with_a_cast_cameo() -> None:
    out = run_bench("generation_render.py")

    assert_positive(figures(out, "total", 2), "total seconds, x real time")
    for stage in ("scene", "render", "encode"):
        assert_positive(figures(out, stage, 2), stage)
    assert int(re.search(r"^frames (\d+),", out, re.M).group(1)) > 0


def test_remix_render_times_both_operations_and_the_restaged_remixes() -> None:
    out = run_bench("remix_render.py")

    # swap_background twice (words, image), then swap_subject: seconds and frames/s each
    totals = re.findall(rf"^[ \t]+total[ \t]+({NUMBER})[ \t]+({NUMBER})[ \t]+\(", out, re.M)
    assert len(totals) == 3, out[-3000:]
    assert_positive([float(v) for row in totals for v in row], "remix totals")
    iou = float(re.search(rf"mask IoU vs truth: mean ({NUMBER})", out).group(1))
    assert 0 < iou <= 1
    assert int(re.search(r"'faces': (\d+)", out).group(1)) > 0
    staged = re.findall(rf"^(?:source|restage: .+): (\d+) frames ({NUMBER}) s \(", out, re.M)
    assert len(staged) == 3, out[-3000:]
    assert_positive([float(v) for row in staged for v in row], "restage frames, seconds")


def test_remix_masks_scores_the_held_out_clips() -> None:
    out = run_bench("remix_masks.py")

    clips = re.findall(rf"IoU ({NUMBER}) min ({NUMBER})", out)
    assert len(clips) == 2, out[-3000:]
    assert all(0 < float(v) <= 1 for row in clips for v in row)
    assert re.search(rf"held_out overall, 2 clips, \d+ frames: IoU mean {NUMBER}", out), out


def test_copies_unrelated_counts_false_matches_over_clips_that_copy_nothing() -> None:
    out = run_bench("copies_unrelated.py")

    assert re.search(r"^16 unrelated clips \(pan 4, person 4, shapes 4, texture 4\)", out, re.M)
    found = re.search(r"false matches: (\d+) of ([\d,]+) pairs \((\d+) queries x 16 unrelated", out)
    assert found, out[-3000:]
    # one copied video and each of bench/copies.py's edits of it, against every unrelated clip
    queries, pairs = int(found.group(3)), int(found.group(2).replace(",", ""))
    assert queries > 10 and pairs == 16 * queries
    assert re.search(rf"highest unrelated score: PDQ {NUMBER} .* fingerprint {NUMBER}", out)


# --- The web benchmarks (PostgreSQL, Redis, daphne, wrk) --------------------------------------
@pytest.fixture
def web_bench_env() -> Iterator[tuple[dict[str, str], str]]:
    """The services this session's tests use, and a benchmark database name of its own that
    no other session's (nor the test database) can clash with; dropped afterwards."""
    if not shutil.which("wrk"):
        if os.environ.get("CI"):
            pytest.fail("the web benchmarks need wrk (apt-get install wrk)")
        pytest.skip("the web benchmarks need wrk (apt-get install wrk)")
    db = settings.DATABASES["default"]
    auth = db["USER"] or "postgres"
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    server = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    cache = settings.CACHES["default"].get("LOCATION") or settings.REDIS_URL
    env = {
        **os.environ,
        "BENCH_PG": server,
        "REDIS_URL": settings.REDIS_URL,
        "REDIS_CACHE_URL": cache,
    }
    name = f"bench_{db['NAME'].removeprefix('test_')}"
    yield env, name

    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        for suffix in ("_jobs", "_feeds"):
            conn.execute(f'DROP DATABASE IF EXISTS "{name}{suffix}" WITH (FORCE)')


@pytest.mark.services
def test_jobs_api_measures_one_and_two_web_processes(
    web_bench_env: tuple[dict[str, str], str],
) -> None:
    env, name = web_bench_env

    out = run_bench("jobs_api.py", "--database", f"{name}_jobs", env=env)

    for processes in ("1", "2"):
        p50, p99, rps, errors = figures(out, processes, 4)
        assert_positive([p50, p99, rps], f"{processes} web processes: p50, p99, req/s")
        assert errors == 0, f"{processes} web processes answered {errors:.0f} non-2xx"


@pytest.mark.services
def test_feeds_load_seeds_from_the_models_and_measures_both_feeds_at_each_size(
    web_bench_env: tuple[dict[str, str], str],
) -> None:
    env, name = web_bench_env

    out = run_bench("feeds_load.py", "--database", f"{name}_feeds", env=env)

    assert re.search(r"^seeded 300 users", out, re.M), out[-3000:]
    for size in ("500", "1000"):
        assert re.search(rf"^grew to {size} posts", out, re.M), out[-3000:]
        for feed in ("for-you", "following"):
            p50, p99, rps, errors = figures(out, rf"{size}[ \t]+{feed}", 4)
            assert_positive([p50, p99, rps], f"{feed} at {size} posts: p50, p99, req/s")
            assert errors == 0, f"{feed} at {size} posts answered {errors:.0f} non-2xx"


def test_moderation_queue_times_the_queue_page_and_the_claim() -> None:
    out = run_bench("moderation_queue.py")
    for name in ("queue page", "claim"):
        match = re.search(
            rf"^{name}: (\d+) open cases, (\d+) runs: p50 ({NUMBER}) ms, p99 ({NUMBER}) ms$",
            out,
            re.M,
        )
        assert match, f"no {name} figures in:\n{out[-3000:]}"
        assert_positive([float(v) for v in match.groups()], name)


def test_copies_measures_both_hashers_on_the_edits_and_the_search_among_stored_videos() -> None:
    out = run_bench("copies.py")
    for hasher in ("pdq", "fingerprint", "both"):
        match = re.search(
            rf"^hasher {hasher}: edits matched (\d+) of (\d+), false matches (\d+) of (\d+) ",
            out,
            re.M,
        )
        assert match, f"no {hasher} figures in:\n{out[-3000:]}"
        found, edits, false, pairs = (int(v) for v in match.groups())
        assert 0 < found <= edits and pairs > 0 and false <= pairs, hasher
    search = re.search(
        rf"^search: (\d+) stored videos, \d+ runs: p50 ({NUMBER}) ms, p99 ({NUMBER}) ms, "
        r"found (\d+) of (\d+) planted copies, (\d+) others, \d+ candidates read, "
        r"index-only scan$",
        out,
        re.M,
    )
    assert search, f"no search figures in:\n{out[-3000:]}"
    assert_positive([float(v) for v in search.groups()[:3]], "search: videos, p50, p99")
    assert search.group(4) == search.group(5), "a planted copy was not found"
    others = re.search(
        rf"^search for \d+ other stored videos, once each: p50 ({NUMBER}) ms, "
        rf"p99 ({NUMBER}) ms, 0 copies found \(none is one\)$",
        out,
        re.M,
    )
    assert others, f"no figures for other videos' searches in:\n{out[-3000:]}"


def test_rights_logo_check_reports_detection_false_holds_and_time_per_video() -> None:
    out = run_bench("rights.py")
    detection = re.search(rf"^detection rate: ({NUMBER}) \((\d+)/(\d+)\)$", out, re.M)
    false_holds = re.search(rf"^false hold rate: ({NUMBER}) \((\d+)/(\d+)\)$", out, re.M)
    timing = re.search(rf"^seconds per 10 s 720p video: p50 ({NUMBER}), p99 ({NUMBER})$", out, re.M)
    assert detection and false_holds and timing, f"no rights figures in:\n{out[-3000:]}"
    assert int(detection.group(3)) > 0 and int(false_holds.group(3)) > 0
    assert float(detection.group(1)) > 0, "no positive was detected"
    assert_positive([float(v) for v in timing.groups()], "seconds per video: p50, p99")


def test_checks_times_the_text_checks_per_post_and_the_output_checks_per_video() -> None:
    out = run_bench("checks.py")
    posts = re.search(
        rf"^text checks per post: (\d+) posts, (\d+) checks, p50 ({NUMBER}) ms, "
        rf"p99 ({NUMBER}) ms, refused (\d+) of \d+$",
        out,
        re.M,
    )
    assert posts, f"no text figures in:\n{out[-3000:]}"
    assert_positive([float(v) for v in posts.groups()], "posts, checks, p50, p99, refused")
    videos = re.search(
        rf"^output checks per (?:{NUMBER}) s 720p video: (\d+) videos, (\d+) checks, "
        rf"p50 ({NUMBER}) s, p99 ({NUMBER}) s, face holds (\d+) of \d+ \(expected (\d+)",
        out,
        re.M,
    )
    assert videos, f"no output figures in:\n{out[-3000:]}"
    assert_positive([float(v) for v in videos.groups()[:4]], "videos, checks, p50, p99")
    assert videos.group(5) == videos.group(6), "the uncast face was not held, or the cast one was"
