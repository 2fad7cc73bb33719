from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from accounts.models import User
from tests import media


def _upload(client: APIClient, path: Path, kind: str = "video", name: str | None = None) -> Any:
    with open(path, "rb") as handle:
        file = SimpleUploadedFile(name or path.name, handle.read())
    return client.post("/api/v1/uploads/", {"kind": kind, "file": file}, format="multipart")


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return media.make_clip(tmp_path / "clip.mp4", seconds=2)


def test_a_good_clip_is_accepted_with_its_probe(
    owner: User, client_for: Callable[[User], APIClient], clip: Path
) -> None:
    response = _upload(client_for(owner), clip)
    assert response.status_code == 201, response.json()
    probe = response.json()["probe"]
    assert probe["has_video"] and probe["has_audio"]
    assert (probe["width"], probe["height"]) == (320, 240)
    assert probe["duration_s"] == pytest.approx(2.0, abs=0.1)
    assert probe["video_codec"] == "h264"


def test_the_file_is_judged_by_content_not_by_name(
    owner: User, client_for: Callable[[User], APIClient], tmp_path: Path
) -> None:
    fake = tmp_path / "holiday.mp4"
    fake.write_text("#!/bin/sh\necho this is a script, not a video\n")
    response = _upload(client_for(owner), fake)
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_an_image_is_refused_where_a_video_is_expected(
    owner: User, client_for: Callable[[User], APIClient], tmp_path: Path
) -> None:
    png = media.make_image(tmp_path / "still.png")
    response = _upload(client_for(owner), png, name="still.mp4")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_a_corrupt_file_gets_its_code(
    owner: User, client_for: Callable[[User], APIClient], tmp_path: Path
) -> None:
    response = _upload(client_for(owner), media.make_corrupt_mp4(tmp_path / "bad.mp4"))
    assert response.status_code == 422
    assert response.json()["code"] == "media_corrupt"


@pytest.mark.parametrize("faststart", [True, False], ids=["index-first", "index-last"])
def test_a_truncated_file_gets_its_code(
    owner: User, client_for: Callable[[User], APIClient], tmp_path: Path, faststart: bool
) -> None:
    whole = media.make_clip(tmp_path / "whole.mp4", seconds=3, faststart=faststart)
    cut = media.truncate(whole, tmp_path / "cut.mp4", keep=0.5)
    response = _upload(client_for(owner), cut)
    assert response.status_code == 422
    assert response.json()["code"] == "media_truncated"


def test_an_oversize_file_gets_its_code(
    owner: User, client_for: Callable[[User], APIClient], clip: Path, settings: Any
) -> None:
    settings.UPLOAD_MAX_BYTES = clip.stat().st_size - 1
    response = _upload(client_for(owner), clip)
    assert response.status_code == 413
    assert response.json()["code"] == "upload_too_large"


def test_a_clip_over_the_duration_cap_gets_its_code(
    owner: User, client_for: Callable[[User], APIClient], clip: Path, settings: Any
) -> None:
    settings.UPLOAD_MAX_SECONDS = 1
    response = _upload(client_for(owner), clip)
    assert response.status_code == 422
    assert response.json()["code"] == "media_too_long"


def test_a_clip_over_the_pixel_cap_gets_its_code(
    owner: User, client_for: Callable[[User], APIClient], clip: Path, settings: Any
) -> None:
    settings.UPLOAD_MAX_PIXELS = 320 * 240 - 1
    response = _upload(client_for(owner), clip)
    assert response.status_code == 422
    assert response.json()["code"] == "media_too_many_pixels"


def test_an_empty_file_gets_its_code(
    owner: User, client_for: Callable[[User], APIClient], tmp_path: Path
) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    response = _upload(client_for(owner), empty)
    assert response.status_code == 400
    assert response.json()["code"] == "upload_empty"


def test_a_rejected_upload_leaves_nothing_in_storage(
    owner: User, client_for: Callable[[User], APIClient], tmp_path: Path, settings: Any
) -> None:
    _upload(client_for(owner), media.make_corrupt_mp4(tmp_path / "bad.mp4"))
    assert not any(Path(settings.MEDIA_ROOT).rglob("*.*"))


def test_a_stranger_cannot_read_an_upload_by_id(
    owner: User, stranger: User, client_for: Callable[[User], APIClient], clip: Path
) -> None:
    upload_id = _upload(client_for(owner), clip).json()["id"]
    response = client_for(stranger).get(f"/api/v1/uploads/{upload_id}/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert client_for(owner).get(f"/api/v1/uploads/{upload_id}/").status_code == 200


def test_the_media_link_serves_the_file_and_a_forged_one_does_not(
    owner: User, client_for: Callable[[User], APIClient], clip: Path
) -> None:
    url = _upload(client_for(owner), clip).json()["url"]
    client = APIClient()
    served = client.get(url)
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == clip.read_bytes()
    forged = client.get(url[:-3] + "abc")
    assert forged.status_code == 404
    assert forged.json()["code"] == "media_link_invalid"


def test_presigned_uploads_say_clearly_when_there_is_no_s3(
    owner: User, client_for: Callable[[User], APIClient]
) -> None:
    response = client_for(owner).post("/api/v1/uploads/presign/", {"kind": "video"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "presign_unavailable"
