"""What a streamed chat reply is made of, as typed events (one name for each thing)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TypedDict


class ChatMessage(TypedDict):
    role: str
    content: str


@dataclass(frozen=True, slots=True)
class ContentDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    text: str


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    cached_tokens: int
    cost: Decimal | None


@dataclass(frozen=True, slots=True)
class Finish:
    reason: str
    generation_id: str
    provider: str
    model: str


@dataclass(frozen=True, slots=True)
class StreamError:
    """The stream failed after it started; `message` is a sentence for a person."""

    code: str
    message: str


StreamEvent = ContentDelta | ReasoningDelta | Usage | Finish | StreamError


@dataclass(frozen=True, slots=True)
class Generation:
    """`GET /generation`: what a finished (or cancelled) generation cost."""

    id: str
    total_cost: Decimal | None
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    cached_tokens: int
    provider: str
    model: str
    finish_reason: str


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """`GET /key`: the limit and spend of an API key, in dollars."""

    label: str
    limit: Decimal | None
    usage: Decimal
    limit_remaining: Decimal | None
    is_free_tier: bool
