"""Benchmark: the moderators' queue and its claim as the open cases grow.

Seeds N open cases (one report each, reasons and severities spread as real reports would be)
in its own PostgreSQL database, then times, in this process through the real API views:
the first queue page (GET /api/v1/moderation/cases/, 20 cases, most severe first) and a
claim of the next case (POST /api/v1/moderation/cases/claim/), each repeated, p50 and p99.

    .venv/bin/python bench/moderation_queue.py [--cases 100000] [--runs 200]
    .venv/bin/python bench/moderation_queue.py --tiny   # 2,000 cases, 30 runs, for CI

Needs PostgreSQL as for `make test` (database doubletake_modbench, dropped and re-created).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from harness import parse_args, percentiles, setup_django  # noqa: E402

PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB = "doubletake_modbench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parse_args(parser, {"cases": 2000, "runs": 30})

    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB}")
        admin.execute(f"CREATE DATABASE {DB}")
    setup_django({"DATABASE_URL": f"{PG}/{DB}", "LOG_LEVEL": "WARNING"})

    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from rest_framework.test import APIClient

    from accounts.models import User
    from moderation.models import Case, Reason, Report
    from moderation.roles import MODERATOR
    from moderation.services import severity

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    reporter = User.objects.create_user(
        username="reporter", email="reporter@example.com", password="x" * 12
    )
    moderator = User.objects.create_user(
        username="mod", email="mod@example.com", password="x" * 12, is_staff=True
    )
    moderator.groups.add(Group.objects.get(name=MODERATOR))
    reasons = [r for r in Reason.values if r != Reason.MINOR_SAFETY]
    batch = 5000
    for start in range(0, args.cases, batch):
        cases = []
        for i in range(start, min(args.cases, start + batch)):
            reason = reasons[i % len(reasons)]
            reach = (i * 7919) % 100_000
            cases.append(
                Case(
                    target_kind="post",
                    target_id=str(i + 1),
                    reasons=[reason],
                    report_count=1,
                    severity=severity([reason], 1, reach),
                )
            )
        made = Case.objects.bulk_create(cases)
        Report.objects.bulk_create(
            Report(case=case, reporter=reporter, reason=case.reasons[0]) for case in made
        )
    from django.db import connection

    with connection.cursor() as cursor:  # the statistics autovacuum keeps on a live database
        cursor.execute("ANALYZE moderation_case")
    seeded = time.perf_counter() - started
    print(f"seeded {args.cases} open cases with one report each in {seeded:.1f} s")

    client = APIClient()
    client.force_authenticate(moderator)
    queue: list[float] = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        response = client.get("/api/v1/moderation/cases/")
        queue.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200 and len(response.json()["results"]) == 20
    claims: list[float] = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        response = client.post("/api/v1/moderation/cases/claim/")
        claims.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200
        # release it, so every claim searches the same queue
        Case.objects.filter(pk=response.json()["id"]).update(claimed_by=None, lease_until=None)
    for name, samples in (("queue page", queue), ("claim", claims)):
        p50, p99 = percentiles(samples)
        print(
            f"{name}: {args.cases} open cases, {args.runs} runs: p50 {p50:.1f} ms, p99 {p99:.1f} ms"
        )


if __name__ == "__main__":
    main()
