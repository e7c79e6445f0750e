from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet, Sum
from django.http import HttpRequest

from chatapp.chat.models import Conversation, Message, RoutingDefaults
from chatapp.core.admin import PrefixFilter, ReadOnlyAdmin
from chatapp.core.singleton import SingletonAdmin


class ConversationVendorFilter(PrefixFilter):
    field = "model"


class MessageVendorFilter(PrefixFilter):
    field = "model_used"


class MessageInline(admin.TabularInline[Message, Conversation]):
    model = Message
    fields = ("created_at", "role", "status", "model_used", "provider", "cost", "paid_by")
    readonly_fields = fields
    ordering = ("created_at", "pk")
    extra = 0
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(RoutingDefaults)
class RoutingDefaultsAdmin(SingletonAdmin[RoutingDefaults]):
    """What new conversations start with; each conversation can change it in its settings."""

    fields = (
        "provider_sort",
        "allow_fallbacks",
        "deny_data_collection",
        "context_strategy",
        "updated_at",
    )
    readonly_fields = ("updated_at",)


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin[Conversation]):
    list_display = ("__str__", "owner", "model", "cost", "created_at", "updated_at")
    list_select_related = ("owner",)
    list_filter = (ConversationVendorFilter, "created_at", "updated_at")
    search_fields = ("title", "owner__username", "owner__email", "model")
    raw_id_fields = ("owner",)
    date_hierarchy = "updated_at"
    inlines = (MessageInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Conversation]:
        return super().get_queryset(request).annotate(total_cost=Sum("messages__cost"))

    @admin.display(description="cost (USD)", ordering="total_cost")
    def cost(self, conversation: Any) -> Decimal:
        return conversation.total_cost or Decimal(0)


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    """Read-only: each row is what was said and what it cost (the rollups are built from it)."""

    list_display = (
        "id",
        "conversation",
        "user",
        "role",
        "status",
        "model_used",
        "provider",
        "cost",
        "paid_by",
        "error_code",
        "created_at",
    )
    list_filter = ("role", "status", "paid_by", MessageVendorFilter, "finish_reason", "error_code")
    list_select_related = ("conversation", "user")
    search_fields = (
        "generation_id",
        "user__username",
        "model_used",
        "provider",
        "conversation__title",
    )
    raw_id_fields = ("conversation", "user", "parent")
    date_hierarchy = "created_at"
