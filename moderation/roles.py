"""The two moderator roles, as Django groups with the moderation permissions."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission

MODERATOR = "moderator"
SENIOR_MODERATOR = "senior moderator"
MODERATOR_PERMISSIONS = ["view_case", "change_case", "view_report"]
SENIOR_PERMISSIONS = [*MODERATOR_PERMISSIONS, "work_senior_queue"]


def roles_ensure(**_: Any) -> None:
    """Create the groups and give them their permissions; run after every migrate."""
    for name, codenames in (
        (MODERATOR, MODERATOR_PERMISSIONS),
        (SENIOR_MODERATOR, SENIOR_PERMISSIONS),
    ):
        group, _created = Group.objects.get_or_create(name=name)
        permissions = Permission.objects.filter(
            content_type__app_label="moderation", codename__in=codenames
        )
        group.permissions.set(permissions)
