from __future__ import annotations

from django.contrib import admin

from config.admin import ReadOnlyAdmin, ReadOnlyInline
from feeds.models import Comment, Post, Takedown


class TakedownInline(ReadOnlyInline):
    model = Takedown
    fields = (
        "created_at",
        "actor",
        "reason",
        "restored_at",
        "restored_by",
        "restore_reason",
    )
    readonly_fields = fields


@admin.register(Post)
class PostAdmin(ReadOnlyAdmin):
    """Posts to look up; a takedown is a moderator's decision in the console, audited."""

    list_display = ["id", "author", "state", "visibility", "age_restricted", "view_count"]
    list_filter = ["state", "visibility", "age_restricted"]
    search_fields = ["caption", "author__username"]
    inlines = [TakedownInline]


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    list_display = ["id", "post", "author", "created_at"]
    search_fields = ["body", "author__username"]


@admin.register(Takedown)
class TakedownAdmin(ReadOnlyAdmin):
    list_display = ["id", "post", "actor", "reason", "created_at", "restored_at"]
    list_filter = ["reason"]
