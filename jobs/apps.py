from __future__ import annotations

from django.apps import AppConfig


class JobsConfig(AppConfig):
    """The one Job model and its lifecycle. It runs any kind an app registers (jobs.kinds)
    and imports no domain app."""

    name = "jobs"
    default_auto_field = "django.db.models.BigAutoField"
