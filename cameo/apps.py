from __future__ import annotations

from django.apps import AppConfig


class CameoConfig(AppConfig):
    name = "cameo"
    default_auto_field = "django.db.models.BigAutoField"
