from __future__ import annotations

from django.apps import AppConfig


class MediaConfig(AppConfig):
    """Every byte that comes in or goes out: uploads and their intake, storage, signed
    serving, the Video record, provenance and lookup."""

    name = "media"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from jobs.kinds import JobKind, register
        from media.handlers import transcode_upload

        register(JobKind("media.transcode", transcode_upload))
