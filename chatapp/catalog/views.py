"""The model picker's data: the whole active catalogue as compact JSON, and favourites."""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_POST

from chatapp.accounts.auth import AuthenticatedHttpRequest
from chatapp.accounts.preferences import user_set_favorite_model
from chatapp.catalog.models import CatalogModel
from chatapp.catalog.services import catalog_refresh_if_stale

log = logging.getLogger(__name__)
PER_MILLION = Decimal(1_000_000)


def per_million(price: Decimal | None) -> str | None:
    """Return dollars per million tokens as a plain decimal string ("0.15"), or None."""
    if price is None:
        return None
    value = (price * PER_MILLION).quantize(Decimal("0.0001")).normalize()
    return format(value, "f")


def picker_entry(row: CatalogModel) -> dict[str, Any]:
    return {
        "id": row.model_id,
        "name": row.name,
        "vendor": row.vendor,
        "context": row.context_length,
        "prompt": per_million(row.prompt_price),
        "completion": per_million(row.completion_price),
        "free": row.is_free,
        "input": row.input_modalities,
        "params": row.supported_parameters,
        "created": int(row.upstream_created.timestamp()) if row.upstream_created else 0,
    }


def _refresh_if_stale() -> None:
    """Let the catalogue refresh itself when it is old (the client helper's service)."""
    try:
        catalog_refresh_if_stale()
    except Exception:  # an old list is better than no page: log and carry on
        log.warning("catalogue refresh failed", exc_info=True)


@require_GET
@login_required
@cache_control(private=True, max_age=60)
def models_json(request: AuthenticatedHttpRequest) -> JsonResponse:
    _refresh_if_stale()
    rows = CatalogModel.objects.filter(is_active=True).order_by("name")
    return JsonResponse({"models": [picker_entry(row) for row in rows]})


@require_POST
@login_required
def favorite(request: AuthenticatedHttpRequest) -> JsonResponse:
    try:
        body = json.loads(request.body or b"{}")
        model_id = str(body["model"])
        wanted = bool(body.get("favorite", True))
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "Send {model, favorite}."}, status=400)
    if not CatalogModel.objects.filter(model_id=model_id).exists():
        return JsonResponse({"error": "That model is not in the catalogue."}, status=404)
    favorites = user_set_favorite_model(user=request.user, model_id=model_id, favorite=wanted)
    return JsonResponse({"favorites": favorites})
