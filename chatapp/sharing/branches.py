"""The branch of a conversation a person sees: the same walk the chat page makes."""

from __future__ import annotations

from collections import defaultdict

from chatapp.chat.models import Conversation, Message

TRANSCRIPT_ROLES = (Message.Role.USER, Message.Role.ASSISTANT)


def transcript_messages(conversation: Conversation) -> list[Message]:
    """Return every user and assistant message of every branch, oldest first."""
    rows = conversation.messages.filter(role__in=TRANSCRIPT_ROLES).order_by("created_at", "pk")
    return list(rows.prefetch_related("attachments"))


def branch(messages: list[Message], *, leaf: int | None = None) -> list[Message]:
    """Return the path from the first message to `leaf`, continued by the newest replies.

    Without a leaf (or with one that is not in `messages`) it is the branch the chat page opens
    on: at every fork, the newest child. `messages` must be oldest first.
    """
    by_id = {m.pk: m for m in messages}
    children: dict[int | None, list[Message]] = defaultdict(list)
    for m in messages:
        children[m.parent_id].append(m)
    path = _ancestors(by_id, leaf) if leaf in by_id else []
    last = path[-1].pk if path else None
    while children[last]:
        path.append(children[last][-1])
        last = path[-1].pk
    return path


def _ancestors(by_id: dict[int, Message], leaf: int | None) -> list[Message]:
    path: list[Message] = []
    node = by_id.get(leaf) if leaf is not None else None
    while node is not None:
        path.append(node)
        node = by_id.get(node.parent_id) if node.parent_id is not None else None
    return path[::-1]
