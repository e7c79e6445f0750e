"""ChatGPT's data export: conversations.json, each conversation a tree in `mapping`.

Every node has `parent` and `children`; a message edited or regenerated in ChatGPT is a sibling,
which is exactly our branches (Message.parent). System messages become the conversation's
system prompt; tool calls and their output, and hidden bookkeeping nodes, are left out (their
children move up to the nearest message kept), and images are named, not imported.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from django.utils import timezone

from chatapp.sharing.imports.records import (
    FormatError,
    ImportedConversation,
    ImportedMessage,
    epoch,
)

NAME = "ChatGPT"
KEPT_ROLES = {"user", "assistant"}


def matches(item: Any) -> bool:
    return isinstance(item, dict) and "mapping" in item


def conversation(item: dict[str, Any], *, index: int) -> ImportedConversation:
    mapping = item.get("mapping")
    if not isinstance(mapping, dict) or not all(isinstance(n, dict) for n in mapping.values()):
        raise FormatError(f"conversation {index} has no message tree (“mapping”)")
    started = epoch(item.get("create_time"), timezone.now())
    left_out: Counter[str] = Counter()
    system, kept = "", {}
    for key, node in mapping.items():
        message = node.get("message")
        role = _role(message)
        text = _text(message, left_out) if isinstance(message, dict) else ""
        if role == "system" and text and not system:
            system = text
        elif role in KEPT_ROLES and text:
            kept[key] = (message, text)
        elif role in ("tool", "system") or (role in KEPT_ROLES and not text):
            left_out[_skip_reason(role, message)] += 1
    messages = [
        _message(key, message, text, _kept_parent(mapping, key, kept), started)
        for key, (message, text) in kept.items()
    ]
    return ImportedConversation(
        title=str(item.get("title") or "Imported from ChatGPT"),
        # ChatGPT's slugs are OpenAI's model names; OpenRouter lists those under "openai/".
        model="openai/" + str(item.get("default_model_slug") or _last_model(messages)),
        created_at=started,
        messages=messages,
        system_prompt=system,
        left_out=[_sentence(reason, n) for reason, n in left_out.items() if reason],
    )


def _role(message: Any) -> str:
    if not isinstance(message, dict) or not isinstance(message.get("author"), dict):
        return ""
    return str(message["author"].get("role") or "")


def _text(message: dict[str, Any], left_out: Counter[str]) -> str:
    content = message.get("content")
    if not isinstance(content, dict):
        return ""
    kind = content.get("content_type")
    if kind == "code":  # the model's call to its code tool, shown as the code it ran
        code = str(content.get("text") or "").strip()
        language = content.get("language")
        language = language if language and language != "unknown" else "python"
        return f"```{language}\n{code}\n```" if code else ""
    if kind not in ("text", "multimodal_text"):
        return ""
    pieces = []
    for part in content.get("parts") or []:
        if isinstance(part, str):
            pieces.append(part)
        elif isinstance(part, dict):
            left_out["image"] += 1
            pieces.append("*[An image was attached here in ChatGPT; images are not imported.]*")
    return "\n\n".join(p for p in pieces if p.strip()).strip()


def _skip_reason(role: str, message: Any) -> str:
    if role == "tool":
        return "tool"
    hidden = isinstance(message, dict) and (message.get("metadata") or {}).get(
        "is_visually_hidden_from_conversation"
    )
    return "" if hidden or role == "system" else "empty"


def _sentence(reason: str, n: int) -> str:
    plural = "" if n == 1 else "s"
    return {
        "tool": f"{n} tool message{plural} (browsing, code output) left out",
        "image": f"{n} image{plural} named but not imported",
        "empty": f"{n} empty message{plural} left out",
    }[reason]


def _kept_parent(mapping: dict[str, Any], key: str, kept: dict[str, Any]) -> str | None:
    """Return the nearest ancestor that is kept (a node skipped hands its children up)."""
    parent = mapping[key].get("parent")
    for _ in range(len(mapping)):  # a malformed cycle ends here instead of looping
        if parent is None:
            return None
        if parent in kept:
            return str(parent)
        node = mapping.get(parent)
        parent = node.get("parent") if isinstance(node, dict) else None
    return None


def _message(
    key: str, message: dict[str, Any], text: str, parent: str | None, started: datetime
) -> ImportedMessage:
    metadata = message["metadata"] if isinstance(message.get("metadata"), dict) else {}
    return ImportedMessage(
        key=key,
        parent=parent,
        role=_role(message),
        content=text,
        created_at=epoch(message.get("create_time"), started),
        model=str(metadata.get("model_slug") or "") if _role(message) == "assistant" else "",
    )


def _last_model(messages: list[ImportedMessage]) -> str:
    return next((m.model for m in reversed(messages) if m.model), "")
