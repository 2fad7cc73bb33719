from __future__ import annotations

from django.apps import AppConfig


class RemixConfig(AppConfig):
    name = "remix"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from jobs.kinds import JobKind, register
        from remix.handlers import render_remix

        register(JobKind("remix.render", render_remix, queue="gpu"))
