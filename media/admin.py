from __future__ import annotations

from django.contrib import admin

from media.models import Upload


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "owner", "state", "bytes", "created_at"]
    list_filter = ["kind", "state"]
