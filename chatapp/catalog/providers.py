"""Which providers serve a model (`GET /models/{author}/{slug}/endpoints`), for routing choices.

Asked when a person opens a conversation's settings, and kept for ten minutes per model: the
list changes rarely and every settings panel would otherwise wait on OpenRouter.
"""

from __future__ import annotations

import logging
from typing import TypedDict

from asgiref.sync import async_to_sync
from django.core.cache import cache

from chatapp.catalog.views import per_million
from chatapp.openrouter import ModelEndpoint, OpenRouterError, alist_endpoints

log = logging.getLogger(__name__)
CACHE_SECONDS = 600


class Provider(TypedDict):
    name: str
    prompt: str | None  # dollars per million tokens
    completion: str | None
    cache_read: str | None
    context: int | None
    uptime: float | None


class ProvidersUnavailable(Exception):
    """OpenRouter could not be asked; the message says so, for the settings panel."""


def model_providers(*, model_id: str, api_key: str | None) -> list[Provider]:
    """Return the providers of `model_id`, in OpenRouter's order, without repeats."""
    key = f"catalog:providers:{model_id}"
    found: list[Provider] | None = cache.get(key)
    if found is None:
        try:
            endpoints = async_to_sync(alist_endpoints)(model_id=model_id, api_key=api_key)
        except OpenRouterError as error:
            log.warning("could not list the providers of %s: %s", model_id, error)
            raise ProvidersUnavailable(
                "OpenRouter did not say which providers serve this model just now. "
                "The other settings still work; try again in a minute."
            ) from None
        found = _unique(endpoints)
        cache.set(key, found, CACHE_SECONDS)
    return found


def _unique(endpoints: list[ModelEndpoint]) -> list[Provider]:
    seen: dict[str, Provider] = {}
    for e in endpoints:
        if e.provider and e.provider not in seen:
            seen[e.provider] = {
                "name": e.provider,
                "prompt": per_million(e.prompt_price),
                "completion": per_million(e.completion_price),
                "cache_read": per_million(e.cache_read_price),
                "context": e.context_length,
                "uptime": e.uptime,
            }
    return list(seen.values())
