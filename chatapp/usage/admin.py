from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from chatapp.usage.models import BudgetSettings, UsageDaily


@admin.register(BudgetSettings)
class BudgetSettingsAdmin(admin.ModelAdmin[BudgetSettings]):
    fields = ("default_operator_monthly_budget", "updated_at")
    readonly_fields = ("updated_at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not BudgetSettings.objects.exists()

    def has_delete_permission(
        self, request: HttpRequest, obj: BudgetSettings | None = None
    ) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # One row only: the list would be a list of one, so open the form directly.
        row, _ = BudgetSettings.objects.get_or_create(pk=1)
        return HttpResponseRedirect(reverse("admin:usage_budgetsettings_change", args=[row.pk]))


@admin.register(UsageDaily)
class UsageDailyAdmin(admin.ModelAdmin[UsageDaily]):
    """Read-only: the rollup is derived from the message rows (manage.py usage_rollup)."""

    list_display = ("day", "user", "model", "paid_by", "cost", "replies", "tokens")
    list_filter = ("paid_by",)
    list_select_related = ("user",)
    search_fields = ("user__username", "model")
    date_hierarchy = "day"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: UsageDaily | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: UsageDaily | None = None) -> bool:
        return False
