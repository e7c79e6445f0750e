"""Telling the owner's tabs what changed: a conversation's title, cost or order, a reply's usage
and its end. The frames are built by chat/protocol.py and delivered by chat/fanout.py."""

from __future__ import annotations

from django.db.models import Sum

from chatapp.chat import fanout
from chatapp.chat.groups import conversation_group, user_group
from chatapp.chat.models import Conversation, Message
from chatapp.chat.protocol import (
    aconversation_data,
    conversation_updated_frame,
    done_frame,
    usage_frame,
)


async def conversation_changed(conversation: Conversation) -> None:
    """Tell every socket of the owner that the conversation changed (title, cost, order).
    Nothing to tell when it was deleted meanwhile (the delete told them)."""
    rows = Conversation.objects.annotate(total_cost=Sum("messages__cost"))
    found = await rows.filter(pk=conversation.pk).afirst()
    if found is None:
        return
    conversation = found
    data = await aconversation_data(conversation)
    await fanout.publish(user_group(conversation.owner_id), conversation_updated_frame(data))


async def usage_known(reply: Message) -> None:
    await fanout.publish(conversation_group(reply.conversation_id), usage_frame(reply))


async def reply_done(reply: Message) -> None:
    await fanout.publish(conversation_group(reply.conversation_id), done_frame(reply))
