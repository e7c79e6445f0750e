"""The OpenRouter client: the only place that talks HTTP to OpenRouter (and imports httpx)."""

from __future__ import annotations

from chatapp.openrouter.api import (
    aexchange_code,
    aget_generation,
    aget_key,
    alist_endpoints,
    alist_models,
)
from chatapp.openrouter.errors import (
    BadRequest,
    ConnectionFailed,
    InsufficientCredits,
    InvalidKey,
    Moderated,
    OpenRouterError,
    ProviderError,
    RateLimited,
    RequestTimeout,
    Unavailable,
)
from chatapp.openrouter.events import (
    ChatMessage,
    Citation,
    Citations,
    ContentDelta,
    Finish,
    GenerationInfo,
    KeyInfo,
    ModelEndpoint,
    ReasoningDelta,
    StreamError,
    StreamEvent,
    Usage,
)
from chatapp.openrouter.http import aclose_clients
from chatapp.openrouter.options import (
    PROVIDER_SORTS,
    WEB_PLUGIN_PRICE_PER_RESULT,
    ChatOptions,
    ProviderPreferences,
    ProviderSort,
)
from chatapp.openrouter.stream import astream_chat

__all__ = [
    "PROVIDER_SORTS",
    "WEB_PLUGIN_PRICE_PER_RESULT",
    "BadRequest",
    "ChatMessage",
    "ChatOptions",
    "Citation",
    "Citations",
    "ConnectionFailed",
    "ContentDelta",
    "Finish",
    "GenerationInfo",
    "InsufficientCredits",
    "InvalidKey",
    "KeyInfo",
    "ModelEndpoint",
    "Moderated",
    "OpenRouterError",
    "ProviderError",
    "ProviderPreferences",
    "ProviderSort",
    "RateLimited",
    "ReasoningDelta",
    "RequestTimeout",
    "StreamError",
    "StreamEvent",
    "Unavailable",
    "Usage",
    "aclose_clients",
    "aexchange_code",
    "aget_generation",
    "aget_key",
    "alist_endpoints",
    "alist_models",
    "astream_chat",
]
