"""Reads for the chat page: the sidebar, search, one conversation's transcript and its cost.

Every function takes the user and filters by owner: a conversation that is not theirs does
not exist, as far as these are concerned.
"""

from __future__ import annotations

from typing import TypedDict

from django.db.models import Exists, OuterRef, Q, QuerySet, Sum

from chatapp.accounts.models import User
from chatapp.chat.models import Conversation, Message
from chatapp.chat.protocol import MessageData, message_data

SIDEBAR_LIMIT = 200
SEARCH_LIMIT = 30
SNIPPET_RADIUS = 60


class SearchHit(TypedDict):
    id: int
    title: str
    snippet: str
    updated_at: str


def conversations_for(*, user: User) -> QuerySet[Conversation]:
    """Return the user's conversations, most recent first, each with `total_cost`."""
    return (
        Conversation.objects.filter(owner_id=user.pk)
        .annotate(total_cost=Sum("messages__cost"))
        .order_by("-updated_at", "-pk")
    )


def conversation_sidebar(*, user: User, include: int | None = None) -> list[Conversation]:
    """Return the sidebar: conversations that have a message, plus `include` (the open one)."""
    has_message = Exists(Message.objects.filter(conversation_id=OuterRef("pk")))
    keep = Q(has_message=True) | Q(pk=include) if include else Q(has_message=True)
    rows = conversations_for(user=user).annotate(has_message=has_message).filter(keep)
    return list(rows[:SIDEBAR_LIMIT])


def conversation_find(*, user: User, pk: int) -> Conversation | None:
    """Return the user's conversation `pk`, or None (services.conversation_get refuses instead)."""
    return conversations_for(user=user).filter(pk=pk).first()


def conversation_transcript(*, conversation: Conversation) -> list[MessageData]:
    """Return every user and assistant message of every branch, oldest first."""
    rows = (
        conversation.messages.filter(role__in=[Message.Role.USER, Message.Role.ASSISTANT])
        .order_by("created_at", "pk")
        .prefetch_related("attachments")
    )
    for row in rows:
        row.conversation = conversation  # its PDF engine says what a PDF needs
    return [message_data(row) for row in rows]


def conversation_search(*, user: User, query: str) -> list[SearchHit]:
    """Return the user's conversations whose title or any message contains `query`."""
    query = query.strip()
    if not query:
        return []
    matching = Message.objects.filter(
        conversation_id=OuterRef("pk"),
        role__in=[Message.Role.USER, Message.Role.ASSISTANT],
        content__icontains=query,
    )
    rows = (
        Conversation.objects.filter(owner_id=user.pk)
        .filter(Q(title__icontains=query) | Exists(matching))
        .order_by("-updated_at", "-pk")[:SEARCH_LIMIT]
    )
    return [_hit(row, query) for row in rows]


def _hit(conversation: Conversation, query: str) -> SearchHit:
    message = (
        conversation.messages.filter(content__icontains=query)
        .exclude(role=Message.Role.TITLE)
        .only("content")
        .first()
    )
    return {
        "id": conversation.pk,
        "title": conversation.title or "Untitled chat",
        "snippet": snippet(message.content, query) if message else "",
        "updated_at": conversation.updated_at.isoformat(),
    }


def snippet(text: str, query: str) -> str:
    """Return the part of `text` around the first match of `query`, on one line."""
    at = text.lower().find(query.lower())
    if at < 0:
        return ""
    start = max(0, at - SNIPPET_RADIUS)
    end = min(len(text), at + len(query) + SNIPPET_RADIUS)
    body = " ".join(text[start:end].split())
    return f"{'…' if start else ''}{body}{'…' if end < len(text) else ''}"
