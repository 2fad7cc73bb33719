"""Remix over real connections: API -> remix.render on the gpu queue in a Celery worker, its
progress on the websocket, the draft published as a remix of its source."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests import remix_media as rm
from tests.test_jobs_live import Client, _messages_until

pytestmark = [
    pytest.mark.services,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_remix_runs_in_a_worker_and_is_published_as_a_remix_of_its_source(
    live_url: str, start_worker: Callable[..., Any], service_env: dict[str, str], tmp_path: Path
) -> None:
    from accounts.models import User
    from feeds.services import post_publish
    from media.models import Video

    # given a published video, stored where the server and the worker keep media
    ana, ben = Client(live_url, "ana"), Client(live_url, "ben")
    truth = rm.build_source(tmp_path / "source.mp4", rm.SourceSpec(seconds=1.5), keep_masks=False)
    name = f"jobs/{uuid.uuid4().hex}/video.mp4"
    stored = Path(service_env["DOUBLETAKE_VAR_DIR"]) / "media" / name
    stored.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(truth.path, stored)
    author = User.objects.get(username="ana")
    video = Video.objects.create(owner=author, file=name, width=180, height=320, duration_s=1.5)
    source = post_publish(video=video, author=author, caption="dance", visibility="public")
    try:
        # when ben asks for a remix and a worker picks it up
        submitted = ben.post(
            "/api/v1/remixes/",
            json={
                "source_video_id": str(video.id),
                "operation": "swap_background",
                "background_prompt": "a forest at night",
            },
        )
        assert submitted.status_code == 202, submitted.text
        job_id = submitted.json()["job"]["id"]
        assert submitted.json()["lineage"][-1]["post"] == source.pk
        with ben.websocket(job_id) as ws:
            start_worker()
            seen = _messages_until(ws, lambda j: j["state"] in ("succeeded", "failed"), 240)
        # then its stages arrived in order, and the draft becomes a remix of the source
        assert seen[-1]["state"] == "succeeded", seen[-1]
        stages = [m["stage"] for m in seen if m["stage"]]
        assert stages.index("track") < stages.index("render") < stages.index("provenance")
        remix = ben.get(f"/api/v1/remixes/{submitted.json()['id']}/").json()
        assert remix["video"] == seen[-1]["result"]["video_id"]
        published = ben.post(f"/api/v1/videos/{remix['video']}/publish/", json={"caption": "mine"})
        assert published.status_code == 201, published.text
        assert published.json()["remix_of"]["id"] == source.pk
        lineage = ben.get(f"/api/v1/posts/{published.json()['id']}/lineage/").json()
        assert [e["author"] for e in lineage] == ["ana", "ben"]
        # and ana's post counts it
        assert ana.get(f"/api/v1/posts/{source.pk}/").json()["remix_count"] == 1
    finally:
        stored.unlink(missing_ok=True)
