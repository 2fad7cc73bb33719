"""Demo content for a first run: a demo account, a clip it uploaded and a finished job.

Everything goes through the real intake and job runner. Safe to run again: it seeds once.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand

from accounts.models import User
from accounts.services import token_issue
from generation.intake import upload_create
from generation.pipeline.ffmpeg import ffmpeg_exe
from generation.services import job_submit

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "doubletake-demo-2026"


def _demo_clip(path: Path) -> None:
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y",
         "-f", "lavfi", "-i", "testsrc2=size=720x1280:rate=24:duration=4",
         "-f", "lavfi", "-i", "sine=frequency=330:duration=4",
         "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-shortest", "-movflags", "+faststart", str(path)],
        check=True, timeout=120,
    )  # fmt: skip


class Command(BaseCommand):
    help = "Seed the demo account and its content (once)."

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=DEMO_USERNAME).first()
        if user is None:
            user = User.objects.create_user(
                DEMO_USERNAME, "demo@doubletake.local", DEMO_PASSWORD, display_name="Demo"
            )
            with tempfile.TemporaryDirectory() as tmp:
                clip = Path(tmp) / "demo.mp4"
                _demo_clip(clip)
                upload = upload_create(
                    owner=user,
                    kind="video",
                    uploaded=SimpleUploadedFile("demo.mp4", clip.read_bytes()),
                )
            job_submit(owner=user, kind="media.transcode", params={"upload_id": str(upload.id)})
        token = token_issue(user=user, device="seed_demo")
        self.stdout.write(
            f"Demo account: {DEMO_USERNAME} / {DEMO_PASSWORD}\n"
            f"Demo API token: {token}\n"
            "Open http://127.0.0.1:8000/ (API docs at http://127.0.0.1:8000/api/docs/)"
        )
