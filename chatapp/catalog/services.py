"""Keeping the model catalogue in step with OpenRouter's `GET /models`.

`catalog_sync()` fetches and upserts every model (the `sync_models` command calls it).
`catalog_refresh_if_stale()` is cheap to call from any request: when the catalogue is older
than CHATAPP_CATALOG_MAX_AGE it starts a refresh in a background thread and returns at once;
if OpenRouter is unreachable, the stored catalogue stays as it is.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from chatapp.catalog.models import CatalogModel, CatalogSync
from chatapp.openrouter import OpenRouterError, aclose_clients, alist_models

log = logging.getLogger(__name__)

# After a failed refresh, wait this long before trying again (not on every page view).
RETRY_AFTER_FAILURE = timedelta(minutes=5)
# A refresh that started this long ago and never finished is presumed dead.
REFRESH_RUNNING_FOR_AT_MOST = timedelta(minutes=5)

PRICE_PLACES = Decimal("1e-12")
SYNCED_FIELDS = (
    "canonical_slug",
    "name",
    "description",
    "context_length",
    "max_completion_tokens",
    "prompt_price",
    "completion_price",
    "request_price",
    "image_price",
    "cache_read_price",
    "web_search_price",
    "input_modalities",
    "output_modalities",
    "supported_parameters",
    "is_free",
    "is_active",
    "upstream_created",
)


@dataclass(frozen=True)
class Counts:
    seen: int
    created: int
    updated: int
    deactivated: int


# --- reading OpenRouter's model objects ---------------------------------------------------------


def price_from(value: Any) -> Decimal | None:
    """Exact dollars from a price string; None when missing, unparseable or negative ("-1")."""
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        found = Decimal(str(value))
        # The column keeps 12 decimal places; rounding here keeps a re-sync from seeing a change.
        rounded = found.quantize(PRICE_PLACES)
    except ArithmeticError:
        return None
    if not found.is_finite() or found < 0:
        return None
    return found if found == rounded else rounded


def _int_or_none(value: Any) -> int | None:
    try:
        found = int(value)
    except (TypeError, ValueError):
        return None
    return found if found >= 0 else None


def _modalities(model: dict[str, Any]) -> tuple[list[str], list[str]]:
    arch = model.get("architecture") or {}
    inputs, outputs = arch.get("input_modalities"), arch.get("output_modalities")
    if inputs is None or outputs is None:  # older payloads only have "text+image->text"
        left, _, right = str(arch.get("modality") or "text->text").partition("->")
        inputs = inputs or left.split("+")
        outputs = outputs or right.split("+")
    return [str(m) for m in inputs], [str(m) for m in outputs]


def catalog_fields(model: dict[str, Any]) -> dict[str, Any]:
    """Map one `GET /models` object to CatalogModel fields."""
    pricing = model.get("pricing") or {}
    prompt, completion = price_from(pricing.get("prompt")), price_from(pricing.get("completion"))
    inputs, outputs = _modalities(model)
    created = _int_or_none(model.get("created"))
    model_id = str(model["id"])
    return {
        "canonical_slug": str(model.get("canonical_slug") or "")[:200],
        "name": str(model.get("name") or model_id)[:300],
        "description": str(model.get("description") or ""),
        "context_length": _int_or_none(model.get("context_length")),
        "max_completion_tokens": _int_or_none(
            (model.get("top_provider") or {}).get("max_completion_tokens")
        ),
        "prompt_price": prompt,
        "completion_price": completion,
        "request_price": price_from(pricing.get("request")),
        "image_price": price_from(pricing.get("image")),
        "cache_read_price": price_from(pricing.get("input_cache_read")),
        "web_search_price": price_from(pricing.get("web_search")),
        "input_modalities": inputs,
        "output_modalities": outputs,
        "supported_parameters": [str(p) for p in model.get("supported_parameters") or []],
        "is_free": model_id.endswith(":free") or (prompt == 0 and completion == 0),
        "is_active": True,
        "upstream_created": datetime.fromtimestamp(created, UTC) if created else None,
    }


# --- the upsert ----------------------------------------------------------------------------------


def catalog_upsert(*, models: list[dict[str, Any]]) -> Counts:
    """Store every model; touch only rows that changed; mark models that disappeared inactive."""
    incoming = {str(m["id"]): catalog_fields(m) for m in models if m.get("id")}
    now = timezone.now()
    with transaction.atomic():
        existing = {row.model_id: row for row in CatalogModel.objects.select_for_update()}
        new = [
            CatalogModel(model_id=model_id, synced_at=now, **fields)
            for model_id, fields in incoming.items()
            if model_id not in existing
        ]
        changed = [
            row
            for model_id, fields in incoming.items()
            if (row := existing.get(model_id)) is not None and _apply(row, fields, now)
        ]
        CatalogModel.objects.bulk_create(new, batch_size=500)
        CatalogModel.objects.bulk_update(changed, [*SYNCED_FIELDS, "synced_at"], batch_size=500)
        gone = CatalogModel.objects.filter(is_active=True).exclude(model_id__in=incoming)
        deactivated = gone.update(is_active=False, synced_at=now)
    return Counts(len(incoming), len(new), len(changed), deactivated)


def _apply(row: CatalogModel, fields: dict[str, Any], now: datetime) -> bool:
    """Copy fields onto row; return whether anything changed."""
    changed = False
    for name, value in fields.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    if changed:
        row.synced_at = now
    return changed


# --- fetching and recording ----------------------------------------------------------------------


def catalog_sync(*, models: list[dict[str, Any]] | None = None) -> CatalogSync:
    """Fetch `GET /models` (unless given) and upsert it; return the recorded CatalogSync.

    Never raises for OpenRouter failures: they are recorded (ok=False, error) and the stored
    catalogue is left exactly as it was.
    """
    sync = CatalogSync.objects.create()
    try:
        if models is None:
            models = async_to_sync(_afetch_once)()
        counts = catalog_upsert(models=models)
    except OpenRouterError as exc:
        return _finish(sync, error=exc.message)
    return _finish(sync, counts=counts)


async def _afetch_once() -> list[dict[str, Any]]:
    """Fetch from a short-lived event loop (a thread, a command): close its client after."""
    try:
        return await alist_models()
    finally:
        await aclose_clients()


def _finish(sync: CatalogSync, *, counts: Counts | None = None, error: str = "") -> CatalogSync:
    sync.finished_at = timezone.now()
    sync.ok = counts is not None
    sync.error = error
    if counts is not None:
        sync.models_seen = counts.seen
        sync.models_created = counts.created
        sync.models_updated = counts.updated
        sync.models_deactivated = counts.deactivated
    sync.save()
    if error:
        log.warning("catalogue sync failed: %s", error)
    return sync


# --- refreshing on its own ----------------------------------------------------------------------


def catalog_is_stale(*, now: datetime | None = None) -> bool:
    """Whether the last good sync is older than CHATAPP_CATALOG_MAX_AGE and no attempt is
    running or failed only moments ago."""
    now = now or timezone.now()
    max_age = timedelta(seconds=settings.CHATAPP_CATALOG_MAX_AGE)
    last_ok = CatalogSync.objects.filter(ok=True).order_by("-started_at").first()
    if last_ok is not None and last_ok.started_at > now - max_age:
        return False
    last = CatalogSync.objects.order_by("-started_at").first()
    if last is None or last.ok:
        return True
    if last.finished_at is None:  # running elsewhere, unless it died
        return last.started_at < now - REFRESH_RUNNING_FOR_AT_MOST
    return last.finished_at < now - RETRY_AFTER_FAILURE


async def acatalog_is_stale(*, now: datetime | None = None) -> bool:
    return await sync_to_async(catalog_is_stale)(now=now)


_lock = threading.Lock()
_running: threading.Thread | None = None


def catalog_refresh_if_stale() -> threading.Thread | None:
    """Start a background refresh when the catalogue is stale; return at once.

    Returns the thread it started (tests join it), or None when nothing needed doing or
    CHATAPP_CATALOG_AUTO_REFRESH is off.
    """
    if not settings.CHATAPP_CATALOG_AUTO_REFRESH or not catalog_is_stale():
        return None
    return _start_refresh()


async def acatalog_refresh_if_stale() -> threading.Thread | None:
    if not settings.CHATAPP_CATALOG_AUTO_REFRESH or not await acatalog_is_stale():
        return None
    return _start_refresh()


def _start_refresh() -> threading.Thread | None:
    global _running
    with _lock:
        if _running is not None and _running.is_alive():
            return None
        _running = threading.Thread(target=_refresh, name="catalog-refresh", daemon=True)
        _running.start()
        return _running


def _refresh() -> None:
    close_old_connections()
    try:
        catalog_sync()
    except Exception:  # a background thread has no one to raise to: log it
        log.exception("catalogue refresh crashed")
    finally:
        connection.close()  # this thread's own connection; it ends here
