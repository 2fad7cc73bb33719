"""Hash every stored video that has no perceptual hashes yet, so the copy search and the
hash list see videos kept before hashing was (or kept where the hashing was skipped).
Safe to run again: hashed videos are skipped."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from media.hashes import video_hashes_backfill


class Command(BaseCommand):
    help = __doc__.splitlines()[0] if __doc__ else ""

    def handle(self, *args: Any, **options: Any) -> None:
        hashed = video_hashes_backfill()
        self.stdout.write(f"hashed {hashed} videos")
