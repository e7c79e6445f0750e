from __future__ import annotations

from django.contrib import admin

from chatapp.chat.models import Conversation, Message


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin[Conversation]):
    list_display = ("__str__", "owner", "model", "updated_at")
    list_select_related = ("owner",)
    search_fields = ("title", "owner__username")
    raw_id_fields = ("owner",)


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin[Message]):
    list_display = (
        "id",
        "conversation",
        "user",
        "role",
        "status",
        "model_used",
        "cost",
        "paid_by",
        "created_at",
    )
    list_filter = ("role", "status", "paid_by")
    list_select_related = ("conversation", "user")
    search_fields = ("generation_id", "user__username", "model_used")
    raw_id_fields = ("conversation", "user", "parent")
    date_hierarchy = "created_at"
