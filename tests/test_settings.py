from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "DOUBLETAKE_PRODUCTION": "true",
    "DJANGO_SECRET_KEY": "x" * 20 + "-a-long-random-production-secret-0123456789",
    "DJANGO_ALLOWED_HOSTS": "api.doubletake.example",
    "DATABASE_URL": "postgres://doubletake@127.0.0.1:5432/doubletake",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DOUBLETAKE_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_production_settings_and_no_warnings() -> None:
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key() -> None:
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SECRET_KEY"}
    result = _manage("check", **env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_a_bad_boolean_fails_loudly() -> None:
    result = _manage("check", DJANGO_DEBUG="maybe")
    assert result.returncode != 0
    assert "DJANGO_DEBUG='maybe' is not a boolean" in result.stderr


def test_debug_off_without_production_still_needs_its_own_secret() -> None:
    result = _manage("check", DJANGO_DEBUG="false")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_every_page_carries_a_content_security_policy(db: None) -> None:
    from django.test import Client

    for path in ("/", "/admin/login/", "/api/docs/", "/api/v1/feeds/for-you/"):
        policy = Client().get(path).headers.get("Content-Security-Policy", "")
        assert "default-src 'self'" in policy, path
        assert (
            "script-src 'self'" in policy
            and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
        ), path
        assert "frame-ancestors 'none'" in policy, path
