from __future__ import annotations

from decimal import Decimal

from django.db import models


def price_field(verbose_name: str) -> models.DecimalField[Decimal | None, Decimal | None]:
    """Dollars per unit; None when OpenRouter did not say (or said -1), never negative."""
    return models.DecimalField(
        verbose_name, max_digits=20, decimal_places=12, null=True, blank=True
    )


class CatalogModel(models.Model):
    """One model of OpenRouter's catalogue (`GET /models`). Prices are dollars per token."""

    model_id = models.CharField(max_length=200, unique=True)
    canonical_slug = models.CharField(max_length=200, blank=True)
    name = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    context_length = models.PositiveIntegerField(null=True, blank=True)
    max_completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    prompt_price = price_field("prompt price per token")
    completion_price = price_field("completion price per token")
    request_price = price_field("price per request")
    image_price = price_field("price per image")
    cache_read_price = price_field("cached prompt price per token")
    web_search_price = price_field("price per web search")
    input_modalities = models.JSONField(default=list, blank=True)
    output_modalities = models.JSONField(default=list, blank=True)
    supported_parameters = models.JSONField(default=list, blank=True)
    is_free = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    upstream_created = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["is_active", "name"], name="catalog_active_name")]

    def __str__(self) -> str:
        return self.model_id

    @property
    def vendor(self) -> str:
        return self.model_id.split("/", 1)[0]


class CatalogSync(models.Model):
    """When the catalogue was last fetched, and how it went."""

    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(default=False)
    models_seen = models.PositiveIntegerField(default=0)
    models_created = models.PositiveIntegerField(default=0)
    models_updated = models.PositiveIntegerField(default=0)
    models_deactivated = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"

    def __str__(self) -> str:
        return f"sync at {self.started_at:%Y-%m-%d %H:%M} ({'ok' if self.ok else 'failed'})"
