"""Writes behind the chat socket: messages, branches, and the checks before a generation.

Every function takes the acting user and scopes its queries to them: an id that belongs to
someone else raises the same `ChatRefusal("not_found")` as an id that does not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q, prefetch_related_objects
from django.utils import timezone

from chatapp.accounts.keys import ResolvedKey, no_key_reason, resolve_api_key
from chatapp.accounts.models import User
from chatapp.attachments.models import Attachment
from chatapp.attachments.parts import content_with
from chatapp.attachments.services import (
    Refused,
    attachments_for_message,
    attachments_of_messages,
)
from chatapp.chat.hooks import reply_refusal
from chatapp.chat.models import Conversation, Message
from chatapp.chat.protocol import ErrorCode
from chatapp.chat.requests import (
    DoesNotFit,
    ModelCannotRead,
    apply_routing_defaults,
    reply_plan_store,
    request_plan,
)

if TYPE_CHECKING:
    from chatapp.openrouter import ChatMessage

NOT_FOUND = "There is no such conversation or message. It may have been deleted."
BUSY = (
    "A reply is still being written in this conversation. "
    "Wait for it to finish or press Stop, then send again."
)
TOO_MANY_REPLIES = (
    "You have {count} being written already, the most that may run at once. "
    "Wait for one to finish or stop one, then send again."
)


class ChatRefusal(Exception):
    """A request the socket answers with an `error` frame instead of doing it."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message


@dataclass
class Exchange:
    """What a send, regenerate or edit stored: the messages to announce and the reply to write."""

    conversation: Conversation
    messages: list[Message] = field(default_factory=list)
    reply: Message | None = None
    created_conversation: bool = False
    # True when the client_id was seen before: nothing new was stored, nothing is generated.
    duplicate: bool = False
    # What goes upstream for `reply` (read in the same thread hop as the writes).
    history: list[ChatMessage] = field(default_factory=list)
    # The key that pays for `reply`; stays in this process.
    key: ResolvedKey | None = None


# --- reads -------------------------------------------------------------------------------------


def conversation_get(*, user: User, pk: int) -> Conversation:
    """Return the user's conversation `pk`, or refuse with `not_found` (the socket's answer)."""
    try:
        return Conversation.objects.get(pk=pk, owner=user)
    except Conversation.DoesNotExist:
        raise ChatRefusal("not_found", NOT_FOUND) from None


async def aconversation_get(*, user: User, pk: int) -> Conversation:
    try:
        return await Conversation.objects.aget(pk=pk, owner=user)
    except Conversation.DoesNotExist:
        raise ChatRefusal("not_found", NOT_FOUND) from None


async def areplies_to_show(*, conversation_id: int, shown: Iterable[int] = ()) -> list[Message]:
    """The replies a snapshot of the conversation holds: those still streaming, and those of
    `shown` (which a tab shows as streaming), whatever their state now."""
    rows = Message.objects.filter(conversation_id=conversation_id, role=Message.Role.ASSISTANT)
    rows = rows.filter(Q(status=Message.Status.STREAMING) | Q(pk__in=list(shown)))
    return [m async for m in rows]


def message_history(*, reply: Message, conversation: Conversation) -> list[ChatMessage]:
    """Return what is sent upstream: the system prompt, then the branch from the root to `reply`.

    Only the branch the reply hangs on counts; siblings from regenerate and edit are left out.
    """
    return branch_history(conversation=conversation, leaf_id=reply.parent_id)


def branch_history(*, conversation: Conversation, leaf_id: int | None) -> list[ChatMessage]:
    """Return the system prompt, then the branch from the root down to message `leaf_id`."""
    rows = conversation.messages.filter(
        role__in=[Message.Role.USER, Message.Role.ASSISTANT]
    ).values_list("pk", "parent_id", "role", "content", "file_annotations")
    by_id = {pk: (parent, role, content, parsed) for pk, parent, role, content, parsed in rows}
    branch: list[tuple[int, str, str, list[Any]]] = []
    node = leaf_id
    while node is not None and node in by_id:
        parent, role, content, parsed = by_id[node]
        branch.append((node, role, content, parsed))
        node = parent
    files = attachments_of_messages([pk for pk, role, *_ in branch if role == Message.Role.USER])
    path: list[ChatMessage] = []
    for pk, role, content, parsed in branch:
        attached = files.get(pk, [])
        if not (content or attached):  # a reply that failed before its first token says nothing
            continue
        message: ChatMessage = {"role": role, "content": content_with(content, attached)}
        if parsed:  # the parser's output for the PDFs before it: they are not parsed again
            message["annotations"] = parsed
        path.append(message)
    path.reverse()
    if conversation.system_prompt:
        path.insert(0, {"role": "system", "content": conversation.system_prompt})
    return path


# --- the checks before any upstream call -------------------------------------------------------


def key_for_generation(*, user: User) -> ResolvedKey:
    """Return the key that pays for a reply, or refuse: no usable key, or the budget is spent."""
    key = resolve_api_key(user)
    if key is None:
        raise ChatRefusal("no_key", no_key_reason(user))
    refusal = reply_refusal(user=user, paid_by=key.paid_by)
    if refusal is not None:
        raise ChatRefusal("over_budget", refusal)
    return key


# --- writes ------------------------------------------------------------------------------------
# These run as one transaction each (a sync function behind sync_to_async, because the async
# ORM cannot hold a transaction open across awaits).


def _duplicate(*, user: User, client_id: uuid.UUID) -> Exchange | None:
    rows = Message.objects.filter(user=user, client_id=client_id)
    if not rows.exists():  # nearly every send: the cheapest query that says so (a third of a ms)
        return None
    first = rows.select_related("conversation").first()
    if first is None:  # deleted in between
        return None
    messages = [first]
    if first.role == Message.Role.USER:
        prefetch_related_objects([first], "attachments")
        messages += list(first.children.filter(role=Message.Role.ASSISTANT))
    return Exchange(conversation=first.conversation, messages=messages, duplicate=True)


def _reserve_reply(*, user: User) -> None:
    """Refuse a reply beyond CHATAPP_MAX_CONCURRENT_REPLIES streaming ones of this user.

    Counted in the database, so the cap holds across server processes; the user's row is locked
    first (PostgreSQL; SQLite's write transactions take turns anyway), so that two sends racing
    on the last free place cannot both take it.
    """
    limit = settings.CHATAPP_MAX_CONCURRENT_REPLIES
    list(get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk"))
    running = Message.objects.filter(
        user=user, role=Message.Role.ASSISTANT, status=Message.Status.STREAMING
    )
    if running.count() >= limit:
        count = f"{limit} reply" if limit == 1 else f"{limit} replies"
        raise ChatRefusal("busy", TOO_MANY_REPLIES.format(count=count))


def _placeholder(
    *, conversation: Conversation, parent: Message, model: str, paid_by: str, client_id: Any
) -> Message:
    # A second streaming reply in the conversation breaks the msg_one_streaming_per_conv
    # constraint: the IntegrityError is answered "busy" by _idempotent. The database is the
    # only check, so it holds across server processes too.
    placeholder = Message(
        conversation=conversation,
        user_id=conversation.owner_id,
        parent=parent,
        client_id=client_id,
        role=Message.Role.ASSISTANT,
        status=Message.Status.STREAMING,
        model=model,
        paid_by=paid_by,
    )
    # bulk_create skips the save signals on purpose: an empty placeholder changes no spend, and
    # recomputing the usage rollups here would sit on every reply's time to first token. The
    # worker records usage when the cost is known (usage_record after its final write).
    [placeholder] = Message.objects.bulk_create([placeholder])
    return placeholder


def _user_message(
    *,
    conversation: Conversation,
    parent: Message | None,
    content: str,
    model: str,
    client_id: Any,
    files: Sequence[Attachment] = (),
) -> Message:
    message = Message.objects.create(
        conversation=conversation,
        user_id=conversation.owner_id,
        parent=parent,
        client_id=client_id,
        role=Message.Role.USER,
        content=content,
        model=model,
    )
    if files:
        message.attachments.add(*files)
    # Its frame is built on the event loop, where a query cannot run: prefetched here (with no
    # files, from an empty queryset, which asks the database nothing).
    chosen = Attachment.objects.all() if files else Attachment.objects.none()
    prefetch_related_objects([message], Prefetch("attachments", queryset=chosen))
    return message


def _files(*, user: User, ids: Sequence[int], conversation: Conversation) -> list[Attachment]:
    if not ids:
        return []
    try:
        return attachments_for_message(user=user, ids=ids, conversation_id=conversation.pk)
    except Refused as refusal:
        raise ChatRefusal("attachment", str(refusal)) from None


def _touch(*, conversation: Conversation, user: User, model: str, created: bool = False) -> None:
    """Move the conversation to the top of the list, and remember the model for next time."""
    if not created:
        now = timezone.now()
        Conversation.objects.filter(pk=conversation.pk).update(model=model, updated_at=now)
        conversation.model, conversation.updated_at = model, now
    if user.last_model != model:
        get_user_model().objects.filter(pk=user.pk).update(last_model=model)
        user.last_model = model


def _default_parent(conversation: Conversation) -> Message | None:
    return (
        conversation.messages.filter(role__in=[Message.Role.USER, Message.Role.ASSISTANT])
        .order_by("-created_at", "-id")
        .first()
    )


def _owned_message(*, conversation: Conversation, pk: int, roles: list[str]) -> Message:
    try:
        return conversation.messages.get(pk=pk, role__in=roles)
    except Message.DoesNotExist:
        raise ChatRefusal("not_found", NOT_FOUND) from None


def _idempotent(fn: Any) -> Any:
    """Wrap a write that starts a reply: answer a repeated client_id with what it stored, check
    the key and the budget, then write in one transaction (a lost race on client_id or on
    "busy" is answered cleanly). All of it in one thread hop: it is on the first-token path."""

    def wrapper(*, user: User, client_id: uuid.UUID, **kwargs: Any) -> Exchange:
        duplicate = _duplicate(user=user, client_id=client_id)
        if duplicate is not None:
            return duplicate
        key = key_for_generation(user=user)
        try:
            with transaction.atomic():
                _reserve_reply(user=user)
                result: Exchange = fn(user=user, client_id=client_id, paid_by=key.paid_by, **kwargs)
                _plan(result)  # refuses (and so stores nothing) when nothing fits
        except IntegrityError:
            # Another process stored the same client_id, or started a reply, in the meantime.
            duplicate = _duplicate(user=user, client_id=client_id)
            if duplicate is not None:
                return duplicate
            raise ChatRefusal("busy", BUSY) from None
        result.key = key
        return result

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def _plan(result: Exchange) -> None:
    """Fit the reply's history to its model and record how it is asked for (chat/requests.py)."""
    reply = result.reply
    if reply is None:
        return
    if not result.history:
        result.history = message_history(reply=reply, conversation=result.conversation)
    try:
        plan = request_plan(
            conversation=result.conversation, model_id=reply.model, history=result.history
        )
    except DoesNotFit as refusal:
        raise ChatRefusal("too_long_for_model", refusal.message) from None
    except ModelCannotRead as refusal:
        raise ChatRefusal("model_cannot_read", refusal.message) from None
    result.history = plan.messages
    reply_plan_store(reply=reply, plan=plan)


@_idempotent
def message_send(
    *,
    user: User,
    conversation_id: int | None,
    client_id: uuid.UUID,
    content: str,
    model: str,
    parent_id: int | None,
    paid_by: str,
    attachment_ids: Sequence[int] = (),
) -> Exchange:
    """Store a user message (with the attachments `attachment_ids`) and the placeholder of its
    reply (a new conversation if no id)."""
    created = conversation_id is None
    if conversation_id is None:
        conversation = Conversation(owner=user, model=model)
        apply_routing_defaults(conversation)
        conversation.save()
        parent = None
    else:
        conversation = conversation_get(user=user, pk=conversation_id)
        if parent_id is None:
            parent = _default_parent(conversation)
        else:
            parent = _owned_message(
                conversation=conversation, pk=parent_id, roles=["user", "assistant"]
            )
    files = _files(user=user, ids=attachment_ids, conversation=conversation)
    asked = _user_message(
        conversation=conversation,
        parent=parent,
        content=content,
        model=model,
        client_id=client_id,
        files=files,
    )
    reply = _placeholder(
        conversation=conversation, parent=asked, model=model, paid_by=paid_by, client_id=None
    )
    _touch(conversation=conversation, user=user, model=model, created=created)
    exchange = Exchange(conversation, [asked, reply], reply, created_conversation=created)
    if created:  # nothing before it: no need to read the branch back
        exchange.history = [{"role": "user", "content": content_with(content, files)}]
    return exchange


@_idempotent
def message_regenerate(
    *,
    user: User,
    conversation_id: int,
    message_id: int,
    client_id: uuid.UUID,
    model: str | None,
    paid_by: str,
) -> Exchange:
    """Write a new reply to the same user message, as a sibling of `message_id`."""
    conversation = conversation_get(user=user, pk=conversation_id)
    target = _owned_message(conversation=conversation, pk=message_id, roles=["user", "assistant"])
    asked = target if target.role == Message.Role.USER else target.parent
    if asked is None:
        raise ChatRefusal("not_found", NOT_FOUND)
    model = model or target.model or conversation.model
    reply = _placeholder(
        conversation=conversation, parent=asked, model=model, paid_by=paid_by, client_id=client_id
    )
    _touch(conversation=conversation, user=user, model=model)
    return Exchange(conversation, [reply], reply)


@_idempotent
def message_edit(
    *,
    user: User,
    conversation_id: int,
    message_id: int,
    client_id: uuid.UUID,
    content: str,
    model: str | None,
    paid_by: str,
) -> Exchange:
    """Store an edited user message as a sibling of `message_id` (with its attachments), and
    the placeholder of a reply."""
    conversation = conversation_get(user=user, pk=conversation_id)
    target = _owned_message(conversation=conversation, pk=message_id, roles=["user"])
    model = model or target.model or conversation.model
    asked = _user_message(
        conversation=conversation,
        parent=target.parent,
        content=content,
        model=model,
        client_id=client_id,
        files=attachments_of_messages([target.pk]).get(target.pk, []),
    )
    reply = _placeholder(
        conversation=conversation, parent=asked, model=model, paid_by=paid_by, client_id=None
    )
    _touch(conversation=conversation, user=user, model=model)
    return Exchange(conversation, [asked, reply], reply)


amessage_send = sync_to_async(message_send)
amessage_regenerate = sync_to_async(message_regenerate)
amessage_edit = sync_to_async(message_edit)
