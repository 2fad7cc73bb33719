from __future__ import annotations

from django.apps import AppConfig


class RightsConfig(AppConfig):
    """The rights-holder registry, and its checks on generation requests and outputs."""

    name = "rights"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from config.screens import Point, register
        from rights.checks import LOGOS, MARKS, logos_in_output, marks_in_request

        register(Point.REQUEST, MARKS, marks_in_request)
        register(Point.OUTPUT, LOGOS, logos_in_output)
