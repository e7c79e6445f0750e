from __future__ import annotations

from django.contrib import admin

from chatapp.sharing.models import ImportJob, Share, SharedMessage


class SharedMessageInline(admin.TabularInline[SharedMessage, Share]):
    model = SharedMessage
    fields = ("position", "role", "model", "created_at", "content")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Share)
class ShareAdmin(admin.ModelAdmin[Share]):
    """Shares are listed and can be deleted (which stops them); their copy is read-only."""

    list_display = ("__str__", "owner", "conversation", "created_at", "snapshot_at")
    list_select_related = ("owner", "conversation")
    search_fields = ("title", "owner__username")
    raw_id_fields = ("owner", "conversation")
    readonly_fields = ("title", "owner_name", "leaf_message_id", "created_at", "snapshot_at")
    exclude = ("token_digest", "token_sealed")
    inlines = [SharedMessageInline]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin[ImportJob]):
    list_display = (
        "id",
        "owner",
        "filename",
        "format",
        "status",
        "conversations_imported",
        "messages_imported",
        "created_at",
    )
    list_filter = ("status", "format")
    list_select_related = ("owner",)
    search_fields = ("filename", "owner__username")
    readonly_fields = [f.name for f in ImportJob._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False
