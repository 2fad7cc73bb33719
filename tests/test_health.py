from __future__ import annotations

import pytest
from django.test import Client


def test_healthz_says_the_process_is_alive() -> None:
    assert Client().get("/healthz").json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_each_dependency() -> None:
    response = Client().get("/readyz")
    body = response.json()
    assert set(body["checks"]) == {"database", "broker", "storage", "ffmpeg", "speech"}
    assert response.status_code == 200, body
    assert body["ready"] is True
    assert body["checks"]["ffmpeg"]["detail"].startswith("ffmpeg version")


@pytest.mark.django_db
def test_readyz_fails_when_storage_is_unwritable(settings: object, tmp_path: object) -> None:
    blocker = tmp_path / "file"  # type: ignore[operator]
    blocker.write_text("not a directory")
    settings.MEDIA_ROOT = blocker / "media"  # type: ignore[attr-defined]
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["storage"]["ok"] is False


@pytest.mark.django_db
def test_readyz_reports_a_missing_speech_engine_without_failing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    from generation.pipeline import audio

    audio.espeak_version.cache_clear()
    monkeypatch.setenv("PATH", str(tmp_path))  # a web host without espeak-ng
    try:
        response = Client().get("/readyz")
    finally:
        audio.espeak_version.cache_clear()
    assert response.json()["checks"]["speech"]["ok"] is False
    assert "espeak-ng is not installed" in response.json()["checks"]["speech"]["detail"]
    assert response.status_code == 200
