"""Demo content for a first run: demo creators whose posts were made by the real pipeline.

Each demo video is planned from a prompt, rendered, voiced, encoded, watermarked and signed
exactly as a user's would be (at a smaller size, so the first start stays quick), then
published to the feed. Safe to run again: what is there already is kept, and a
run that stopped half-way goes on where it stopped.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Follow, User
from accounts.services import token_issue
from feeds.models import Post
from feeds.services import post_publish
from generation.generations import generation_submit, storyboard_from_request
from jobs.models import Job
from media.models import Video

DEMO_PASSWORD = "doubletake-demo-2026"
DEMO_SIZE = [360, 640]  # 9:16 at half of 720x1280: the same pipeline, a quicker first run
CREATORS = {
    "demo": (
        "Demo",
        [
            (
                "Wide shot of a sunny park: the runner waves. Medium shot: the runner jumps. "
                'Close-up: the runner says "Best morning ever!"',
                "Morning run #sports #park",
            ),
        ],
    ),
    "chef_ana": (
        "Chef Ana",
        [
            (
                "Wide shot of a kitchen: the chef walks to the vase. "
                "Medium shot: the chef knocks over "
                'the vase. Close-up: the chef says "That was not part of the recipe."',
                "Oops #cooking",
            ),
            (
                "A calm kitchen at golden hour, the camera pans. The chef dances.",
                "Sunday vibes #cooking",
            ),
        ],
    ),
    "skater_sam": (
        "Sam",
        [
            (
                "Establishing shot of a street at night. Wide shot: the skater runs and jumps. "
                'Close-up: the skater says "Nailed it!"',
                "Night session #sports",
            ),
            ("A funny dog jumps on the beach, the camera pushes in.", "Beach day #pets #funny"),
        ],
    ),
}


class Command(BaseCommand):
    help = "Seed demo creators and posts made by the generation pipeline (once)."

    def handle(self, *args: Any, **options: Any) -> None:
        self._seed()
        demo = User.objects.get(username="demo")
        self.stdout.write(
            f"Demo account: demo / {DEMO_PASSWORD}\n"
            f"Demo API token: {token_issue(user=demo, device='seed_demo')}\n"
            "Open http://127.0.0.1:8000/ (API docs at http://127.0.0.1:8000/api/docs/)"
        )

    def _generate(self, user: User, board: Any, prompt: str) -> Job:
        """Submit through the same service as the API, then wait for the runner to finish it."""
        with transaction.atomic():
            job, _ = generation_submit(
                owner=user, board=board, cast=[], burn_subtitles=False, prompt=prompt
            )
            # A smaller frame for the demo, set before the job is handed to the runner.
            Job.objects.filter(pk=job.pk).update(params={**job.params, "size": DEMO_SIZE})
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.is_terminal:
                break
            time.sleep(0.5)  # polling the job the runner works on; no work is simulated
        if job.state != Job.State.SUCCEEDED:
            raise RuntimeError(f"demo generation failed: {job.error_code} {job.error_message}")
        return job

    def _seed(self) -> None:
        users = {}
        for username, (name, prompts) in CREATORS.items():
            user = User.objects.filter(username=username).first() or User.objects.create_user(
                username, f"{username}@doubletake.local", DEMO_PASSWORD, display_name=name
            )
            users[username] = user
            for prompt, caption in prompts:
                # Seeded post by post, so a run that stopped half-way goes on where it stopped.
                if Post.objects.filter(author=user, caption=caption).exists():
                    continue
                self.stdout.write(f"generating: {caption}")
                board = storyboard_from_request(
                    prompt=prompt,
                    storyboard=None,
                    aspect="9:16",
                    duration_s=6.0,
                    style="natural",
                    mood=None,
                    dialogue=[],
                    cast=[],
                )
                job = self._generate(user, board, prompt)
                video = Video.objects.get(pk=job.result["video_id"])
                post_publish(video=video, author=user, caption=caption, visibility="public")
        for follower in users.values():  # the demo creators follow each other
            for followee in users.values():
                if follower != followee:
                    Follow.objects.get_or_create(follower=follower, followee=followee)
