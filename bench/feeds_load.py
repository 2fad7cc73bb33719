"""Benchmark: For You and Following under load on PostgreSQL, as the post count grows.

Seeds 100,000 users (each following 20 others), then grows the posts table through the
requested sizes with 10 engagement events per post (30 % likes, 70 % views), and at each size
drives both feeds with wrk through 2 web processes (daphne via config.server, DEBUG off):

    .venv/bin/python bench/feeds_load.py [--sizes 10000,100000,1000000] [--seconds 15]

Needs PostgreSQL and Redis as for `make test`, and wrk (apt-get install wrk). Uses its own
database, doubletake_feedbench.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from jobs_api import run_wrk, start_servers, stop_servers  # noqa: E402

PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB = "doubletake_feedbench"
USERS, FOLLOWS_EACH, EVENTS_PER_POST = 100_000, 20, 10
# Likes use (user, post) = (k mod USERS, a stride over posts): distinct pairs, so the
# 30 % share is not lost to ON CONFLICT. (The first full run, before this, kept 1.2 M of 3 M.)


def env() -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"{PG}/{DB}",
        "DATABASE_POOL": "true",
        "REDIS_URL": "redis://127.0.0.1:6379/11",
        "REDIS_CACHE_URL": "redis://127.0.0.1:6379/10",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "feed-bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
    }


def sql(conn: object, statement: str, *args: object) -> None:
    conn.execute(statement, args or None)  # type: ignore[attr-defined]


def prepare() -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB,)).fetchone():
            conn.execute(f'CREATE DATABASE "{DB}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env(),
                   check=True)  # fmt: skip
    with psycopg.connect(f"{PG}/{DB}", autocommit=True) as conn:
        (users,) = conn.execute("SELECT count(*) FROM accounts_user").fetchone()
        if users >= USERS:
            return
        started = time.perf_counter()
        sql(conn, """
            INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name,
                email, is_staff, is_active, date_joined, display_name)
            SELECT '!', false, 'u' || g, '', '', 'u' || g || '@bench.local', false, true, now(), ''
            FROM generate_series(1, %s::bigint) g""", USERS)  # fmt: skip
        sql(conn, """
            INSERT INTO accounts_follow (follower_id, followee_id, created_at)
            SELECT u.id, 1 + ((u.id * 7919 + k * 104729) %% %s), now()
            FROM accounts_user u, generate_series(1, %s::bigint) k
            WHERE 1 + ((u.id * 7919 + k * 104729) %% %s) <> u.id
            ON CONFLICT DO NOTHING""", USERS, FOLLOWS_EACH, USERS)  # fmt: skip
        print(f"seeded {USERS} users and their follows in {time.perf_counter() - started:.0f} s")


def grow(target: int) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/{DB}", autocommit=True) as conn:
        (have,) = conn.execute("SELECT count(*) FROM feeds_post").fetchone()
        if have >= target:
            return
        started = time.perf_counter()
        first, last = have + 1, target
        sql(conn, """
            INSERT INTO generation_video (id, owner_id, state, file, poster, preview, subtitles,
                provenance, provenance_backend, manifest, fingerprint, storyboard, prompt, width,
                height, duration_s, created_at, takedown_reason)
            SELECT md5('v' || g)::uuid, 1 + (g * 7919 %% %s), 'published', 'x.mp4', 'x.jpg',
                'x.mp4', '', '', 'c2pa', '{"generated": true}', '{}', '{}', 'prompt ' || g,
                720, 1280, 9.0, now() - (g %% 43200) * interval '1 minute', ''
            FROM generate_series(%s::bigint, %s::bigint) g""", USERS, first, last)  # fmt: skip
        sql(conn, """
            INSERT INTO feeds_post (video_id, author_id, caption, visibility, state, cluster,
                template, topic, like_count, comment_count, share_count, view_count,
                completion_count, remix_count, trending_score, created_at)
            SELECT md5('v' || g)::uuid, 1 + (g * 7919 %% %s), 'post ' || g,
                CASE WHEN g %% 100 < 90 THEN 'public' WHEN g %% 100 < 97 THEN 'followers'
                     ELSE 'private' END,
                'live', 'c' || (g %% (%s / 3 + 1)), 't' || (g %% 50),
                (ARRAY['cooking','pranks','sports','dance','pets','comedy','travel','music'])
                    [1 + g %% 8],
                0, 0, 0, 0, 0, 0, 0,
                now() - (g %% 43200) * interval '1 minute'
            FROM generate_series(%s::bigint, %s::bigint) g""",
            USERS, target, first, last)  # fmt: skip
        events = (last - first + 1) * EVENTS_PER_POST
        likes = int(events * 0.3)
        sql(conn, """
            INSERT INTO feeds_like (user_id, post_id, created_at)
            SELECT 1 + k %% %s, %s + ((k / %s) * 7919 + k * 13) %% %s, now()
            FROM generate_series(0, %s::bigint - 1) k ON CONFLICT DO NOTHING""",
            USERS, first, USERS, last - first + 1, likes)  # fmt: skip
        sql(conn, """
            INSERT INTO feeds_view (user_id, post_id, watch_ms, completed, created_at)
            SELECT 1 + (k * 69621 %% %s), %s + (k * 40692 %% %s), 1000 + k %% 9000,
                   k %% 3 = 0, now()
            FROM generate_series(1, %s::bigint) k""",
            USERS, first, last - first + 1, events - likes)  # fmt: skip
        sql(conn, """
            UPDATE feeds_post p SET like_count = s.n FROM (
                SELECT post_id, count(*) n FROM feeds_like WHERE post_id >= %s GROUP BY post_id
            ) s WHERE p.id = s.post_id""", first)  # fmt: skip
        sql(conn, """
            UPDATE feeds_post p SET view_count = s.n, completion_count = s.c FROM (
                SELECT post_id, count(*) n, count(*) FILTER (WHERE completed) c FROM feeds_view
                WHERE post_id >= %s GROUP BY post_id
            ) s WHERE p.id = s.post_id""", first)  # fmt: skip
        sql(conn, "ANALYZE")
        elapsed = time.perf_counter() - started
        print(f"grew to {target} posts (+{events} events) in {elapsed:.0f} s")
    subprocess.run([sys.executable, "manage.py", "shell", "-c",
                    "from feeds.services import trending_refresh; trending_refresh()"],
                   cwd=ROOT, env=env(), check=True)  # fmt: skip


def token() -> str:
    script = (
        "from accounts.models import User; from accounts.services import token_issue;"
        "print(token_issue(user=User.objects.get(username='u42'), device='bench'))"
    )
    out = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT,
                         env=env(), check=True, capture_output=True, text=True)  # fmt: skip
    return out.stdout.split()[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    prepare()
    bearer = token()
    print(f"{'posts':>9} {'feed':>10} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>7} {'non-2xx':>8}")
    for size in (int(s) for s in args.sizes.split(",")):
        grow(size)
        procs, port = start_servers(env(), 2)
        try:
            for name, path in (("for-you", "feeds/for-you/"), ("following", "feeds/following/")):
                result = run_wrk(f"http://127.0.0.1:{port}/api/v1/{path}", bearer, args.seconds,
                                 args.connections)  # fmt: skip
                print(f"{size:>9} {name:>10} {result['p50_ms']:>8.1f} {result['p99_ms']:>8.1f} "
                      f"{result['rps']:>7.0f} {result['errors']:>8.0f}", flush=True)  # fmt: skip
        finally:
            stop_servers(procs)


if __name__ == "__main__":
    main()
