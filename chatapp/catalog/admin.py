from __future__ import annotations

from django.contrib import admin

from chatapp.catalog.models import CatalogModel, CatalogSync


@admin.register(CatalogModel)
class CatalogModelAdmin(admin.ModelAdmin[CatalogModel]):
    list_display = (
        "model_id",
        "name",
        "context_length",
        "prompt_price",
        "completion_price",
        "is_free",
        "is_active",
    )
    list_filter = ("is_active", "is_free")
    search_fields = ("model_id", "name")


@admin.register(CatalogSync)
class CatalogSyncAdmin(admin.ModelAdmin[CatalogSync]):
    list_display = (
        "started_at",
        "finished_at",
        "ok",
        "models_seen",
        "models_created",
        "models_updated",
        "models_deactivated",
    )
    readonly_fields = (*list_display, "error")
