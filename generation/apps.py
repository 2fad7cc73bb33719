from __future__ import annotations

from django.apps import AppConfig


class GenerationConfig(AppConfig):
    name = "generation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from generation.handlers import render_generation
        from jobs.kinds import JobKind, register

        register(JobKind("generation.render", render_generation, queue="gpu"))
