from __future__ import annotations

from django.contrib import admin

from generation.models import Job, Upload


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "owner", "state", "progress", "stage", "attempts", "created_at"]
    list_filter = ["state", "kind"]
    search_fields = ["id", "owner__username"]


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "owner", "state", "bytes", "created_at"]
    list_filter = ["kind", "state"]
