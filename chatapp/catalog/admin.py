from __future__ import annotations

from django.contrib import admin

from chatapp.catalog.models import CatalogModel, CatalogSync
from chatapp.core.admin import PrefixFilter, ReadOnlyAdmin


class VendorFilter(PrefixFilter):
    field = "model_id"


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
        "synced_at",
    )
    list_filter = ("is_active", "is_free", VendorFilter, "upstream_created")
    search_fields = ("model_id", "name", "canonical_slug", "description")


@admin.register(CatalogSync)
class CatalogSyncAdmin(ReadOnlyAdmin):
    """Every fetch of GET /models, as it went: written by the sync, never by hand."""

    list_display = (
        "started_at",
        "finished_at",
        "ok",
        "models_seen",
        "models_created",
        "models_updated",
        "models_deactivated",
    )
    list_filter = ("ok", "started_at")
    search_fields = ("error",)
    date_hierarchy = "started_at"
