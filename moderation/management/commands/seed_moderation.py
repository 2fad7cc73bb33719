"""A demo moderator and one open case, so the console at /console/ has something to show."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from accounts.models import User
from feeds.models import Post
from generation.management.commands.seed_demo import DEMO_PASSWORD
from moderation.roles import SENIOR_MODERATOR
from moderation.services import report_file


class Command(BaseCommand):
    help = "Seed a demo senior moderator and one reported demo post (once)."

    def handle(self, *args: Any, **options: Any) -> None:
        moderator = User.objects.filter(username="moderator").first()
        if moderator is None:
            moderator = User.objects.create_user(
                "moderator", "moderator@doubletake.local", DEMO_PASSWORD, is_staff=True
            )
        moderator.groups.add(Group.objects.get(name=SENIOR_MODERATOR))
        reporter = User.objects.filter(username="demo").first()
        post = Post.objects.exclude(author=reporter).order_by("id").first()
        if reporter is not None and post is not None:
            report_file(
                reporter=reporter,
                target_kind="post",
                target_id=str(post.pk),
                reason="spam",
                text="A demo report, for the console.",
            )
        self.stdout.write(
            f"Moderation console: http://127.0.0.1:8000/console/ (moderator / {DEMO_PASSWORD})"
        )
