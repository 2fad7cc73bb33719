from __future__ import annotations

from django.apps import AppConfig


class CameoConfig(AppConfig):
    name = "cameo"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from cameo.handlers import verify_capture_job
        from jobs.kinds import JobKind, register

        register(JobKind("cameo.verify", verify_capture_job, queue="gpu"))
