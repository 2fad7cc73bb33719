from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import AuthToken, User

admin.site.register(User, UserAdmin)


@admin.register(AuthToken)
class AuthTokenAdmin(admin.ModelAdmin):
    list_display = ["user", "device", "created_at", "last_used_at"]
    readonly_fields = ["digest"]
