from __future__ import annotations

from django.contrib import admin

from remix.models import Remix


@admin.register(Remix)
class RemixAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "operation", "source_post", "cameo", "video", "created_at"]
    list_filter = ["operation"]
    raw_id_fields = [
        "owner",
        "source_post",
        "source_video",
        "cameo",
        "background_upload",
        "job",
        "video",
    ]
    readonly_fields = ["lineage"]
