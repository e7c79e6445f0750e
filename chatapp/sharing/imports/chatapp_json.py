"""Our own export (docs/export-format.md): the messages and branches as they were stored.

Costs are not brought back (an imported reply was not paid for here), nor the OpenRouter
generation id; everything else a message stored comes back as it was.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from chatapp.chat.models import ContextStrategy, Message, ProviderSort
from chatapp.sharing.export import COUNT_FIELDS, FORMAT, FORMAT_VERSION
from chatapp.sharing.imports.records import (
    STATUSES,
    FormatError,
    ImportedConversation,
    ImportedMessage,
)

NAME = "chatapp"
TEXT_FIELDS = ("provider", "finish_reason", "error_code", "error_text")
ROLES = {Message.Role.USER.value, Message.Role.ASSISTANT.value}


def check_header(meta: dict[str, Any]) -> None:
    """Refuse a document that is not ours, or from a newer version than this server reads."""
    if meta.get("format") != FORMAT:
        raise FormatError(
            "This JSON file is not a ChatGPT, Open WebUI or chatapp export (it has no "
            "list of conversations, and its “format” is not “chatapp-export”)."
        )
    version = meta.get("version")
    if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise FormatError(
            f"This chatapp export is version {version!r}; this server reads versions 1 to "
            f"{FORMAT_VERSION}. Update this server, or export again from the same version."
        )


def matches(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("messages"), list)


def conversation(item: dict[str, Any], *, index: int) -> ImportedConversation:
    started = _time(item.get("created_at"), timezone.now())
    messages = [_message(m, started) for m in item["messages"] if isinstance(m, dict)]
    kept = [m for m in messages if m is not None]
    left_out = len(item["messages"]) - len(kept)
    return ImportedConversation(
        title=str(item.get("title") or ""),
        model=str(item.get("model") or ""),
        created_at=started,
        messages=kept,
        system_prompt=str(item.get("system_prompt") or ""),
        parameters=item["parameters"] if isinstance(item.get("parameters"), dict) else {},
        settings=_routing(item),
        left_out=[
            f"{left_out} message{'s' if left_out != 1 else ''} without a known role or id left out"
        ]
        if left_out
        else [],
    )


def _routing(item: dict[str, Any]) -> dict[str, Any]:
    """Return the conversation's provider routing and web search settings that are valid here."""
    found: dict[str, Any] = {}
    if item.get("provider_sort") in ProviderSort.values:
        found["provider_sort"] = item["provider_sort"]
    if item.get("context_strategy") in ContextStrategy.values:
        found["context_strategy"] = item["context_strategy"]
    order = item.get("provider_order")
    if isinstance(order, list) and all(isinstance(p, str) for p in order):
        found["provider_order"] = order
    for name in ("allow_fallbacks", "deny_data_collection", "web_search"):
        if isinstance(item.get(name), bool):
            found[name] = item[name]
    return found


def _citations(value: Any) -> list[dict[str, str]]:
    """Return the web sources that are http(s) links, as {url, title}."""
    if not isinstance(value, list):
        return []
    return [
        {"url": c["url"], "title": str(c.get("title") or "")}
        for c in value
        if isinstance(c, dict)
        and isinstance(c.get("url"), str)
        and c["url"].startswith(("https://", "http://"))
    ]


def _time(value: Any, default: datetime) -> datetime:
    parsed = parse_datetime(value) if isinstance(value, str) else None
    return parsed if parsed is not None and parsed.tzinfo is not None else default


def _message(raw: dict[str, Any], started: datetime) -> ImportedMessage | None:
    if raw.get("role") not in ROLES or raw.get("id") is None:
        return None
    extra: dict[str, Any] = {
        "status": _status(raw.get("status")),
        **{name: _text(raw.get(name), name) for name in TEXT_FIELDS},
        **{name: _count(raw.get(name)) for name in COUNT_FIELDS},
        "citations": _citations(raw.get("citations")),
        "context_omitted": _count(raw.get("context_omitted")) or 0,
    }
    return ImportedMessage(
        key=str(raw["id"]),
        parent=None if raw.get("parent") is None else str(raw["parent"]),
        role=str(raw["role"]),
        content=str(raw.get("content") or ""),
        reasoning=str(raw.get("reasoning") or ""),
        created_at=_time(raw.get("created_at"), started),
        model=str(raw.get("model_used") or raw.get("model") or ""),
        extra=extra,
    )


def _status(value: Any) -> str:
    if value in STATUSES:
        return str(value)
    # A reply exported while it streamed stopped there; it will never finish here.
    return Message.Status.INTERRUPTED if value == "streaming" else Message.Status.COMPLETE


def _text(value: Any, name: str) -> str:
    limit = getattr(Message._meta.get_field(name), "max_length", None)
    text = str(value or "")
    return text[:limit] if limit else text


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
