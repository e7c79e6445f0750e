from __future__ import annotations

from typing import Any

from django.contrib import admin

from chatapp.core.admin import PrefixFilter, ReadOnlyAdmin
from chatapp.core.singleton import SingletonAdmin
from chatapp.usage.models import (
    BudgetSettings,
    ConversationModelUsage,
    ConversationUsage,
    DeletedSpend,
    SiteUsageDaily,
    UsageDaily,
    UserUsageDaily,
)
from chatapp.usage.money import usd_text


@admin.register(BudgetSettings)
class BudgetSettingsAdmin(SingletonAdmin[BudgetSettings]):
    fields = ("default_operator_monthly_budget", "updated_at")
    readonly_fields = ("updated_at",)


class ModelVendorFilter(PrefixFilter):
    field = "model"


class RollupAdmin(ReadOnlyAdmin):
    """Read-only: rollups are recomputed from the message rows (manage.py usage_rollup)."""

    @admin.display(description="cost (USD)", ordering="cost_units")
    def cost(self, row: Any) -> str:
        return usd_text(row.cost)  # both cost columns (usage/money.py)


@admin.register(UsageDaily)
class UsageDailyAdmin(RollupAdmin):
    list_display = ("day", "user", "model", "paid_by", "cost", "replies", "tokens", "last_at")
    list_filter = ("paid_by", ModelVendorFilter, "day")
    list_select_related = ("user",)
    search_fields = ("user__username", "model")
    date_hierarchy = "day"


@admin.register(UserUsageDaily)
class UserUsageDailyAdmin(RollupAdmin):
    list_display = ("day", "user", "cost", "replies", "tokens", "last_at")
    list_filter = ("day",)
    list_select_related = ("user",)
    search_fields = ("user__username", "user__email")
    date_hierarchy = "day"


@admin.register(SiteUsageDaily)
class SiteUsageDailyAdmin(RollupAdmin):
    list_display = ("day", "model", "paid_by", "cost", "replies", "tokens")
    list_filter = ("paid_by", ModelVendorFilter, "day")
    search_fields = ("model",)
    date_hierarchy = "day"


@admin.register(ConversationUsage)
class ConversationUsageAdmin(RollupAdmin):
    list_display = ("conversation", "user", "cost", "replies", "tokens", "first_day", "last_day")
    list_filter = ("first_day", "last_day")
    list_select_related = ("conversation", "user")
    search_fields = ("conversation__title", "user__username")
    ordering = ("-cost_units",)


@admin.register(ConversationModelUsage)
class ConversationModelUsageAdmin(RollupAdmin):
    list_display = (
        "conversation",
        "model",
        "user",
        "cost",
        "replies",
        "tokens",
        "first_day",
        "last_day",
    )
    list_filter = (ModelVendorFilter, "first_day", "last_day")
    list_select_related = ("conversation", "user")
    search_fields = ("conversation__title", "user__username", "model")
    ordering = ("-cost_units",)


@admin.register(DeletedSpend)
class DeletedSpendAdmin(RollupAdmin):
    """Spend of deleted conversations: budgets still count it."""

    list_display = ("day", "user_id", "model", "paid_by", "cost", "replies", "tokens", "deleted_at")
    list_filter = ("paid_by", ModelVendorFilter, "day", "deleted_at")
    search_fields = ("model", "=user_id")
    date_hierarchy = "day"
