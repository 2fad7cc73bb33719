from __future__ import annotations

from django.contrib import admin

from moderation.models import Case, Report


class ReportInline(admin.TabularInline):
    model = Report
    extra = 0
    readonly_fields = ["reporter", "reason", "text", "created_at"]


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ["id", "target_kind", "target_id", "queue", "severity", "report_count", "state"]
    list_filter = ["state", "queue", "target_kind"]
    ordering = ["-severity"]
    inlines = [ReportInline]
