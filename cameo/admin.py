from __future__ import annotations

from django.contrib import admin

from cameo.models import Cameo, Capture


@admin.register(Capture)
class CaptureAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "state", "reject_code", "created_at"]
    list_filter = ["state", "reject_code"]
    exclude = ["challenge"]


@admin.register(Cameo)
class CameoAdmin(admin.ModelAdmin):
    """Biometric data has no admin page: moderators manage doubles, never read faces."""

    list_display = ["id", "owner", "state", "audience", "created_at", "last_used_at"]
    list_filter = ["state", "audience"]
    readonly_fields = ["models_used", "capture"]
