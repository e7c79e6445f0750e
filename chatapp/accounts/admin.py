from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils import timezone

from chatapp.accounts.models import OpenRouterKey, PkceFlow, User
from chatapp.core.admin import ReadOnlyAdmin


@admin.register(User)
class UserAdmin(DjangoUserAdmin[User]):
    list_display = (
        "username",
        "email",
        "is_staff",
        "operator_key_access",
        "operator_monthly_budget",
        "own_key_monthly_cap",
        "last_login",
        "date_joined",
    )
    list_filter = (*DjangoUserAdmin.list_filter, "operator_key_access", "date_joined", "last_login")
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
    list_filter = ("source", "is_valid", "is_free_tier", "checked_at")
    list_select_related = ("user",)
    search_fields = ("user__username", "user__email", "hint")
    fields = (
        "user",
        "masked",
        "source",
        "is_valid",
        "limit",
        "usage",
        "limit_remaining",
        "is_free_tier",
        "checked_at",
        "created_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(PkceFlow)
class PkceFlowAdmin(ReadOnlyAdmin):
    """Started "Connect OpenRouter" flows, waiting for their callback: one-shot, never edited.

    The state's digest is left out: it is of no use to an operator.
    """

    list_display = ("user", "created_at", "expires_at", "expired")
    list_filter = ("created_at", "expires_at")
    list_select_related = ("user",)
    search_fields = ("user__username", "user__email")
    fields = ("user", "created_at", "expires_at")
    date_hierarchy = "created_at"

    @admin.display(boolean=True)
    def expired(self, flow: PkceFlow) -> bool:
        return flow.expires_at <= timezone.now()
