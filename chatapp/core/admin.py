"""Admin pieces shared by the apps' admin modules."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    """Rows an operator may look at but never write: derived tables and one-shot tokens.

    Rollups are recomputed from the message rows (manage.py usage_rollup); a hand edit would
    make the dashboard disagree with what was spent.
    """

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class PrefixFilter(admin.SimpleListFilter):
    """Filter by the part of a CharField before its first '/' (a model id's vendor)."""

    title = "vendor"
    parameter_name = "vendor"
    field = "model"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        values = model_admin.get_queryset(request).values_list(self.field, flat=True).distinct()
        vendors = sorted({str(v).split("/", 1)[0] for v in values if v and "/" in str(v)})
        return [(v, v) for v in vendors]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        return queryset.filter(**{f"{self.field}__startswith": f"{value}/"})
