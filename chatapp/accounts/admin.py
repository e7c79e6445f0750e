from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from chatapp.accounts.models import OpenRouterKey, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = (
        "username",
        "email",
        "is_staff",
        "operator_key_access",
        "operator_monthly_budget",
    )
    list_filter = (*DjangoUserAdmin.list_filter, "operator_key_access")
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        (
            "OpenRouter",
            {
                "fields": (
                    "operator_key_access",
                    "operator_monthly_budget",
                    "own_key_monthly_cap",
                    "last_model",
                )
            },
        ),
    )


@admin.register(OpenRouterKey)
class OpenRouterKeyAdmin(admin.ModelAdmin[OpenRouterKey]):
    # The ciphertext is never shown or editable: the masked hint is all anyone needs to see.
    list_display = ("user", "masked", "source", "is_valid", "limit_remaining", "checked_at")
    list_filter = ("source", "is_valid")
    search_fields = ("user__username", "hint")
    fields = (
        "user",
        "masked",
        "source",
        "is_valid",
        "limit",
        "usage",
        "limit_remaining",
        "checked_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: object) -> bool:
        return False
