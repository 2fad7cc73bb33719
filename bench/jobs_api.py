"""Benchmark: latency and throughput of GET /api/v1/jobs/<id>/ on PostgreSQL and Redis.

Starts 1 and then 2 web processes (daphne via config.server) sharing one listening socket,
drives each with wrk, and prints p50 / p99 latency and requests per second.

    .venv/bin/python bench/jobs_api.py [--seconds 15] [--connections 16]

Needs PostgreSQL and Redis as in `make test` and `wrk` (apt-get install wrk). It uses its own
database, doubletake_bench, which it creates and migrates.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB_NAME = "doubletake_bench"


def bench_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"{PG}/{DB_NAME}",
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


def prepare(env: dict[str, str]) -> tuple[str, str]:
    """Create and migrate the bench database; return (job id, token) of a seeded job."""
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    script = (
        "from accounts.models import User; from accounts.services import token_issue;"
        "from generation.models import Job;"
        "u, _ = User.objects.get_or_create(username='bench', defaults={'email': 'b@x.io'});"
        "j = Job.objects.create(owner=u, kind='media.transcode', params={'upload_id': 'x'},"
        " state='succeeded', progress=100, result={'output': ''});"
        "print(j.id, token_issue(user=u, device='bench'))"
    )
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    job_id, token = out.stdout.split()[-2:]
    return job_id, token


def _reuseport_socket(port: int) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(1024)
    return sock


def start_servers(env: dict[str, str], count: int) -> tuple[list[subprocess.Popen], int]:
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
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for sock in sockets
    ]
    for sock in sockets:
        sock.close()  # the children hold them now
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                probe.sendall(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                if b"200" in probe.recv(64):
                    break
        except OSError:
            time.sleep(0.2)
    time.sleep(2)  # let every process finish importing before the clock starts
    return procs, port


def stop_servers(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def to_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(url: str, token: str, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency",
         "-H", f"Authorization: Bearer {token}", url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    p50 = re.search(r"50%\s+(\S+)", out).group(1)  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+(\S+)", out).group(1)  # type: ignore[union-attr]
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "p50_ms": to_ms(p50),
        "p99_ms": to_ms(p99),
        "rps": float(rps),
        "errors": float(non2xx.group(1)) if non2xx else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install -y wrk")
    env = bench_env()
    job_id, token = prepare(env)
    print(f"GET /api/v1/jobs/<id>/  wrk -c {args.connections} -d {args.seconds}s, "
          f"{os.cpu_count()} cores, PostgreSQL + Redis, DEBUG off")  # fmt: skip
    print(f"{'web processes':>14} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} {'non-2xx':>8}")
    for count in (1, 2):
        procs, port = start_servers(env, count)
        try:
            result = run_wrk(
                f"http://127.0.0.1:{port}/api/v1/jobs/{job_id}/", token, args.seconds,
                args.connections,
            )  # fmt: skip
        finally:
            stop_servers(procs)
        print(
            f"{count:>14} {result['p50_ms']:>8.1f} {result['p99_ms']:>8.1f} "
            f"{result['rps']:>8.0f} {result['errors']:>8.0f}"
        )


if __name__ == "__main__":
    main()
