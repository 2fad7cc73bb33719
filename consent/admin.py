from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from consent.models import Appearance, ConsentAcceptance, ConsentDocument, ConsentEvent, Grant


@admin.register(ConsentDocument)
class ConsentDocumentAdmin(admin.ModelAdmin):
    list_display = ["kind", "version", "title", "published_at"]


@admin.register(ConsentAcceptance)
class ConsentAcceptanceAdmin(admin.ModelAdmin):
    list_display = ["user", "document", "accepted_at", "withdrawn_at"]
    list_filter = ["document__kind"]
    readonly_fields = ["user", "document", "accepted_at", "client", "withdrawn_at"]


@admin.register(Grant)
class GrantAdmin(admin.ModelAdmin):
    list_display = ["cameo", "grantee", "state", "requested_at", "decided_at"]
    list_filter = ["state"]


@admin.register(Appearance)
class AppearanceAdmin(admin.ModelAdmin):
    list_display = ["cameo", "used_by", "job", "video", "created_at", "taken_down_at"]


@admin.register(ConsentEvent)
class ConsentEventAdmin(admin.ModelAdmin):
    """Read-only: the audit log is append-only, for moderators too."""

    list_display = ["created_at", "kind", "subject", "actor", "cameo"]
    list_filter = ["kind"]
    search_fields = ["subject__username", "actor__username"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
