"""Benchmark: For You and Following under load on PostgreSQL, as the post count grows.

Seeds 100,000 users (each following 20 others), then grows the posts table through the
requested sizes with 10 engagement events per post (30 % likes, 70 % views), and at each size
drives both feeds with wrk through 2 web processes (daphne via config.server, DEBUG off):

    .venv/bin/python bench/feeds_load.py [--sizes 10000,100000,1000000] [--seconds 15]
    .venv/bin/python bench/feeds_load.py --tiny   # 300 users, 500 and 1,000 posts, for CI

Needs PostgreSQL and Redis as for `make test`, and wrk (apt-get install wrk). Uses its own
database, doubletake_feedbench unless --database names another; --fresh (implied by --tiny)
drops it first, so the seeding itself is exercised rather than skipped.

The seeding is raw SQL for speed, but its column lists come from the models (`_meta`): a
column the benchmark does not set takes its field's default, exactly as the ORM would fill it,
so a new NOT NULL column with a default never breaks it (feeds_post.allow_remix once did).
A new NOT NULL column without a default stops the run with its name.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from harness import exit_on_sigterm, parse_args, setup_django  # noqa: E402
from jobs_api import run_wrk, start_servers, stop_servers, warm_up  # noqa: E402

PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
EVENTS_PER_POST = 10
TOPICS = "ARRAY['cooking','pranks','sports','dance','pets','comedy','travel','music']"
# Likes use (user, post) = (k mod users, a stride over posts): distinct pairs, so the
# 30 % share is not lost to ON CONFLICT. (The first full run, before this, kept 1.2 M of 3 M.)


def env(db_name: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"{PG}/{db_name}",
        "DATABASE_POOL": "true",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/11"),
        "REDIS_CACHE_URL": os.environ.get("REDIS_CACHE_URL", "redis://127.0.0.1:6379/10"),
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "feed-bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }


def insert_select(
    conn: Any, model: Any, values: dict[str, str], source: str, **params: Any
) -> None:
    """`INSERT INTO <model's table> (...) SELECT ... FROM <source>`, its columns from `_meta`.

    `values` holds the SQL for the columns the benchmark sets, by column name, with
    `%(name)s` placeholders bound from `params`. Every other column gets what the ORM would
    give it: its field's default, or nothing (NULL) where the field is nullable. A NOT NULL
    column with no default, or a unique one that one default cannot fill for many rows,
    stops the run with its name, as does a value for a column the model no longer has.
    """
    from django.db import connection

    table = model._meta.db_table
    unknown = set(values) - {field.column for field in model._meta.concrete_fields}
    if unknown:
        raise SystemExit(f"{table} has no column {', '.join(sorted(unknown))}: fix feeds_load.py")
    columns, selects = [], []
    for field in model._meta.concrete_fields:
        if field.column in values:
            columns.append(field.column)
            selects.append(values[field.column])
            continue
        default = _default_sql(field, table, connection, params)
        if default is not None:
            columns.append(field.column)
            selects.append(default)
    names = ", ".join(f'"{column}"' for column in columns)
    conn.execute(
        f'INSERT INTO "{table}" ({names}) SELECT {", ".join(selects)} FROM {source}', params
    )


def _default_sql(field: Any, table: str, connection: Any, params: dict[str, Any]) -> str | None:
    """The SQL for a column the benchmark leaves to the model, or None to leave it out."""
    from django.db.models import NOT_PROVIDED, AutoField

    if isinstance(field, AutoField) or field.db_default is not NOT_PROVIDED:
        return None  # the database fills it: a sequence, or the column's own default
    value = field.get_default()  # as the ORM fills an unset field: "" for a blank text field
    if value is None:
        if field.null:
            return None
        raise SystemExit(
            f"{table}.{field.column} is NOT NULL with no default: "
            "give it a value in bench/feeds_load.py"
        )
    if field.unique:
        raise SystemExit(
            f"{table}.{field.column} is unique: one default cannot fill every "
            "row; give it a value in bench/feeds_load.py"
        )
    key = f"default_{field.column}"
    params[key] = field.get_db_prep_save(value, connection)
    return f"CAST(%({key})s AS {field.db_type(connection)})"


def prepare(db_name: str, users: int, follows_each: int, fresh: bool) -> None:
    import psycopg
    from django.core.management import call_command

    from accounts.models import Follow, User

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db_name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{db_name}"')
    call_command("migrate", verbosity=0)
    with psycopg.connect(f"{PG}/{db_name}", autocommit=True) as conn:
        (have,) = conn.execute("SELECT count(*) FROM accounts_user").fetchone()
        if have >= users:
            return
        started = time.perf_counter()
        insert_select(
            conn,
            User,
            {
                "password": "'!'",
                "username": "'u' || g",
                "email": "'u' || g || '@bench.local'",
                "date_joined": "now()",
            },
            "generate_series(1, %(users)s::bigint) g",
            users=users,
        )
        insert_select(
            conn,
            Follow,
            {
                "follower_id": "u.id",
                "followee_id": "1 + ((u.id * 7919 + k * 104729) %% %(users)s)",
                "created_at": "now()",
            },
            """accounts_user u, generate_series(1, %(follows)s::bigint) k
            WHERE 1 + ((u.id * 7919 + k * 104729) %% %(users)s) <> u.id
            ON CONFLICT DO NOTHING""",
            users=users,
            follows=follows_each,
        )
        print(f"seeded {users} users and their follows in {time.perf_counter() - started:.0f} s")


def grow(db_name: str, users: int, target: int) -> None:
    import psycopg

    from feeds.models import Like, Post, View
    from feeds.services import trending_refresh
    from media.models import Video

    with psycopg.connect(f"{PG}/{db_name}", autocommit=True) as conn:
        (have,) = conn.execute("SELECT count(*) FROM feeds_post").fetchone()
        if have >= target:
            return
        started = time.perf_counter()
        first, last = have + 1, target
        span = {"users": users, "first": first, "last": last, "n": last - first + 1}
        posts = "generate_series(%(first)s::bigint, %(last)s::bigint) g"
        minutes_ago = "now() - (g %% 43200) * interval '1 minute'"
        insert_select(
            conn,
            Video,
            {
                "id": "md5('v' || g)::uuid",
                "owner_id": "1 + (g * 7919 %% %(users)s)",
                "state": "'published'",
                "file": "'x.mp4'",
                "poster": "'x.jpg'",
                "preview": "'x.mp4'",
                "provenance_backend": "'c2pa'",
                "manifest": """'{"generated": true}'""",
                "prompt": "'prompt ' || g",
                "width": "720",
                "height": "1280",
                "duration_s": "9.0",
                "created_at": minutes_ago,
            },
            posts,
            **span,
        )
        insert_select(
            conn,
            Post,
            {
                "video_id": "md5('v' || g)::uuid",
                "author_id": "1 + (g * 7919 %% %(users)s)",
                "caption": "'post ' || g",
                "visibility": """CASE WHEN g %% 100 < 90 THEN 'public'
                WHEN g %% 100 < 97 THEN 'followers' ELSE 'private' END""",
                "state": "'live'",
                "cluster": "'c' || (g %% (%(target)s / 3 + 1))",
                "template": "'t' || (g %% 50)",
                "topic": f"({TOPICS})[1 + g %% 8]",
                "created_at": minutes_ago,
            },
            posts,
            target=target,
            **span,
        )
        events = span["n"] * EVENTS_PER_POST
        likes = int(events * 0.3)
        insert_select(
            conn,
            Like,
            {
                "user_id": "1 + k %% %(users)s",
                "post_id": "%(first)s + ((k / %(users)s) * 7919 + k * 13) %% %(n)s",
                "created_at": "now()",
            },
            "generate_series(0, %(likes)s::bigint - 1) k ON CONFLICT DO NOTHING",
            likes=likes,
            **span,
        )
        insert_select(
            conn,
            View,
            {
                "user_id": "1 + (k * 69621 %% %(users)s)",
                "post_id": "%(first)s + (k * 40692 %% %(n)s)",
                "watch_ms": "1000 + k %% 9000",
                "completed": "k %% 3 = 0",
                "created_at": "now()",
            },
            "generate_series(1, %(views)s::bigint) k",
            views=events - likes,
            **span,
        )
        conn.execute(
            """
            UPDATE feeds_post p SET like_count = s.n FROM (
                SELECT post_id, count(*) n FROM feeds_like WHERE post_id >= %s GROUP BY post_id
            ) s WHERE p.id = s.post_id""",
            (first,),
        )
        conn.execute(
            """
            UPDATE feeds_post p SET view_count = s.n, completion_count = s.c FROM (
                SELECT post_id, count(*) n, count(*) FILTER (WHERE completed) c FROM feeds_view
                WHERE post_id >= %s GROUP BY post_id
            ) s WHERE p.id = s.post_id""",
            (first,),
        )
        conn.execute("ANALYZE")
        elapsed = time.perf_counter() - started
        print(f"grew to {target} posts (+{events} events) in {elapsed:.0f} s")
    trending_refresh()


def token() -> str:
    from django.db import connections

    from accounts.models import User
    from accounts.services import token_issue

    bearer = token_issue(user=User.objects.get(username="u42"), device="bench")
    connections.close_all()
    return bearer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--follows", type=int, default=20, help="followees per user")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=0, help="unmeasured seconds of load first")
    parser.add_argument("--database", default="doubletake_feedbench")
    parser.add_argument("--fresh", action="store_true", help="drop the database first")
    # For You ranks ~400 candidates per request (up to ~1 s here): 2 connections for 3 s
    # let a few finish inside the window, even on a busy machine.
    tiny = {
        "sizes": "500,1000",
        "users": 300,
        "follows": 5,
        "seconds": 3,
        "warmup": 1,
        "connections": 2,
        "database": "doubletake_feedbench_tiny",
        "fresh": True,
    }
    args = parse_args(parser, tiny=tiny)
    if args.users < 42:
        sys.exit("--users must be at least 42: the benchmark reads the feeds as user u42")
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install -y wrk")
    exit_on_sigterm()
    setup_django(env(args.database))
    prepare(args.database, args.users, args.follows, args.fresh)
    bearer = token()
    print(f"{'posts':>9} {'feed':>10} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>7} {'non-2xx':>8}")
    for size in (int(s) for s in args.sizes.split(",")):
        grow(args.database, args.users, size)
        procs, port = start_servers(env(args.database), 2, settle_s=0 if args.warmup else 2)
        try:
            for name, path in (("for-you", "feeds/for-you/"), ("following", "feeds/following/")):
                url = f"http://127.0.0.1:{port}/api/v1/{path}"
                warm_up(url, bearer, args.warmup, args.connections)
                result = run_wrk(url, bearer, args.seconds, args.connections)
                print(
                    f"{size:>9} {name:>10} {result['p50_ms']:>8.1f} {result['p99_ms']:>8.1f} "
                    f"{result['rps']:>7.0f} {result['errors']:>8.0f}",
                    flush=True,
                )
        finally:
            stop_servers(procs)


if __name__ == "__main__":
    main()
