from __future__ import annotations

from django.contrib import admin

from jobs.models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "owner", "state", "progress", "stage", "attempts", "created_at"]
    list_filter = ["state", "kind"]
    search_fields = ["id", "owner__username"]
