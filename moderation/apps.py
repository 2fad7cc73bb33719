from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ModerationConfig(AppConfig):
    """Reports, cases and the review queue. Above every other app: it may import them all,
    none imports it; it takes content down only through feeds.services.post_take_down."""

    name = "moderation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from moderation.checks import checks_register
        from moderation.copies import copies_register
        from moderation.roles import roles_ensure

        checks_register()  # screening, unknown faces, and the cases holds open
        copies_register()  # the hash list refuses publishing or remixing removed content

        # Setup, not domain flow: the groups exist once the permissions they hold do.
        post_migrate.connect(roles_ensure, sender=self, dispatch_uid="moderation-roles")
