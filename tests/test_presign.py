"""Direct-to-storage uploads against an S3-compatible server (moto, on localhost).

S3 itself is outside the machine in production; moto's server stands in for it over real
HTTP, and the presigned POST, the object and the checks on it are all real.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from rest_framework.test import APIClient

from accounts.models import User
from tests import media

BUCKET = "doubletake-test"


@pytest.fixture
def s3(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    requests.post(f"{endpoint}/moto-api/reset", timeout=10)  # moto keeps state per process
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    settings.S3_BUCKET = BUCKET
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {"bucket_name": BUCKET, "endpoint_url": endpoint, "file_overwrite": False},
        },
    }
    yield client
    server.stop()


def _presign(client: APIClient) -> dict[str, Any]:
    response = client.post("/api/v1/uploads/presign/", {"kind": "video"}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def _put(presigned: dict[str, Any], path: Path) -> None:
    with open(path, "rb") as handle:
        response = requests.post(
            presigned["url"], data=presigned["fields"], files={"file": handle}, timeout=30
        )
    assert response.status_code in (200, 201, 204), response.text


def _keys(s3: Any) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def test_a_clip_uploaded_straight_to_storage_is_probed_on_completion(
    s3: Any, owner: User, client_for: Callable[[User], APIClient], tmp_path: Path
) -> None:
    client = client_for(owner)
    presigned = _presign(client)
    assert presigned["upload"]["state"] == "pending"
    _put(presigned, media.make_clip(tmp_path / "c.mp4", seconds=2))
    done = client.post(f"/api/v1/uploads/{presigned['upload']['id']}/complete/")
    assert done.status_code == 200, done.json()
    body = done.json()
    assert body["state"] == "ready" and body["probe"]["video_codec"] == "h264"
    # the link comes back here (checked at serve time), then redirects to a short presigned URL
    assert body["url"].startswith("/media/?t=")
    served = client.get(body["url"])
    assert served.status_code == 302
    assert served["Location"].startswith("http://127.0.0.1:") and "Expires=" in served["Location"]
    assert requests.get(served["Location"], timeout=10).content[4:8] == b"ftyp"


def test_a_bad_object_is_rejected_and_deleted_from_storage(
    s3: Any, owner: User, client_for: Callable[[User], APIClient], tmp_path: Path
) -> None:
    client = client_for(owner)
    presigned = _presign(client)
    _put(presigned, media.make_corrupt_mp4(tmp_path / "bad.mp4"))
    assert len(_keys(s3)) == 1
    done = client.post(f"/api/v1/uploads/{presigned['upload']['id']}/complete/")
    assert done.status_code == 422
    assert done.json()["code"] == "media_corrupt"
    assert _keys(s3) == []
    again = client.post(f"/api/v1/uploads/{presigned['upload']['id']}/complete/")
    assert again.json()["code"] == "upload_rejected"


def test_completing_before_uploading_says_so(
    s3: Any, owner: User, client_for: Callable[[User], APIClient]
) -> None:
    client = client_for(owner)
    presigned = _presign(client)
    done = client.post(f"/api/v1/uploads/{presigned['upload']['id']}/complete/")
    assert done.status_code == 409
    assert done.json()["code"] == "upload_missing"


def test_a_stranger_cannot_complete_someone_elses_upload(
    s3: Any,
    owner: User,
    stranger: User,
    client_for: Callable[[User], APIClient],
) -> None:
    presigned = _presign(client_for(owner))
    response = client_for(stranger).post(f"/api/v1/uploads/{presigned['upload']['id']}/complete/")
    assert response.status_code == 404
