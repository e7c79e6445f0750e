"""The pooled httpx client (one per process and event loop), its timeouts and common headers."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from django.conf import settings

# Defaults when settings do not say; every one can be overridden in settings (and tests).
DEFAULTS: dict[str, float] = {
    "OPENROUTER_CONNECT_TIMEOUT": 10.0,
    # Longest silence between two reads of a stream; OpenRouter sends keep-alive comments.
    "OPENROUTER_IDLE_TIMEOUT": 90.0,
    # Cap on one whole generation, from request to last event.
    "OPENROUTER_GENERATION_TIMEOUT": 600.0,
    # Plain (non-streaming) API calls: /models, /key, /generation, /auth/keys.
    "OPENROUTER_REQUEST_TIMEOUT": 30.0,
    "OPENROUTER_RETRY_ATTEMPTS": 3,
    "OPENROUTER_RETRY_BASE_DELAY": 0.5,
    "OPENROUTER_RETRY_MAX_DELAY": 8.0,
}

_clients: dict[asyncio.AbstractEventLoop, httpx.AsyncClient] = {}


def setting(name: str) -> float:
    return float(getattr(settings, name, DEFAULTS[name]))


def base_url() -> str:
    return str(settings.OPENROUTER_BASE_URL).rstrip("/")


def client() -> httpx.AsyncClient:
    """Return this event loop's pooled client; a client bound to a closed loop is never reused."""
    loop = asyncio.get_running_loop()
    found = _clients.get(loop)
    if found is not None and not found.is_closed:
        return found
    for old_loop in [old for old in _clients if old.is_closed()]:
        del _clients[old_loop]  # its sockets died with the loop
    _clients[loop] = new = httpx.AsyncClient(
        timeout=httpx.Timeout(
            connect=setting("OPENROUTER_CONNECT_TIMEOUT"),
            read=setting("OPENROUTER_REQUEST_TIMEOUT"),
            write=setting("OPENROUTER_REQUEST_TIMEOUT"),
            pool=setting("OPENROUTER_CONNECT_TIMEOUT"),
        ),
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=20),
        follow_redirects=False,
    )
    return new


async def aclose_clients() -> None:
    """Close the pooled client of the running loop (on shutdown, or between tests)."""
    found = _clients.pop(asyncio.get_running_loop(), None)
    if found is not None:
        await found.aclose()


def stream_timeout() -> httpx.Timeout:
    idle = setting("OPENROUTER_IDLE_TIMEOUT")
    connect = setting("OPENROUTER_CONNECT_TIMEOUT")
    return httpx.Timeout(connect=connect, read=idle, write=connect, pool=connect)


def headers(api_key: str | None = None) -> dict[str, str]:
    """App attribution on every call (HTTP-Referer, X-Title), plus the key when there is one."""
    found = {"HTTP-Referer": settings.CHATAPP_SITE_URL, "X-Title": settings.CHATAPP_SITE_NAME}
    if api_key:
        found["Authorization"] = f"Bearer {api_key}"
    return found


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Parse Retry-After as seconds (a number, or an HTTP date)."""
    value: str | None = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def json_body(response: httpx.Response) -> Any:
    """Decode a JSON body with exact decimals; None when it is not JSON."""
    try:
        return json.loads(response.content, parse_float=Decimal)
    except ValueError:
        return None
