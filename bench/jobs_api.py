"""Benchmark: latency and throughput of GET /api/v1/jobs/<id>/ on PostgreSQL and Redis.

Starts 1 and then 2 web processes (daphne via config.server) sharing one listening socket,
drives each with wrk, and prints p50 / p99 latency and requests per second.

    .venv/bin/python bench/jobs_api.py [--seconds 15] [--connections 16] [--database NAME]
    .venv/bin/python bench/jobs_api.py --tiny   # 1 s per run on a fresh database, for CI

Needs PostgreSQL and Redis as in `make test` and `wrk` (apt-get install wrk). It uses its own
database, doubletake_bench unless --database names another, which it creates (--fresh: drops
first) and migrates.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from harness import die_with_parent, exit_on_sigterm, parse_args, setup_django

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
SERVER_START_S = 60
# daphne does not exit on SIGTERM while requests wrk abandoned are still queued (their threads
# wait on the stopped event loop), so a server still up after this gets SIGKILL.
STOP_GRACE_S = 3  # a server with no request left exits in 1-2 s


def bench_env(db_name: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"{PG}/{db_name}",
        DATABASE_POOL="true",
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13"),
        REDIS_CACHE_URL=os.environ.get("REDIS_CACHE_URL", "redis://127.0.0.1:6379/12"),
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    return env


def prepare(env: dict[str, str], db_name: str, fresh: bool = False) -> tuple[str, str]:
    """Create and migrate the bench database; return (job id, token) of a seeded job."""
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db_name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{db_name}"')
    setup_django(env)
    from django.core.management import call_command
    from django.db import connections

    from accounts.models import User
    from accounts.services import token_issue
    from jobs.models import Job

    call_command("migrate", verbosity=0)
    user, _ = User.objects.get_or_create(username="bench", defaults={"email": "b@x.io"})
    job = Job.objects.create(
        owner=user,
        kind="media.transcode",
        params={"upload_id": "x"},
        state="succeeded",
        progress=100,
        result={"output": ""},
    )
    token = token_issue(user=user, device="bench")
    connections.close_all()
    return str(job.id), token


def _reuseport_socket(port: int) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(1024)
    return sock


def start_servers(
    env: dict[str, str], count: int, settle_s: float = 2.0
) -> tuple[list[subprocess.Popen], int]:
    # One SO_REUSEPORT socket per process: the kernel spreads connections across them. A
    # single shared socket lets whichever process wakes first take every keep-alive connection.
    first = _reuseport_socket(0)
    port = first.getsockname()[1]
    sockets = [first] + [_reuseport_socket(port) for _ in range(count - 1)]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "config.server",
                "--fd",
                str(sock.fileno()),
                "--application-close-timeout",
                "2",
                "config.asgi:application",
            ],
            cwd=ROOT,
            env=env,
            pass_fds=[sock.fileno()],
            start_new_session=True,
            preexec_fn=die_with_parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for sock in sockets
    ]
    for sock in sockets:
        sock.close()  # the children hold them now
    try:
        _wait_healthy(procs, port)
    except BaseException:
        stop_servers(procs)
        raise
    time.sleep(settle_s)  # let every process finish importing before the clock starts
    return procs, port


def _wait_healthy(procs: list[subprocess.Popen], port: int) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if any(proc.poll() is not None for proc in procs):
            raise RuntimeError("a web process exited at start-up (run config.server by hand)")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                probe.sendall(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                if b"200" in probe.recv(64):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"no web process answered /healthz within {SERVER_START_S} s")


def _signal_group(proc: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(proc.pid, signum)


def stop_servers(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        _signal_group(proc, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait(timeout=5)


def to_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def run_wrk(url: str, token: str, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk",
            "-t",
            "2",
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--latency",
            "-H",
            f"Authorization: Bearer {token}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
        preexec_fn=die_with_parent,
    ).stdout
    # Anchored: a "+/- Stdev" column such as "62.50%" must not pass for the 50% row.
    p50 = re.search(r"^[ \t]+50%[ \t]+(\S+)", out, re.M).group(1)  # type: ignore[union-attr]
    p99 = re.search(r"^[ \t]+99%[ \t]+(\S+)", out, re.M).group(1)  # type: ignore[union-attr]
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "p50_ms": to_ms(p50),
        "p99_ms": to_ms(p99),
        "rps": float(rps),
        "errors": float(non2xx.group(1)) if non2xx else 0.0,
    }


def warm_up(url: str, token: str, seconds: int, connections: int) -> None:
    """Unmeasured load first, so each web process has served its first (cold) requests.

    Off (0 s) by default, as the figures were taken; a tiny run needs it, as a cold request
    can take longer than its whole measured second. With it, the servers need no time to
    settle before it starts."""
    if seconds > 0:
        run_wrk(url, token, seconds, connections)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=0, help="unmeasured seconds of load first")
    parser.add_argument("--database", default="doubletake_bench")
    parser.add_argument("--fresh", action="store_true", help="drop the database first")
    tiny = {
        "seconds": 1,
        "connections": 4,
        "warmup": 1,
        "database": "doubletake_bench_tiny",
        "fresh": True,
    }
    args = parse_args(parser, tiny=tiny)
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install -y wrk")
    exit_on_sigterm()
    env = bench_env(args.database)
    job_id, token = prepare(env, args.database, args.fresh)
    print(
        f"GET /api/v1/jobs/<id>/  wrk -c {args.connections} -d {args.seconds}s, "
        f"{os.cpu_count()} cores, PostgreSQL + Redis, DEBUG off"
    )
    print(f"{'web processes':>14} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} {'non-2xx':>8}")
    for count in (1, 2):
        procs, port = start_servers(env, count, settle_s=0 if args.warmup else 2)
        url = f"http://127.0.0.1:{port}/api/v1/jobs/{job_id}/"
        try:
            warm_up(url, token, args.warmup, args.connections)
            result = run_wrk(url, token, args.seconds, args.connections)
        finally:
            stop_servers(procs)
        print(
            f"{count:>14} {result['p50_ms']:>8.1f} {result['p99_ms']:>8.1f} "
            f"{result['rps']:>8.0f} {result['errors']:>8.0f}"
        )


if __name__ == "__main__":
    main()
