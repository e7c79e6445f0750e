"""Websocket frames, one TypedDict each; see docs/websocket-protocol.md."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict

from django.db.models import Sum

from chatapp.attachments.services import MAX_FILES_PER_MESSAGE, AttachmentData, attachment_data

if TYPE_CHECKING:
    from chatapp.chat.models import Conversation, Message


class Citation(TypedDict):
    url: str
    title: str


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
    cache_savings: str | None
    citations: list[Citation]
    context_omitted: int
    paid_by: str
    time_to_first_token_ms: int | None
    duration_ms: int | None
    error_code: str
    error_text: str
    created_at: str
    client_id: str | None
    attachments: list[AttachmentData]  # a user message's files; [] for every other message


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
    # Replies the tab shows as still streaming: the snapshot brings their state even if they
    # ended while the tab was away (it missed their `done`).
    streaming: NotRequired[list[int]]


class Send(TypedDict):
    type: Literal["send"]
    conversation: int | None
    client_id: str
    content: str
    model: str
    parent: NotRequired[int | None]
    # Attachments stored by POST /attachments/ (content may then be empty).
    attachments: NotRequired[list[int]]


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
    "bad_request",
    "too_large",
    "rate_limited",
    "not_found",
    "busy",
    "no_key",
    "over_budget",
    "too_long_for_model",
    "attachment",
    "model_cannot_read",
]


class ErrorFrame(TypedDict):
    type: Literal["error"]
    code: ErrorCode
    message: str
    conversation: NotRequired[int | None]
    client_id: NotRequired[str | None]


class Restarting(TypedDict):
    type: Literal["restarting"]
    message: str


# --- between server processes (never sent to a browser) ----------------------------------------


class StopRequest(TypedDict):
    """To the worker of a conversation: stop the reply."""

    type: Literal["stop"]


class SnapshotRequest(TypedDict):
    """To the worker of a conversation: send your text so far to the socket at `reply_to`."""

    type: Literal["snapshot_request"]
    reply_to: str
    token: str


class SnapshotPart(TypedDict):
    """The worker's answer to a SnapshotRequest."""

    type: Literal["snapshot_part"]
    token: str
    conversation: int
    message: MessageData


class SessionEnded(TypedDict):
    """To a user's sockets: close those of `session` (a session_tag), or all when None."""

    type: Literal["session_ended"]
    session: str | None


# --- builders: every frame is made here --------------------------------------------------------


def snapshot_frame(conversation: int, messages: list[MessageData]) -> Snapshot:
    return {"type": "snapshot", "conversation": conversation, "messages": messages}


def message_created_frame(message: Message, client_id: str | None) -> MessageCreated:
    return {
        "type": "message_created",
        "conversation": message.conversation_id,
        "message": message_data(message),
        "client_id": client_id,
    }


TextKind = Literal["delta", "reasoning_delta"]


def delta_frame(
    *,
    kind: TextKind,
    conversation: int,
    message: int,
    offset: int,
    text: str,
) -> Delta:
    return {
        "type": kind,
        "conversation": conversation,
        "message": message,
        "offset": offset,
        "text": text,
    }


def usage_frame(reply: Message) -> UsageFrame:
    return {
        "type": "usage",
        "conversation": reply.conversation_id,
        "message": reply.pk,
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "reasoning_tokens": reply.reasoning_tokens,
        "cached_tokens": reply.cached_tokens,
        "cost": _money(reply.cost),
    }


def done_frame(reply: Message) -> Done:
    return {"type": "done", "conversation": reply.conversation_id, "message": message_data(reply)}


def conversation_updated_frame(data: ConversationData) -> ConversationUpdated:
    return {"type": "conversation_updated", "conversation": data}


def error_frame(
    code: ErrorCode, message: str, *, conversation: int | None, client_id: str | None
) -> ErrorFrame:
    return {
        "type": "error",
        "code": code,
        "message": message,
        "conversation": conversation,
        "client_id": client_id,
    }


def restarting_frame() -> Restarting:
    return {"type": "restarting", "message": "The server is restarting. Reconnecting…"}


def stop_request() -> StopRequest:
    return {"type": "stop"}


def snapshot_request(*, reply_to: str, token: str) -> SnapshotRequest:
    return {"type": "snapshot_request", "reply_to": reply_to, "token": token}


def snapshot_part(*, token: str, conversation: int, message: MessageData) -> SnapshotPart:
    return {
        "type": "snapshot_part",
        "token": token,
        "conversation": conversation,
        "message": message,
    }


def session_ended(session: str | None) -> SessionEnded:
    return {"type": "session_ended", "session": session}


# --- serialisers -------------------------------------------------------------------------------


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def message_data(msg: Message) -> MessageData:
    """Return the wire form of a message (money as a decimal string, never a float)."""
    return {
        "id": msg.pk,
        "conversation": msg.conversation_id,
        "parent": msg.parent_id,
        "role": msg.role,
        "content": msg.content,
        "reasoning": msg.reasoning,
        "status": msg.status,
        "model": msg.model,
        "model_used": msg.model_used,
        "provider": msg.provider,
        "finish_reason": msg.finish_reason,
        "prompt_tokens": msg.prompt_tokens,
        "completion_tokens": msg.completion_tokens,
        "reasoning_tokens": msg.reasoning_tokens,
        "cached_tokens": msg.cached_tokens,
        "cost": _money(msg.cost),
        "cache_savings": _money(msg.cache_savings),
        "citations": list(msg.citations),
        "context_omitted": msg.context_omitted,
        "paid_by": msg.paid_by,
        "time_to_first_token_ms": msg.time_to_first_token_ms,
        "duration_ms": msg.duration_ms,
        "error_code": msg.error_code,
        "error_text": msg.error_text,
        "created_at": msg.created_at.isoformat(),
        "client_id": str(msg.client_id) if msg.client_id else None,
        "attachments": _attachments(msg),
    }


def _attachments(msg: Message) -> list[AttachmentData]:
    """A user message's files (prefetch `attachments` where messages are listed); only user
    messages carry any, so a reply's frames never query for them."""
    if msg.role != "user":
        return []
    cached = type(msg).conversation.is_cached(msg)
    engine = msg.conversation.pdf_engine if cached else ""
    return [attachment_data(a, pdf_engine=engine) for a in msg.attachments.all()]


def conversation_data(conv: Conversation, *, cost: Decimal | None = None) -> ConversationData:
    """Return the wire form of a conversation.

    `cost` is the sum of its messages' costs; pass it (or annotate the queryset with
    `total_cost`) to save a query, otherwise it is summed here.
    """
    if cost is None and hasattr(conv, "total_cost"):  # annotated: None means nothing spent
        cost = conv.total_cost or Decimal(0)
    if cost is None:
        cost = conv.messages.aggregate(total=Sum("cost"))["total"]
    return _conversation_data(conv, cost)


async def aconversation_data(
    conv: Conversation, *, cost: Decimal | None = None
) -> ConversationData:
    if cost is None and hasattr(conv, "total_cost"):  # annotated: None means nothing spent
        cost = conv.total_cost or Decimal(0)
    if cost is None:
        cost = (await conv.messages.aaggregate(total=Sum("cost")))["total"]
    return _conversation_data(conv, cost)


def _conversation_data(conv: Conversation, cost: Decimal | None) -> ConversationData:
    return {
        "id": conv.pk,
        "title": conv.title,
        "model": conv.model,
        "updated_at": conv.updated_at.isoformat(),
        "cost": _money(cost or Decimal(0)) or "0",
    }


# --- validation of client frames ---------------------------------------------------------------

MAX_CONTENT_CHARS = 32_000
MAX_MODEL_CHARS = 200
# Ids are 64-bit in the database; a larger number would overflow the query, not miss.
MAX_ID = 2**63 - 1


class BadFrame(ValueError):
    """A client frame that is not valid; the text says what is wrong, for the error frame.

    `conversation` and `client_id` are the frame's own when those two are valid, so the page can
    put the error next to the message that was refused.
    """

    conversation: int | None = None
    client_id: str | None = None


ClientFrame = Subscribe | Send | Stop | Regenerate | Edit

# Field name → (required, validator); every frame type lists the fields it takes.
_FIELDS: dict[str, dict[str, tuple[bool, str]]] = {
    "subscribe": {"conversation": (True, "id"), "streaming": (False, "ids")},
    "unsubscribe": {"conversation": (True, "id")},
    "stop": {"conversation": (True, "id")},
    "send": {
        "conversation": (True, "id_or_null"),
        "client_id": (True, "uuid"),
        "content": (True, "content_or_empty"),
        "model": (True, "model"),
        "parent": (False, "id_or_null"),
        "attachments": (False, "attachment_ids"),
    },
    "regenerate": {
        "conversation": (True, "id"),
        "message": (True, "id"),
        "client_id": (True, "uuid"),
        "model": (False, "model"),
    },
    "edit": {
        "conversation": (True, "id"),
        "message": (True, "id"),
        "content": (True, "content"),
        "client_id": (True, "uuid"),
        "model": (False, "model"),
    },
}


MAX_IDS = 100


def _check(name: str, kind: str, value: object) -> None:
    if kind == "id_or_null" and value is None:
        return
    if kind in ("ids", "attachment_ids"):
        most, what = (MAX_IDS, "message") if kind == "ids" else (MAX_FILES_PER_MESSAGE, "file")
        if not isinstance(value, list) or len(value) > most:
            raise BadFrame(f"“{name}” must be a list of at most {most} {what} ids.")
        for item in value:
            _check(name, "id", item)
        return
    if kind in ("id", "id_or_null"):
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_ID:
            raise BadFrame(f"“{name}” must be a positive whole number.")
    elif kind == "uuid":
        if not isinstance(value, str):
            raise BadFrame(f"“{name}” must be a UUID string.")
        try:
            uuid.UUID(value)
        except ValueError:
            raise BadFrame(f"“{name}” must be a UUID.") from None
    elif kind in ("content", "content_or_empty"):
        if not isinstance(value, str) or (kind == "content" and not value.strip()):
            raise BadFrame("the message is empty.")
        if len(value) > MAX_CONTENT_CHARS:
            raise BadFrame(f"the message is longer than {MAX_CONTENT_CHARS} characters.")
        if problem := _unstorable(value):
            raise BadFrame(f"the message contains {problem}. Remove it and send again.")
    elif kind == "model" and (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > MAX_MODEL_CHARS
        or _unstorable(value)
    ):
        raise BadFrame(f"“{name}” must be a model id such as openai/gpt-4o-mini.")


def _unstorable(text: str) -> str | None:
    """Say what in `text` no database can store or no socket can send, or return None."""
    # PostgreSQL refuses NUL in text; refused on SQLite too, so both deployments agree.
    if "\x00" in text:
        return "a NUL character (\\u0000)"
    # JSON can spell half of a UTF-16 pair (\\ud83d) that no UTF-8 text can hold.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "half of a UTF-16 surrogate pair, which is not a character"
    return None


def decode_client_frame(raw: str) -> ClientFrame:
    """Return the text of a websocket frame as a typed client frame, or raise BadFrame."""
    try:
        data = json.loads(raw)
    except RecursionError:  # the decoder recurses per level: this is how deep nesting ends
        raise BadFrame(
            "it nests deeper than any frame does (a frame is one flat object)."
        ) from None
    except ValueError as exc:  # not JSON, or an integer of more digits than Python parses
        raise BadFrame(f"it is not valid JSON ({exc}).") from None
    return parse_client_frame(data)


def parse_client_frame(data: object) -> ClientFrame:
    """Return `data` as a typed client frame, or raise BadFrame saying what is wrong."""
    if not isinstance(data, dict):
        raise BadFrame("a frame must be a JSON object.")
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in _FIELDS:
        raise BadFrame(f"unknown type {kind!r}; expected one of {', '.join(_FIELDS)}.")
    frame: dict[str, object] = {"type": kind}
    try:
        for name, (required, check) in _FIELDS[kind].items():
            if name not in data:
                if required:
                    raise BadFrame(f"“{name}” is missing.")
                continue
            _check(name, check, data[name])
            frame[name] = data[name]
        if kind == "send" and not str(frame["content"]).strip() and not frame.get("attachments"):
            raise BadFrame("the message is empty.")
    except BadFrame as exc:
        exc.conversation, exc.client_id = (
            _valid_or_none(data, "conversation", "id"),
            _valid_or_none(data, "client_id", "uuid"),
        )
        raise
    return frame  # type: ignore[return-value]  # validated field by field above


def _valid_or_none(data: dict[str, object], name: str, kind: str) -> Any:
    try:
        _check(name, kind, data.get(name))
    except BadFrame:
        return None
    return data[name]
