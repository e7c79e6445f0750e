"""Websocket frames, one TypedDict each; see docs/websocket-protocol.md."""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict


class MessageData(TypedDict):
    id: int
    conversation: int
    parent: int | None
    role: str
    content: str
    reasoning: str
    status: str
    model: str
    model_used: str
    provider: str
    finish_reason: str
    prompt_tokens: int | None
    completion_tokens: int | None
    reasoning_tokens: int | None
    cached_tokens: int | None
    cost: str | None
    paid_by: str
    time_to_first_token_ms: int | None
    duration_ms: int | None
    error_code: str
    error_text: str
    created_at: str
    client_id: str | None


class ConversationData(TypedDict):
    id: int
    title: str
    model: str
    updated_at: str
    cost: str


# --- client → server ---------------------------------------------------------------------------


class Subscribe(TypedDict):
    type: Literal["subscribe", "unsubscribe"]
    conversation: int


class Send(TypedDict):
    type: Literal["send"]
    conversation: int | None
    client_id: str
    content: str
    model: str
    parent: NotRequired[int | None]


class Stop(TypedDict):
    type: Literal["stop"]
    conversation: int


class Regenerate(TypedDict):
    type: Literal["regenerate"]
    conversation: int
    message: int
    client_id: str
    model: NotRequired[str]


class Edit(TypedDict):
    type: Literal["edit"]
    conversation: int
    message: int
    content: str
    client_id: str
    model: NotRequired[str]


# --- server → client ---------------------------------------------------------------------------


class Snapshot(TypedDict):
    type: Literal["snapshot"]
    conversation: int
    messages: list[MessageData]


class MessageCreated(TypedDict):
    type: Literal["message_created"]
    conversation: int
    message: MessageData
    client_id: str | None


class Delta(TypedDict):
    type: Literal["delta", "reasoning_delta"]
    conversation: int
    message: int
    offset: int
    text: str


class UsageFrame(TypedDict):
    type: Literal["usage"]
    conversation: int
    message: int
    prompt_tokens: int | None
    completion_tokens: int | None
    reasoning_tokens: int | None
    cached_tokens: int | None
    cost: str | None


class Done(TypedDict):
    type: Literal["done"]
    conversation: int
    message: MessageData


class ConversationUpdated(TypedDict):
    type: Literal["conversation_updated"]
    conversation: ConversationData


ErrorCode = Literal[
    "bad_request", "too_large", "rate_limited", "not_found", "busy", "no_key", "over_budget"
]


class ErrorFrame(TypedDict):
    type: Literal["error"]
    code: ErrorCode
    message: str
    conversation: NotRequired[int | None]
    client_id: NotRequired[str | None]
