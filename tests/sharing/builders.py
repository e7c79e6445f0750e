"""Builders for the sharing tests: a forked conversation, and a signed-in client."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.test import Client

from chatapp.accounts.keys import key_store
from chatapp.accounts.models import User
from chatapp.chat.models import Conversation, Message

KEY = "sk-or-v1-secret-key-of-alice-0123456789abcdef"
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@dataclass
class Forked:
    conversation: Conversation
    question: Message
    first: Message  # the first reply, continued by `follow_up`
    second: Message  # the regenerated reply: the newest branch at the fork
    follow_up: Message
    answer: Message


def add(
    conv: Conversation,
    role: str,
    content: str,
    *,
    parent: Message | None,
    minutes: int,
    **fields: Any,
) -> Message:
    message = Message.objects.create(
        conversation=conv, user=conv.owner, role=role, content=content, parent=parent, **fields
    )
    message.created_at = T0 + timedelta(minutes=minutes)
    message.save(update_fields=["created_at"])
    return message


def reply_fields(cost: str) -> dict[str, Any]:
    return {
        "model": "openai/gpt-4o-mini",
        "model_used": "openai/gpt-4o-mini",
        "provider": "OpenAI",
        "prompt_tokens": 12,
        "completion_tokens": 40,
        "cost": Decimal(cost),
        "paid_by": "user",
        "generation_id": "gen-123",
    }


def forked_conversation(alice: User) -> Forked:
    """Alice asked, regenerated the reply, then went on from the first one."""
    key_store(user=alice, api_key=KEY, source="pasted")
    conv = Conversation.objects.create(
        owner=alice, title="Sourdough help", model="openai/gpt-4o-mini", system_prompt="Be brief."
    )
    question = add(conv, "user", "How long should dough rise?", parent=None, minutes=0)
    first = add(
        conv,
        "assistant",
        "About **4 hours** at room temperature.",
        parent=question,
        minutes=1,
        reasoning="Think about yeast.",
        **reply_fields("0.0001250000"),
    )
    second = add(
        conv,
        "assistant",
        "Overnight in the fridge.",
        parent=question,
        minutes=2,
        **reply_fields("0.0000420000"),
    )
    follow_up = add(conv, "user", "And the oven?", parent=first, minutes=3)
    follow_up.conversation.web_search = True
    follow_up.conversation.provider_sort = "price"
    follow_up.conversation.save(update_fields=["web_search", "provider_sort"])
    answer = add(
        conv,
        "assistant",
        "```python\nprint('250 C')\n```",
        parent=follow_up,
        minutes=4,
        **reply_fields("0.0002000000"),
        citations=[{"url": "https://bread.example/oven", "title": "Oven temperatures"}],
        context_omitted=1,
    )
    Message.objects.create(
        conversation=conv,
        user=alice,
        role="title",
        content="Sourdough help",
        cost=Decimal("0.00001"),
    )
    return Forked(conv, question, first, second, follow_up, answer)


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client
