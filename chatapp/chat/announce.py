"""Frames that tell the owner's tabs what changed: a conversation's title, cost or order, and a
reply's usage. Built here, delivered by chat/fanout.py."""

from __future__ import annotations

from typing import Any

from django.db.models import Sum

from chatapp.chat import fanout
from chatapp.chat.groups import conversation_group, user_group
from chatapp.chat.models import Conversation, Message
from chatapp.chat.protocol import aconversation_data, message_data


async def conversation_changed(conversation: Conversation) -> None:
    """Tell every socket of the owner that the conversation changed (title, cost, order)."""
    conversation = await Conversation.objects.annotate(total_cost=Sum("messages__cost")).aget(
        pk=conversation.pk
    )
    frame = {"type": "conversation_updated", "conversation": await aconversation_data(conversation)}
    await fanout.publish(user_group(conversation.owner_id), frame)


def usage_frame(reply: Message) -> dict[str, Any]:
    return {
        "type": "usage",
        "conversation": reply.conversation_id,
        "message": reply.pk,
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "reasoning_tokens": reply.reasoning_tokens,
        "cached_tokens": reply.cached_tokens,
        "cost": message_data(reply)["cost"],
    }


async def usage_known(reply: Message) -> None:
    await fanout.publish(conversation_group(reply.conversation_id), usage_frame(reply))


async def reply_done(reply: Message) -> None:
    frame = {"type": "done", "conversation": reply.conversation_id, "message": message_data(reply)}
    await fanout.publish(conversation_group(reply.conversation_id), frame)
