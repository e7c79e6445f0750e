"""Small builders for conversations and priced replies."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from chatapp.chat.models import Conversation, Message


def conversation(owner: Any, *, title: str = "Trip plans", model: str = "openai/gpt-4o-mini"):
    return Conversation.objects.create(owner=owner, title=title, model=model)


def reply(
    conv: Conversation,
    *,
    cost: str | Decimal | None,
    paid_by: str = "operator",
    model: str = "openai/gpt-4o-mini",
    role: str = "assistant",
    created_at: datetime | None = None,
    prompt_tokens: int = 100,
    completion_tokens: int = 50,
    cache_savings: str | None = None,
) -> Message:
    msg = Message.objects.create(
        conversation=conv,
        user=conv.owner,
        role=role,
        content="Sure.",
        model=model,
        model_used=model,
        cost=Decimal(cost) if cost is not None else None,
        paid_by=paid_by,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cache_savings=Decimal(cache_savings) if cache_savings is not None else None,
    )
    if created_at is not None:
        # created_at is auto_now_add; move it the way the engine's save path would see it.
        msg.created_at = created_at
        msg.save(update_fields=["created_at"])
    return msg
