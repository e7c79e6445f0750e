"""The shape every importer produces, and the one place that saves it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import transaction

from chatapp.accounts.models import User
from chatapp.catalog.models import CatalogModel
from chatapp.chat.models import Conversation, Message
from chatapp.chat.views import default_model

TITLE_MAX = 200
MODEL_MAX = 200
STATUSES = {choice.value for choice in Message.Status} - {Message.Status.STREAMING}


class FormatError(ValueError):
    """What is wrong with the input, as a sentence a person can act on."""


@dataclass
class ImportedMessage:
    key: str
    parent: str | None
    role: str
    content: str
    created_at: datetime
    reasoning: str = ""
    model: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # other stored fields, already checked


@dataclass
class ImportedConversation:
    title: str
    model: str
    created_at: datetime
    messages: list[ImportedMessage]
    system_prompt: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)  # routing, web search; checked
    left_out: list[str] = field(default_factory=list)


def epoch(value: Any, default: datetime) -> datetime:
    """Return a Unix time in seconds (or milliseconds, as some exports use) as a datetime."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return default
    seconds = value / 1000 if value > 10**11 else value
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return default


def in_tree_order(messages: list[ImportedMessage]) -> list[list[ImportedMessage]]:
    """Return the messages level by level from the roots; orphans become roots, cycles drop."""
    keys = {m.key for m in messages}
    children: dict[str | None, list[ImportedMessage]] = defaultdict(list)
    for m in messages:
        children[m.parent if m.parent in keys and m.parent != m.key else None].append(m)
    levels: list[list[ImportedMessage]] = []
    level, seen = children[None], set[str]()
    while level:
        level = [m for m in level if m.key not in seen]
        seen.update(m.key for m in level)
        if level:
            levels.append(sorted(level, key=lambda m: m.created_at))
        level = [child for m in level for child in children[m.key]]
    return levels


@transaction.atomic
def imported_conversation_save(*, user: User, imported: ImportedConversation) -> int:
    """Save one conversation and its message tree, with the original times; return the count.

    Imported messages carry no cost and no payer, so spend, budgets and the rollups never
    count them (they only ever sum rows with a cost).
    """
    conversation = Conversation.objects.create(
        owner=user,
        title=" ".join(imported.title.split())[:TITLE_MAX],
        model=_model_to_continue_with(user, imported.model),
        system_prompt=imported.system_prompt,
        parameters=imported.parameters,
        **imported.settings,
    )
    saved: dict[str, Message] = {}
    for level in in_tree_order(imported.messages):
        rows = [_row(conversation, user, m, saved) for m in level]
        Message.objects.bulk_create(rows)
        for m, row in zip(level, rows, strict=True):
            row.created_at = row.updated_at = m.created_at  # bulk_create stamped them "now"
            saved[m.key] = row
    Message.objects.bulk_update(saved.values(), ["created_at", "updated_at"], batch_size=500)
    last = max((r.created_at for r in saved.values()), default=imported.created_at)
    Conversation.objects.filter(pk=conversation.pk).update(
        created_at=imported.created_at, updated_at=max(last, imported.created_at)
    )
    return len(saved)


def _model_to_continue_with(user: User, model: str) -> str:
    """Return the model new replies in the imported chat use: its own, if OpenRouter has it."""
    if CatalogModel.objects.filter(model_id=model, is_active=True).exists():
        return model
    return default_model(user)


def _row(
    conversation: Conversation, user: User, m: ImportedMessage, saved: dict[str, Message]
) -> Message:
    return Message(
        conversation=conversation,
        user=user,
        parent=saved.get(m.parent) if m.parent else None,
        role=m.role,
        content=m.content,
        reasoning=m.reasoning,
        model=m.model[:MODEL_MAX],
        model_used=m.model[:MODEL_MAX] if m.role == Message.Role.ASSISTANT else "",
        imported=True,
        **m.extra,
    )
