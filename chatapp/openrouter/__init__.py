"""The OpenRouter client: the only place that talks HTTP to OpenRouter (and imports httpx)."""

from __future__ import annotations

from chatapp.openrouter.api import aexchange_code, aget_generation, aget_key, alist_models
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
    ContentDelta,
    Finish,
    Generation,
    KeyInfo,
    ReasoningDelta,
    StreamError,
    StreamEvent,
    Usage,
)
from chatapp.openrouter.http import aclose_clients
from chatapp.openrouter.stream import astream_chat

__all__ = [
    "BadRequest",
    "ChatMessage",
    "ConnectionFailed",
    "ContentDelta",
    "Finish",
    "Generation",
    "InsufficientCredits",
    "InvalidKey",
    "KeyInfo",
    "Moderated",
    "OpenRouterError",
    "ProviderError",
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
    "alist_models",
    "astream_chat",
]
