"""What every admin page of ours shares: records are read here, changed in the app.

Posts, videos, cases and decisions change only through their services (which audit who did
what and why): the moderators' console at /console/ for staff, the API for users. So the
admin shows them, and offers no add, change or delete that would skip the audit."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


class _ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(_ReadOnly, admin.ModelAdmin):
    pass


class ReadOnlyInline(_ReadOnly, admin.TabularInline):
    extra = 0
