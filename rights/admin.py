from __future__ import annotations

from django.contrib import admin

from rights.models import License, Mark, RightsHolder


class MarkInline(admin.TabularInline):
    model = Mark
    extra = 0
    fields = ["kind", "name", "aliases", "policy", "logo"]
    readonly_fields = ["logo"]


@admin.register(RightsHolder)
class RightsHolderAdmin(admin.ModelAdmin):
    list_display = ["display_name", "owner", "contact", "created_at"]
    search_fields = ["display_name", "owner__username"]
    inlines = [MarkInline]


@admin.register(License)
class LicenseAdmin(admin.ModelAdmin):
    list_display = ["mark", "licensee", "granted_by", "created_at", "revoked_at"]
