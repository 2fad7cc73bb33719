from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from config.admin import ReadOnlyAdmin, ReadOnlyInline
from moderation.models import Case, Decision, Report, ReporterStanding

# Nothing of ours is deleted in bulk from the admin: every removal is a decision, audited.
admin.site.disable_action("delete_selected")


class ReportInline(ReadOnlyInline):
    model = Report
    fields = (
        "reporter",
        "check_name",
        "reason",
        "text",
        "weight",
        "created_at",
    )
    readonly_fields = fields


class DecisionInline(ReadOnlyInline):
    model = Decision
    fields = (
        "created_at",
        "moderator",
        "action",
        "ground",
        "facts",
        "automated",
    )
    readonly_fields = fields


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "target_kind",
        "target_id",
        "queue",
        "severity",
        "report_count",
        "state",
        "console",
    ]
    list_filter = ["state", "queue", "target_kind"]
    ordering = ["-severity"]
    inlines = [ReportInline, DecisionInline]

    @admin.display(description="Work it")
    def console(self, case: Case) -> Any:
        return format_html(
            '<a href="{}">in the console</a>', reverse("console-case", args=[case.pk])
        )


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ["id", "case", "moderator", "action", "ground", "automated", "created_at"]
    list_filter = ["action", "ground", "automated"]


@admin.register(ReporterStanding)
class ReporterStandingAdmin(ReadOnlyAdmin):
    list_display = ["user", "bad_faith", "marked_by", "marked_at"]
