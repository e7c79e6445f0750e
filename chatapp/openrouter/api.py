"""The plain (non-streaming) OpenRouter calls: generation stats, key info, PKCE, models."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from chatapp.openrouter import http
from chatapp.openrouter.errors import ConnectionFailed, error_for_status
from chatapp.openrouter.events import GenerationInfo, KeyInfo, ModelEndpoint


async def _arequest(
    method: str, path: str, *, api_key: str | None = None, **kwargs: Any
) -> httpx.Response:
    try:
        return await http.client().request(
            method, f"{http.base_url()}{path}", headers=http.headers(api_key), **kwargs
        )
    except httpx.HTTPError as exc:
        raise ConnectionFailed(type(exc).__name__) from exc


def _data(response: httpx.Response) -> Any:
    body = http.json_body(response)
    if response.status_code != 200 or not isinstance(body, dict):
        raise error_for_status(
            response.status_code, body, retry_after=http.retry_after_seconds(response)
        )
    return body.get("data", body)


async def aget_generation(*, api_key: str, generation_id: str) -> GenerationInfo | None:
    """Return what a generation cost, or None while OpenRouter does not have it yet (404)."""
    response = await _arequest("GET", "/generation", api_key=api_key, params={"id": generation_id})
    if response.status_code == 404:
        return None
    data = _data(response)
    return GenerationInfo(
        id=str(data.get("id") or generation_id),
        total_cost=_money(data.get("total_cost")),
        prompt_tokens=_int(data.get("tokens_prompt")),
        completion_tokens=_int(data.get("tokens_completion")),
        reasoning_tokens=_int(data.get("native_tokens_reasoning")),
        cached_tokens=_int(data.get("native_tokens_cached")),
        provider=str(data.get("provider_name") or ""),
        model=str(data.get("model") or ""),
        finish_reason=str(data.get("finish_reason") or ""),
    )


async def aget_key(*, api_key: str) -> KeyInfo:
    """Return the key's label, limit and spend; raises InvalidKey when OpenRouter refuses it."""
    data = _data(await _arequest("GET", "/key", api_key=api_key))
    return KeyInfo(
        label=str(data.get("label") or ""),
        limit=_money(data.get("limit")),
        usage=_money(data.get("usage")) or Decimal(0),
        limit_remaining=_money(data.get("limit_remaining")),
        is_free_tier=bool(data.get("is_free_tier")),
    )


async def aexchange_code(*, code: str, code_verifier: str) -> str:
    """Exchange a PKCE code (S256) for the user's API key."""
    response = await _arequest(
        "POST",
        "/auth/keys",
        json={"code": code, "code_verifier": code_verifier, "code_challenge_method": "S256"},
    )
    body = http.json_body(response)
    if response.status_code != 200 or not isinstance(body, dict) or not body.get("key"):
        raise error_for_status(response.status_code, body)
    return str(body["key"])


async def alist_models() -> list[dict[str, Any]]:
    """Return the catalogue as OpenRouter sends it (`GET /models` "data"); numbers as Decimal."""
    data = _data(await _arequest("GET", "/models"))
    return [model for model in data if isinstance(model, dict)] if isinstance(data, list) else []


async def alist_endpoints(*, model_id: str, api_key: str | None = None) -> list[ModelEndpoint]:
    """Return the providers that serve `model_id` (`GET /models/{author}/{slug}/endpoints`).

    A variant suffix (`:free`, `:nitro`) is not part of the path; an unknown model is [].
    """
    author, _, slug = model_id.partition(":")[0].partition("/")
    if not author or not slug:
        return []
    path = f"/models/{quote(author, safe='')}/{quote(slug, safe='')}/endpoints"
    response = await _arequest("GET", path, api_key=api_key)
    if response.status_code == 404:
        return []
    data = _data(response)
    endpoints = data.get("endpoints") if isinstance(data, dict) else None
    return [_endpoint(e) for e in endpoints or [] if isinstance(e, dict)]


def _endpoint(raw: dict[str, Any]) -> ModelEndpoint:
    pricing = raw.get("pricing") or {}
    uptime = raw.get("uptime_last_30m")
    status = raw.get("status")
    return ModelEndpoint(
        provider=str(raw.get("provider_name") or raw.get("name") or ""),
        name=str(raw.get("name") or ""),
        context_length=_int(raw.get("context_length")) or None,
        max_completion_tokens=_int(raw.get("max_completion_tokens")) or None,
        prompt_price=_money(pricing.get("prompt")),
        completion_price=_money(pricing.get("completion")),
        cache_read_price=_money(pricing.get("input_cache_read")),
        web_search_price=_money(pricing.get("web_search")),
        uptime=float(uptime) if isinstance(uptime, int | float | Decimal) else None,
        status=_int(status) if status is not None else None,
    )


def _money(value: Any) -> Decimal | None:
    """Dollars as an exact Decimal; None when missing, unparseable or negative (unknown)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        found = Decimal(str(value))
    except ArithmeticError:
        return None
    return found if found.is_finite() and found >= 0 else None


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
