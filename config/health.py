"""/healthz says the process is alive; /readyz checks each dependency and reports it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages
from django.db import connection
from django.http import HttpRequest, JsonResponse


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return connection.vendor


def _check_broker() -> str:
    if settings.JOB_RUNNER != "celery":
        return "in-process runner (no broker)"
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "redis"


def _check_storage() -> str:
    name = default_storage.save(f"readyz/{uuid.uuid4().hex}", ContentFile(b"ok"))
    try:
        with default_storage.open(name) as handle:
            if handle.read() != b"ok":
                raise OSError("storage returned other bytes than were written")
    finally:
        default_storage.delete(name)
    return type(storages["default"]).__name__


def _check_ffmpeg() -> str:
    from generation.pipeline.ffmpeg import ffmpeg_version

    return ffmpeg_version()


def _check_speech() -> str:
    from generation.pipeline.audio import espeak_version

    return espeak_version()


ADVISORY = {"speech"}
CHECKS: dict[str, Callable[[], str]] = {
    "database": _check_database,
    "broker": _check_broker,
    "storage": _check_storage,
    "ffmpeg": _check_ffmpeg,
    "speech": _check_speech,
}


def readyz(request: HttpRequest) -> JsonResponse:
    report: dict[str, dict[str, object]] = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            report[name] = {"ok": True, "detail": check()}
        except Exception as exc:  # a readiness probe reports every failure, whatever it is
            report[name] = {"ok": False, "detail": f"{type(exc).__name__}: {exc}"}
        report[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)
    # The speech engine is reported, not required: web processes never speak, only the
    # workers that render do, and a web host without espeak-ng is still ready to serve.
    ready = all(item["ok"] for name, item in report.items() if name not in ADVISORY)
    return JsonResponse({"ready": ready, "checks": report}, status=200 if ready else 503)
