"""Settings an admin edits as one row (pk=1): the model base and its admin."""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib import admin
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse


class SingletonModel(models.Model):
    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = 1  # a singleton: every save writes the one row
        super().save(*args, **kwargs)


S = TypeVar("S", bound=SingletonModel)


class SingletonAdmin(admin.ModelAdmin[S]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return not self.model._default_manager.exists()

    def has_delete_permission(self, request: HttpRequest, obj: S | None = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # One row only: the list would be a list of one, so open the form directly.
        row, _ = self.model._default_manager.get_or_create(pk=1)
        meta = self.model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[row.pk])
        return HttpResponseRedirect(url)
