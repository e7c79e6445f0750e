from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat

from chatapp.attachments.models import Attachment


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin[Attachment]):
    """What was attached, by whom and how large: metadata only. The files are their owner's
    (served to nobody else); deleting a row here deletes its files."""

    list_display = ("name", "kind", "owner", "conversation", "size_shown", "pages", "created_at")
    list_filter = ("kind",)
    list_select_related = ("owner", "conversation")
    search_fields = ("name", "owner__username", "sha256")
    date_hierarchy = "created_at"
    fields = (
        *("name", "kind", "content_type", "size", "sha256", "width", "height", "pages"),
        *("duration", "owner", "conversation", "created_at"),
    )
    readonly_fields = fields

    @admin.display(description="size", ordering="size")
    def size_shown(self, row: Attachment) -> str:
        return filesizeformat(row.size)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
