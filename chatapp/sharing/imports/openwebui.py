"""Open WebUI's "Export chats": a list of chats, each with its message tree in chat.history.

history.messages maps ids to messages with `parentId` and `childrenIds` (our branches); older
exports only have the flat chat.messages list. Reasoning that Open WebUI keeps inside the text
as <details type="reasoning"> becomes the message's reasoning.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.utils import timezone

from chatapp.sharing.imports.records import (
    FormatError,
    ImportedConversation,
    ImportedMessage,
    epoch,
)

NAME = "Open WebUI"
KEPT_ROLES = {"user", "assistant"}
REASONING = re.compile(r'^\s*<details type="reasoning"[^>]*>(.*?)</details>\s*', re.DOTALL)
SUMMARY = re.compile(r"<summary>.*?</summary>", re.DOTALL)


def matches(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("chat"), dict)


def conversation(item: dict[str, Any], *, index: int) -> ImportedConversation:
    chat = item["chat"]
    started = epoch(item.get("created_at") or chat.get("timestamp"), timezone.now())
    raw = _raw_messages(chat, index)
    messages = [m for key, value in raw.items() if (m := _message(key, value, started)) is not None]
    left_out = len(raw) - len(messages)
    models = chat.get("models") if isinstance(chat.get("models"), list) else []
    return ImportedConversation(
        title=str(item.get("title") or chat.get("title") or "Imported from Open WebUI"),
        model=str(models[0] if models else next((m.model for m in messages if m.model), "")),
        created_at=started,
        messages=messages,
        system_prompt=_system_prompt(chat, raw),
        left_out=[f"{left_out} empty or system message{'s' if left_out != 1 else ''} left out"]
        if left_out
        else [],
    )


def _raw_messages(chat: dict[str, Any], index: int) -> dict[str, dict[str, Any]]:
    history = chat.get("history")
    tree = history.get("messages") if isinstance(history, dict) else None
    if isinstance(tree, dict) and all(isinstance(m, dict) for m in tree.values()):
        return tree
    flat = chat.get("messages")
    if isinstance(flat, list) and all(isinstance(m, dict) for m in flat):
        # The flat list is one branch in order: chain it where it has no parentId of its own.
        keys = [str(m.get("id") or f"m{i}") for i, m in enumerate(flat)]
        return {
            key: {"parentId": keys[i - 1] if i else None, **m}
            for i, (key, m) in enumerate(zip(keys, flat, strict=True))
        }
    raise FormatError(f"chat {index} has no messages (neither “history” nor “messages”)")


def _message(key: str, raw: dict[str, Any], started: datetime) -> ImportedMessage | None:
    role = raw.get("role")
    content = raw.get("content")
    if role not in KEPT_ROLES or not isinstance(content, str) or not content.strip():
        return None
    reasoning, content = _split_reasoning(content)
    parent = raw.get("parentId")
    return ImportedMessage(
        key=key,
        parent=str(parent) if parent else None,
        role=role,
        content=content,
        reasoning=reasoning,
        created_at=epoch(raw.get("timestamp"), started),
        model=str(raw.get("model") or "") if role == "assistant" else "",
    )


def _split_reasoning(content: str) -> tuple[str, str]:
    found = REASONING.match(content)
    if not found:
        return "", content
    thought = SUMMARY.sub("", found.group(1))
    lines = [
        line[2:] if line.startswith("> ") else line.lstrip(">") for line in thought.splitlines()
    ]
    return "\n".join(lines).strip(), content[found.end() :]


def _system_prompt(chat: dict[str, Any], raw: dict[str, dict[str, Any]]) -> str:
    params = chat["params"] if isinstance(chat.get("params"), dict) else {}
    for candidate in (chat.get("system"), params.get("system")):
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()
    systems = [m.get("content") for m in raw.values() if m.get("role") == "system"]
    return next((s.strip() for s in systems if isinstance(s, str) and s.strip()), "")
