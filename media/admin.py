from __future__ import annotations

from django.contrib import admin

from config.admin import ReadOnlyAdmin
from media.models import Upload, Video


@admin.register(Upload)
class UploadAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "owner", "state", "bytes", "created_at"]
    list_filter = ["kind", "state"]


@admin.register(Video)
class VideoAdmin(ReadOnlyAdmin):
    list_display = ["id", "owner", "state", "duration_s", "provenance_backend", "created_at"]
    list_filter = ["state", "provenance_backend"]
    search_fields = ["prompt", "owner__username"]
